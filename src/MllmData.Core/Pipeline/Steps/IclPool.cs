using MllmData.Records;
using MllmData.Templates;

namespace MllmData.Pipeline.Steps;

/// <summary>A solved sample kept as a candidate in-context example.</summary>
public sealed record IclCandidate(string Id, ImageRef Image, string Instruction, string? Input, string Output)
{
    /// <summary>Characters of the example's text, for <c>similar-length</c> ordering.</summary>
    public int Length => new Turn { Instruction = Instruction, Input = Input }.UserText.Length + Output.Length;

    public IclExample ToExample() => new(Id, Instruction, Input, Output, 1);
}

/// <summary>
/// Candidate in-context examples per task, a bounded reservoir each: every solved single-image record offered has the
/// same chance to be kept whatever the input size, decided by the run seed and the record id, so memory stays flat.
/// </summary>
public sealed class IclPool(long seed, int capacity)
{
    /// <summary>Candidates of a task that is not known (pool lines without a <c>meta.task</c>): offered to every task.</summary>
    public const string AnyTask = "*";

    /// <summary>Most candidates kept per task: 16×K, at least 256, at most 1024.</summary>
    public static int CapacityFor(int shots) => Math.Clamp(16 * shots, 256, 1024);

    private readonly Dictionary<string, List<IclCandidate>> _byTask = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);

    public int Capacity => capacity;

    /// <summary>Candidates kept for a task.</summary>
    public int Count(string task) => _byTask.TryGetValue(task, out var list) ? list.Count : 0;

    /// <summary>Candidates offered for a task (kept or not).</summary>
    public long Seen(string task) => _seen.GetValueOrDefault(task);

    /// <summary>Candidates kept over all tasks.</summary>
    public int Total => _byTask.Values.Sum(l => l.Count);

    /// <summary>
    /// Offers a record as a candidate: answered, instructed, one image held as a path or URL (embedded bytes are not
    /// kept). Returns whether it could be a candidate at all.
    /// </summary>
    public bool Offer(InstructionRecord record, string task)
    {
        if (record.Turns.Count == 0 || record.Turns[0] is not { Instruction: { } instruction, Output: { Length: > 0 } output } turn
            || record.Images.Count != 1 || record.Images[0].Inline || record.Images[0].Bytes is not null || record.Examples.Count > 0)
        {
            return false;
        }

        var n = _seen.GetValueOrDefault(task);
        _seen[task] = n + 1;
        if (!_byTask.TryGetValue(task, out var list))
        {
            _byTask[task] = list = [];
        }

        var candidate = new IclCandidate(record.Id, record.Images[0], instruction, turn.Input, output);
        if (list.Count < capacity)
        {
            list.Add(candidate);
            return true;
        }

        // Reservoir sampling: the n-th offer replaces a kept one with probability capacity / (n + 1).
        var j = SeededChoice.Pick(seed, record.Id, 0, "icl-reservoir", (int)Math.Min(n + 1, int.MaxValue));
        if (j < capacity)
        {
            list[j] = candidate;
        }

        return true;
    }

    /// <summary>
    /// K examples for the query, chosen from the seed and the query id among the candidates of its task that are not the
    /// query and share none of its images (nor one another's); ordered as asked; null when there are fewer than K.
    /// </summary>
    /// <remarks>Images are compared by <paramref name="identity"/> (the same path, or the same bytes under another name); by path without one.</remarks>
    public IReadOnlyList<IclCandidate>? Choose(InstructionRecord query, int shots, string order, ImageIdentity? identity = null)
    {
        bool Same(ImageRef a, ImageRef b) => identity?.Same(a, b) ?? a.Path == b.Path;
        var eligible = new List<IclCandidate>();
        foreach (var task in query.Task == AnyTask ? [AnyTask] : new[] { query.Task, AnyTask })
        {
            if (_byTask.TryGetValue(task, out var list))
            {
                eligible.AddRange(list.Where(c => c.Id != query.Id && !query.Images.Any(i => Same(i, c.Image))));
            }
        }

        var chosen = new List<IclCandidate>(shots);
        for (var step = 0; chosen.Count < shots && eligible.Count > 0; step++)
        {
            // A partial Fisher-Yates draw: the pick leaves the list by a swap with the last entry.
            var at = SeededChoice.Pick(seed, query.Id, step, "icl", eligible.Count);
            var pick = eligible[at];
            eligible[at] = eligible[^1];
            eligible.RemoveAt(eligible.Count - 1);
            if (!chosen.Any(c => Same(c.Image, pick.Image)))
            {
                chosen.Add(pick);
            }
        }

        if (chosen.Count < shots)
        {
            return null;
        }

        if (order == IclStep.OrderSimilarLength)
        {
            // The example closest in length to the query sits last, right before it.
            var length = query.Turns.Count == 0 ? 0 : query.Turns[0].UserText.Length + (query.Turns[0].Output?.Length ?? 0);
            chosen = [.. chosen.OrderByDescending(c => Math.Abs(c.Length - length)).ThenBy(c => c.Id, StringComparer.Ordinal)];
        }

        return chosen;
    }

    /// <summary>How many candidates of the query's task (and of any task) there are, for a reject's detail.</summary>
    public int CandidatesFor(string task) => Count(task) + (task == AnyTask ? 0 : Count(AnyTask));
}
