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

            if (FirstControl(turn) is var (name, text, at))
            {
                var detail = string.Create(CultureInfo.InvariantCulture, $"turn {t + 1}: the {name} holds the control character U+{(int)text[at]:X4} at character {at + 1}");
                return name == "answer" ? SourceItem.RejectedForAnswer(record, RejectReasons.ControlCharacters, detail) : SourceItem.Rejected(record, RejectReasons.ControlCharacters, detail);
            }
        }

        return record.System is { } system && TextCheck.ControlAt(system) is { } s
            ? SourceItem.Rejected(record, RejectReasons.ControlCharacters, string.Create(CultureInfo.InvariantCulture, $"the system message holds the control character U+{(int)system[s]:X4} at character {s + 1}"))
            : SourceItem.Of(record);
    }

    /// <summary>
    /// The first text of the turn holding a control character, in the order slots (as the turn lists them), instruction,
    /// input, answer; null when there is none. Once per turn of every record: no iterator, no boxed enumerator.
    /// </summary>
    private static (string Name, string Text, int At)? FirstControl(Turn turn)
    {
        if (turn.Slots is OneSlotDictionary one)
        {
            if (TextCheck.ControlAt(one.Value) is { } at)
            {
                return (one.Key, one.Value, at);
            }
        }
        else if (turn.Slots is Dictionary<string, string> slots)
        {
            foreach (var (slot, value) in slots)
            {
                if (TextCheck.ControlAt(value) is { } at)
                {
                    return (slot, value, at);
                }
            }
        }
        else
        {
            foreach (var (slot, value) in turn.Slots)
            {
                if (TextCheck.ControlAt(value) is { } at)
                {
                    return (slot, value, at);
                }
            }
        }

        return Control("instruction", turn.Instruction) ?? Control("input", turn.Input) ?? Control("answer", turn.Output);
    }

    private static (string Name, string Text, int At)? Control(string name, string? text) =>
        text is not null && TextCheck.ControlAt(text) is { } at ? (name, text, at) : null;
}
