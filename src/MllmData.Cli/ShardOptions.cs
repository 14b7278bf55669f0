using System.CommandLine;
using MllmData.Parts;

namespace MllmData.Cli;

/// <summary><c>--num-shards N --shard-index I</c>: this process is one worker of a job array and writes a part for <c>mllmdata merge</c>.</summary>
public sealed class ShardOptions
{
    public Option<int?> NumShards { get; } = new("--num-shards")
    {
        Description = "Workers of a job array: this run keeps the records whose id hashes to its index and writes a part for `mllmdata merge` (default SLURM_ARRAY_TASK_COUNT or MLLMDATA_NUM_SHARDS; required under a Kubernetes Indexed Job)",
    };

    public Option<int?> ShardIndex { get; } = new("--shard-index")
    {
        Description = "This worker's index, 0 to N-1 (default JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, or MLLMDATA_SHARD_INDEX)",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(NumShards);
        command.Options.Add(ShardIndex);
    }

    /// <summary>This worker's split, or null for a whole run.</summary>
    public WorkSplit? Read(ParseResult parse) =>
        WorkSplit.Resolve(parse.GetValue(NumShards), parse.GetValue(ShardIndex), Environment.GetEnvironmentVariable);
}
