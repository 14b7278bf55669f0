using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>One step between adapter and sink: passes a record on (changed or not), or turns it into a reject.</summary>
public interface IRecordStep
{
    SourceItem Apply(InstructionRecord record);
}
