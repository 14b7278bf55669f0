using System.Globalization;

namespace MllmData.Stats;

/// <summary>
/// Exact counts of small non-negative integers (token lengths, turns, images per record). Memory grows with the number of
/// distinct values seen (at most the longest value, never the number of records), so percentiles are exact.
/// </summary>
public sealed class ValueCounts
{
    /// <summary>Upper edges of the histogram buckets: 0, 1, 2, 3, 4, 5-8, 9-16, ... 8193 and above.</summary>
    public static readonly IReadOnlyList<int> BucketEdges = [0, 1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

    private readonly Dictionary<int, long> _counts = [];

    public long N { get; private set; }

    public long Sum { get; private set; }

    public void Add(int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        _counts[value] = _counts.GetValueOrDefault(value) + 1;
        N++;
        Sum += value;
    }

    public int Min => N == 0 ? 0 : _counts.Keys.Min();

    public int Max => N == 0 ? 0 : _counts.Keys.Max();

    /// <summary>Sum / N rounded to two digits (0 when empty).</summary>
    public double Mean => N == 0 ? 0 : Math.Round((double)Sum / N, 2, MidpointRounding.ToEven);

    /// <summary>
    /// Nearest-rank percentile: the smallest value v with at least ceil(p/100 · N) values ≤ v (0 when empty).
    /// p50 of 1,2,3,4 is 2; p100 is the maximum.
    /// </summary>
    public int Percentile(double p)
    {
        if (N == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * N));
        long seen = 0;
        foreach (var (value, count) in _counts.OrderBy(kv => kv.Key))
        {
            seen += count;
            if (seen >= rank)
            {
                return value;
            }
        }

        return Max;
    }

    /// <summary>Counts per bucket of <see cref="BucketEdges"/>, with labels ("0", "5-8", "8193+"); trailing empty buckets are left out.</summary>
    public IReadOnlyList<(string Label, long Count)> Buckets()
    {
        var result = new List<(string, long)>();
        var lower = 0;
        foreach (var edge in BucketEdges)
        {
            var from = lower;
            var count = _counts.Where(kv => kv.Key >= from && kv.Key <= edge).Sum(kv => kv.Value);
            result.Add((from == edge ? edge.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{from}-{edge}"), count));
            lower = edge + 1;
        }

        var over = _counts.Where(kv => kv.Key >= lower).Sum(kv => kv.Value);
        result.Add((string.Create(CultureInfo.InvariantCulture, $"{lower}+"), over));
        var last = result.FindLastIndex(b => b.Item2 > 0);
        return result.Take(Math.Max(last + 1, 1)).ToList();
    }
}
