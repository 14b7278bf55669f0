using System.Globalization;
using MllmData.Records;
using MllmData.Templates;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// The build-time check of answer-format constraints: a record whose answer does not obey the constraint its instruction
/// states (a suffix or template tagged yes-no, number, single-word, letter or sentence) is a reject, <c>constraint-violated</c>.
/// The data must teach the model to obey its instructions, never to contradict them.
/// </summary>
public sealed class ConstraintCheckStep : IRecordStep
{
    public SourceItem Apply(InstructionRecord record)
    {
        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            if (turn.Constraint is { } c && turn.Output is { } answer && !AnswerConstraints.Satisfies(c.Type, answer, AnswerConstraints.OptionCount(turn.Slots)))
            {
                var detail = string.Create(CultureInfo.InvariantCulture, $"turn {i + 1}: the answer \"{Shorten(answer)}\" does not obey the {c.Type} constraint of {c.TemplateId}");
                return SourceItem.Rejected(record, RejectReasons.ConstraintViolated, detail);
            }
        }

        return SourceItem.Of(record);
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
