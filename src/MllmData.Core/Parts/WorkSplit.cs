using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace MllmData.Parts;

/// <summary>
/// One worker's share of a job array: records go to worker <c>XxHash3(id) mod N</c>, so every worker reads the
/// inputs, keeps its own part, and the parts together hold each record exactly once.
/// </summary>
public sealed record WorkSplit(int Count, int Index)
{
    /// <summary>Where the index came from (a flag or an environment variable), for the log.</summary>
    public string Origin { get; init; } = "--shard-index";

    /// <summary>Whether this worker keeps the record with this key (its id).</summary>
    public bool Owns(string key) => Count == 1 || (int)(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key)) % (ulong)Count) == Index;

    /// <summary>
    /// The split of this worker: the count from <c>--num-shards</c>, <c>SLURM_ARRAY_TASK_COUNT</c> or <c>MLLMDATA_NUM_SHARDS</c>;
    /// the index from <c>--shard-index</c>, <c>JOB_COMPLETION_INDEX</c> (Kubernetes Indexed Job),
    /// <c>SLURM_ARRAY_TASK_ID</c> minus <c>SLURM_ARRAY_TASK_MIN</c> (over <c>SLURM_ARRAY_TASK_STEP</c>), or <c>MLLMDATA_SHARD_INDEX</c>. Null when no count is
    /// given anywhere (a single-process run). Kubernetes sets no count variable: there <c>--num-shards</c> is required.
    /// </summary>
    public static WorkSplit? Resolve(int? numShards, int? shardIndex, Func<string, string?> env)
    {
        // Variables are read only when the flag is not given; two variables that disagree are refused, not ranked.
        var (count, countOrigin) = numShards is { } n ? (n, "--num-shards")
            : FromVariables(("SLURM_ARRAY_TASK_COUNT", Number(env, "SLURM_ARRAY_TASK_COUNT")), ("MLLMDATA_NUM_SHARDS", Number(env, "MLLMDATA_NUM_SHARDS")));
        var (index, origin) = shardIndex is { } i ? (i, "--shard-index")
            : FromVariables(("JOB_COMPLETION_INDEX", Number(env, "JOB_COMPLETION_INDEX")), SlurmIndex(env), ("MLLMDATA_SHARD_INDEX", Number(env, "MLLMDATA_SHARD_INDEX")));

        if (count is null)
        {
            if (index is not null)
            {
                throw new UsageException($"shard index {index} (from {origin}) but no shard count: give --num-shards N (a Kubernetes Indexed Job sets no count variable; pass its completions as --num-shards)");
            }

            return null;
        }

        if (count < 1 || count > 100_000)
        {
            throw new UsageException($"{countOrigin} {count}: the number of shards must be between 1 and 100000");
        }

        if (index is null)
        {
            throw new UsageException($"{countOrigin} {count} but no shard index: give --shard-index I (0 to {count - 1}), or run as an array task (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or MLLMDATA_SHARD_INDEX)");
        }

        if (index < 0 || index >= count)
        {
            throw new UsageException($"shard index {index} (from {origin}) is outside 0 to {count - 1} ({countOrigin} {count})");
        }

        return new WorkSplit(count.Value, index.Value) { Origin = origin };
    }

    /// <summary>
    /// A Slurm array task's place in its array: <c>(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP</c>, so
    /// <c>--array=0-15:4</c> (tasks 0, 4, 8, 12) gives indexes 0 to 3 as <c>SLURM_ARRAY_TASK_COUNT</c> (4) expects.
    /// </summary>
    private static (string Name, int? Value) SlurmIndex(Func<string, string?> env)
    {
        if (Number(env, "SLURM_ARRAY_TASK_ID") is not { } id)
        {
            return ("SLURM_ARRAY_TASK_ID", null);
        }

        var min = Number(env, "SLURM_ARRAY_TASK_MIN");
        var step = Number(env, "SLURM_ARRAY_TASK_STEP");
        if (step is < 1)
        {
            throw new UsageException($"SLURM_ARRAY_TASK_STEP={step}: a step must be 1 or more");
        }

        var name = "SLURM_ARRAY_TASK_ID" + (min is null ? string.Empty : " - SLURM_ARRAY_TASK_MIN") + (step is null or 1 ? string.Empty : " over SLURM_ARRAY_TASK_STEP");
        var offset = id - (min ?? 0);
        if (offset % (step ?? 1) != 0)
        {
            throw new UsageException($"SLURM_ARRAY_TASK_ID {id} is not on the array's steps (SLURM_ARRAY_TASK_MIN {min ?? 0}, SLURM_ARRAY_TASK_STEP {step}): give --shard-index");
        }

        return (name, offset / (step ?? 1));
    }

    /// <summary>The value the set variables give, or a usage error when they give different ones.</summary>
    private static (int? Value, string Origin) FromVariables(params (string Name, int? Value)[] names)
    {
        var given = names.Where(v => v.Value is not null).ToList();
        if (given.Select(v => v.Value).Distinct().Count() > 1)
        {
            throw new UsageException($"{string.Join(" and ", given.Select(v => $"{v.Name} (giving {v.Value})"))} disagree: unset all but one, or pass the value as a flag");
        }

        return given.Count == 0 ? (null, string.Empty) : (given[0].Value, given[0].Name);
    }

    private static int? Number(Func<string, string?> env, string name)
    {
        var text = env(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new UsageException($"{name}={text}: not a whole number");
    }
}
