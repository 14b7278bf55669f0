using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>One step between adapter and sink: passes a record on (changed or not), or turns it into a reject.</summary>
public interface IRecordStep
{
    SourceItem Apply(InstructionRecord record);

    /// <summary>
    /// What <see cref="Apply"/> gives, without counting the record in any figure the step reports: for the passes that
    /// read a source once more (a mixture's count and later epochs, the in-context examples' first pass), so each
    /// record is counted once, by the pass that writes it or its reject.
    /// </summary>
    SourceItem Peek(InstructionRecord record) => Apply(record);
}
