using System.Text.RegularExpressions;

namespace MllmData.Generation;

/// <summary>
/// Keeps a pool of questions and refuses any whose ROUGE-L F-measure against a pooled question is above the
/// threshold. Every pooled question is indexed under all its tokens. A new question q can only pass the threshold
/// against b if they share more than t/(2 - t)·|q| tokens, so any |q| - that + 1 of q's tokens must include a
/// shared one: the lookup probes only that many, the rarest in the pool so far. Candidates whose token overlap
/// (or length) rules them out are dropped before the exact ROUGE-L. No near-duplicate is missed.
/// </summary>
public sealed partial class NearDuplicateFilter(double threshold = 0.7)
{
    private readonly Dictionary<string, int> _vocabulary = new(StringComparer.Ordinal);
    private readonly List<int[]> _pool = [];
    private readonly Dictionary<long, List<int>> _index = [];
    private readonly Dictionary<int, int> _queryCounts = [];
    private readonly Dictionary<int, int> _seenCounts = [];

    public int Count => _pool.Count;

    public long Comparisons { get; private set; }

    /// <summary>The highest exact ROUGE-L computed between a kept question and the pool before it (at most the threshold).</summary>
    public double MaxKeptScore { get; private set; }

    [GeneratedRegex(@"[^\p{L}\p{N}]+")]
    private static partial Regex Separator();

    public static string[] Tokens(string text) => [.. Separator().Split(text.ToLowerInvariant()).Where(t => t.Length > 0)];

    /// <summary>The highest ROUGE-L against the pool, without adding.</summary>
    public (double Score, int Match) Nearest(string question) => Nearest(Ids(Tokens(question), add: false));

    /// <summary>Adds the question unless it is a near-duplicate; returns the best score either way.</summary>
    public bool TryAdd(string question, out double score)
    {
        var ids = Ids(Tokens(question), add: true);
        (score, _) = Nearest(ids);
        if (score > threshold)
        {
            return false;
        }

        MaxKeptScore = Math.Max(MaxKeptScore, score);
        var index = _pool.Count;
        _pool.Add(ids);
        foreach (var key in Keys(ids))
        {
            (_index.TryGetValue(key, out var list) ? list : _index[key] = []).Add(index);
        }

        return true;
    }

    private int[] Ids(string[] tokens, bool add)
    {
        var ids = new int[tokens.Length];
        for (var i = 0; i < tokens.Length; i++)
        {
            if (!_vocabulary.TryGetValue(tokens[i], out var id))
            {
                if (!add)
                {
                    // A word the pool has never seen: a fresh id that matches nothing.
                    ids[i] = -1 - i;
                    continue;
                }

                _vocabulary[tokens[i]] = id = _vocabulary.Count;
            }

            ids[i] = id;
        }

        return ids;
    }

    /// <summary>Token ids tagged with their occurrence number, so a repeated word counts as often as it appears.</summary>
    private static IEnumerable<long> Keys(int[] ids)
    {
        var counts = new Dictionary<int, int>();
        foreach (var id in ids)
        {
            var n = counts[id] = counts.GetValueOrDefault(id) + 1;
            yield return ((long)id << 16) | (uint)n;
        }
    }

    private (double Score, int Match) Nearest(int[] q)
    {
        if (q.Length == 0 || _pool.Count == 0)
        {
            return (0, -1);
        }

        var needed = (int)Math.Floor(threshold / (2 - threshold) * q.Length) + 1;
        var probes = Keys(q).OrderBy(k => _index.TryGetValue(k, out var l) ? l.Count : 0).Take(Math.Max(1, q.Length - needed + 1));
        _queryCounts.Clear();
        foreach (var id in q)
        {
            _queryCounts[id] = _queryCounts.GetValueOrDefault(id) + 1;
        }

        var best = (Score: 0.0, Match: -1);
        var seen = new HashSet<int>();
        foreach (var key in probes)
        {
            if (!_index.TryGetValue(key, out var candidates))
            {
                continue;
            }

            foreach (var c in candidates)
            {
                if (!seen.Add(c))
                {
                    continue;
                }

                var b = _pool[c];

                // Bounds: F = 2·LCS/(|q|+|b|), and LCS is at most the shorter length and at most the token overlap.
                if (2.0 * Math.Min(q.Length, b.Length) / (q.Length + b.Length) <= threshold || 2.0 * Overlap(b) / (q.Length + b.Length) <= threshold)
                {
                    continue;
                }

                Comparisons++;
                var f = RougeL(q, b);
                if (f > best.Score)
                {
                    best = (f, c);
                }
            }
        }

        return best;
    }

    /// <summary>Multiset overlap of b with the current query.</summary>
    private int Overlap(int[] b)
    {
        _seenCounts.Clear();
        var overlap = 0;
        foreach (var id in b)
        {
            var used = _seenCounts[id] = _seenCounts.GetValueOrDefault(id) + 1;
            if (used <= _queryCounts.GetValueOrDefault(id))
            {
                overlap++;
            }
        }

        return overlap;
    }

    /// <summary>ROUGE-L F-measure (β = 1) of two token sequences.</summary>
    public static double RougeL(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int Id(string s) => ids.TryGetValue(s, out var v) ? v : ids[s] = ids.Count;
        return RougeL([.. a.Select(Id)], [.. b.Select(Id)]);
    }

    private static double RougeL(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        if (a.Length == 0 || b.Length == 0)
        {
            return 0;
        }

        Span<int> prev = b.Length < 256 ? stackalloc int[b.Length + 1] : new int[b.Length + 1];
        Span<int> cur = b.Length < 256 ? stackalloc int[b.Length + 1] : new int[b.Length + 1];
        prev.Clear();
        cur.Clear();
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : Math.Max(prev[j], cur[j - 1]);
            }

            var t = prev;
            prev = cur;
            cur = t;
        }

        var lcs = prev[b.Length];
        return lcs == 0 ? 0 : 2.0 * lcs / (a.Length + b.Length);
    }
}
