using System.Text.RegularExpressions;

namespace MllmData.Generation;

/// <summary>
/// Keeps a pool of questions and refuses any whose ROUGE-L F-measure against a pooled question is above the
/// threshold. Candidates come from a prefix-filter index: two token sequences can only reach the threshold if
/// they share enough tokens, and under one fixed token order such pairs always share a token among the first
/// few of each, so only those short prefixes are indexed. Exact ROUGE-L runs on the few candidates.
/// </summary>
public sealed class NearDuplicateFilter(double threshold = 0.7)
{
    private static readonly HashSet<string> Common = new(StringComparer.Ordinal)
    {
        "the", "a", "an", "is", "are", "what", "of", "in", "on", "this", "that", "to", "and", "it", "there", "how", "many",
        "does", "do", "which", "where", "who", "why", "image", "picture", "photo", "can", "you", "be", "with", "for", "at", "by",
        "as", "or", "its", "their", "they", "he", "she", "was", "were", "any", "some", "these", "those", "from", "into", "about",
    };

    private readonly List<string[]> _pool = [];
    private readonly Dictionary<string, List<int>> _index = new(StringComparer.Ordinal);

    public int Count => _pool.Count;

    public IReadOnlyList<string[]> Pool => _pool;

    public long Comparisons { get; private set; }

    public static string[] Tokens(string text) =>
        [.. Regex.Split(text.ToLowerInvariant(), @"[^\p{L}\p{N}]+").Where(t => t.Length > 0)];

    /// <summary>The highest ROUGE-L against the pool and the question it matched, without adding.</summary>
    public (double Score, int Match) Nearest(string question) => Nearest(Tokens(question));

    /// <summary>Adds the question unless it is a near-duplicate; returns the best score either way.</summary>
    public bool TryAdd(string question, out double score)
    {
        var tokens = Tokens(question);
        (score, _) = Nearest(tokens);
        if (score > threshold)
        {
            return false;
        }

        var id = _pool.Count;
        _pool.Add(tokens);
        foreach (var key in Prefix(tokens))
        {
            (_index.TryGetValue(key, out var list) ? list : _index[key] = []).Add(id);
        }

        return true;
    }

    private (double Score, int Match) Nearest(string[] tokens)
    {
        if (tokens.Length == 0)
        {
            return (0, -1);
        }

        var best = (Score: 0.0, Match: -1);
        var seen = new HashSet<int>();
        foreach (var key in Prefix(tokens))
        {
            if (!_index.TryGetValue(key, out var ids))
            {
                continue;
            }

            foreach (var id in ids)
            {
                if (!seen.Add(id))
                {
                    continue;
                }

                var other = _pool[id];

                // Length bound: F = 2·LCS/(|a|+|b|) <= 2·min/(|a|+|b|).
                if (2.0 * Math.Min(tokens.Length, other.Length) / (tokens.Length + other.Length) <= threshold)
                {
                    continue;
                }

                Comparisons++;
                var f = RougeL(tokens, other);
                if (f > best.Score)
                {
                    best = (f, id);
                }
            }
        }

        return best;
    }

    /// <summary>
    /// Index keys: each token tagged with its occurrence number (so repeats count), ordered rare-looking first;
    /// the first |t| - ceil(m·|t|) + 1 of them, where m is the least share of its tokens a sequence must have
    /// in common with another to pass the threshold (F > t needs common > t/(2 - t)·|b|).
    /// </summary>
    private IEnumerable<string> Prefix(string[] tokens)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var keyed = tokens.Select(t => t + "#" + (counts[t] = counts.GetValueOrDefault(t) + 1)).ToList();
        keyed.Sort((x, y) =>
        {
            var cx = Common.Contains(x[..x.LastIndexOf('#')]);
            var cy = Common.Contains(y[..y.LastIndexOf('#')]);
            return cx != cy ? (cx ? 1 : -1) : string.CompareOrdinal(x, y);
        });
        var share = threshold / (2 - threshold);
        var needed = (int)Math.Floor(share * tokens.Length) + 1;
        var prefix = Math.Max(1, tokens.Length - needed + 1);
        return keyed.Take(prefix);
    }

    /// <summary>ROUGE-L F-measure (β = 1) of two token sequences.</summary>
    public static double RougeL(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        if (a.Count == 0 || b.Count == 0)
        {
            return 0;
        }

        var prev = new int[b.Count + 1];
        var cur = new int[b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
            {
                cur[j] = string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal) ? prev[j - 1] + 1 : Math.Max(prev[j], cur[j - 1]);
            }

            (prev, cur) = (cur, prev);
        }

        var lcs = prev[b.Count];
        return lcs == 0 ? 0 : 2.0 * lcs / (a.Count + b.Count);
    }
}
