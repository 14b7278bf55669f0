using System.Globalization;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// Dataset text a trainer should never see: a question or an answer that is blank (empty, white space or invisible
/// characters only: the record would ask or teach nothing) or any text holding a
/// control character (NUL, BEL, an ESC colour sequence, DEL, the C1 range; tabs and line breaks are text). Such records are
/// rejects, before templates and rendering, whatever adapter read them.
/// </summary>
public sealed class TextContentStep : IRecordStep
{
    public SourceItem Apply(InstructionRecord record)
    {
        for (var t = 0; t < record.Turns.Count; t++)
        {
            var turn = record.Turns[t];
            if (turn.Slots.TryGetValue("question", out var question) && TextCheck.IsBlank(question))
            {
                return SourceItem.Rejected(record, RejectReasons.EmptyQuestion, $"turn {t + 1}: the question is {TextCheck.BlankKind(question)}");
            }

            if (turn.Output is { } output && TextCheck.IsBlank(output))
            {
                return SourceItem.RejectedForAnswer(record, RejectReasons.EmptyAnswer, $"turn {t + 1}: the answer is {TextCheck.BlankKind(output)}");
            }

            foreach (var (name, text) in Texts(turn))
            {
                if (TextCheck.ControlAt(text) is { } at)
                {
                    var detail = string.Create(CultureInfo.InvariantCulture, $"turn {t + 1}: the {name} holds the control character U+{(int)text[at]:X4} at character {at + 1}");
                    return name == "answer" ? SourceItem.RejectedForAnswer(record, RejectReasons.ControlCharacters, detail) : SourceItem.Rejected(record, RejectReasons.ControlCharacters, detail);
                }
            }
        }

        return record.System is { } system && TextCheck.ControlAt(system) is { } s
            ? SourceItem.Rejected(record, RejectReasons.ControlCharacters, string.Create(CultureInfo.InvariantCulture, $"the system message holds the control character U+{(int)system[s]:X4} at character {s + 1}"))
            : SourceItem.Of(record);
    }

    private static IEnumerable<(string Name, string Text)> Texts(Turn turn)
    {
        foreach (var (slot, value) in turn.Slots)
        {
            yield return (slot, value);
        }

        if (turn.Instruction is { } instruction)
        {
            yield return ("instruction", instruction);
        }

        if (turn.Input is { } input)
        {
            yield return ("input", input);
        }

        if (turn.Output is { } output)
        {
            yield return ("answer", output);
        }
    }
}
