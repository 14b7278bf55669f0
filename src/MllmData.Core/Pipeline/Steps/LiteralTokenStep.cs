using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>A literal image placeholder inside dataset text would be miscounted by every trainer: such records are rejected.</summary>
public sealed class LiteralTokenStep(string token) : IRecordStep
{
    public SourceItem Apply(InstructionRecord record)
    {
        if (token.Length == 0)
        {
            return SourceItem.Of(record);
        }

        foreach (var turn in record.Turns)
        {
            var hit = turn.Slots.Values.Any(v => v.Contains(token, StringComparison.Ordinal))
                || turn.Output?.Contains(token, StringComparison.Ordinal) == true
                || turn.Input?.Contains(token, StringComparison.Ordinal) == true

                // A record without images (text-only data read back, Alpaca) has no placeholder to carry: any is literal.
                || (record.Images.Count == 0 && turn.Instruction?.Contains(token, StringComparison.Ordinal) == true);
            if (hit)
            {
                return SourceItem.Rejected(record, RejectReasons.LiteralImageToken, $"dataset text contains the image placeholder {token}");
            }
        }

        return record.System?.Contains(token, StringComparison.Ordinal) == true
            ? SourceItem.Rejected(record, RejectReasons.LiteralImageToken, $"the system message contains the image placeholder {token}")
            : SourceItem.Of(record);
    }
}
