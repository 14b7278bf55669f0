using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// A literal image placeholder inside dataset text would be miscounted by every trainer: such records are rejected. So are
/// records whose text holds a tag the format's consumer fills with media or objects (<paramref name="reserved"/>).
/// </summary>
public sealed class LiteralTokenStep(string token, IReadOnlyList<string>? reserved = null) : IRecordStep
{
    private readonly IReadOnlyList<string> _reserved = reserved ?? [];

    public SourceItem Apply(InstructionRecord record)
    {
        if (token.Length > 0)
        {
            for (var t = 0; t < record.Turns.Count; t++)
            {
                var turn = record.Turns[t];

                // A record without images (text-only data read back, Alpaca) has no placeholder to carry: any is literal.
                if (Holds(turn, token, instruction: record.Images.Count == 0))
                {
                    var detail = $"dataset text contains the image placeholder {token}";
                    return OnlyInAnswer(turn, token, instruction: record.Images.Count == 0)
                        ? SourceItem.RejectedForAnswer(record, RejectReasons.LiteralImageToken, detail)
                        : SourceItem.Rejected(record, RejectReasons.LiteralImageToken, detail);
                }
            }

            if (record.System?.Contains(token, StringComparison.Ordinal) == true)
            {
                return SourceItem.Rejected(record, RejectReasons.LiteralImageToken, $"the system message contains the image placeholder {token}");
            }
        }

        foreach (var tag in _reserved)
        {
            // Templates never write these tags, so any one, wherever it stands, came from the dataset.
            var found = record.Turns.Select((t, i) => (t, i)).FirstOrDefault(x => Holds(x.t, tag, instruction: true));
            var where = found.t is not null ? $"turn {found.i + 1}"
                : record.System?.Contains(tag, StringComparison.Ordinal) == true ? "the system message" : null;
            if (where is not null)
            {
                var detail = $"{where}: dataset text contains {tag}, a tag this format's trainer fills with media or objects the record does not have";
                return found.t is not null && OnlyInAnswer(found.t, tag, instruction: true)
                    ? SourceItem.RejectedForAnswer(record, RejectReasons.LiteralMediaTag, detail)
                    : SourceItem.Rejected(record, RejectReasons.LiteralMediaTag, detail);
            }
        }

        return SourceItem.Of(record);
    }

    /// <summary>Whether the turn's dataset text (slots, output, input; with <paramref name="instruction"/>, its instruction too) holds the tag.</summary>
    private static bool Holds(Turn turn, string tag, bool instruction) =>
        turn.Output?.Contains(tag, StringComparison.Ordinal) == true || HoldsBesideAnswer(turn, tag, instruction);

    /// <summary>Whether the tag stands in the answer and nowhere else in the turn: the reject then names the answers' file.</summary>
    private static bool OnlyInAnswer(Turn turn, string tag, bool instruction) =>
        turn.Output?.Contains(tag, StringComparison.Ordinal) == true && !HoldsBesideAnswer(turn, tag, instruction);

    private static bool HoldsBesideAnswer(Turn turn, string tag, bool instruction) =>
        SlotsHold(turn.Slots, tag)
        || turn.Input?.Contains(tag, StringComparison.Ordinal) == true
        || (instruction && turn.Instruction?.Contains(tag, StringComparison.Ordinal) == true);

    /// <summary>Whether a slot value holds the tag (every turn of every record: no delegate, no boxed enumerator for the usual map).</summary>
    private static bool SlotsHold(IReadOnlyDictionary<string, string> slots, string tag)
    {
        if (slots is OneSlotDictionary one)
        {
            return one.Value.Contains(tag, StringComparison.Ordinal);
        }

        if (slots is Dictionary<string, string> map)
        {
            foreach (var value in map.Values)
            {
                if (value.Contains(tag, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        foreach (var (_, value) in slots)
        {
            if (value.Contains(tag, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
