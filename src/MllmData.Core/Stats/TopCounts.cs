namespace MllmData.Stats;

/// <summary>
/// The most frequent strings, with bounded memory (Space-Saving, Metwally et al. 2005): at most <c>capacity</c> counters.
/// While the stream has no more distinct keys than that, every count is exact (<see cref="Exact"/>); past it, the counter with
/// the smallest count is handed to the new key, and reported counts are upper bounds that over-count by at most the evicted count.
/// </summary>
public sealed class TopCounts(int capacity)
{
    private readonly Dictionary<string, (long Count, long Error)> _counts = new(StringComparer.Ordinal);
    private static readonly Comparer<(long Count, string Key)> ByCount = Comparer<(long Count, string Key)>.Create((a, b) =>
        a.Count != b.Count ? a.Count.CompareTo(b.Count) : string.CompareOrdinal(a.Key, b.Key));

    /// <summary>The counters by count, made when the first key is evicted: until then every count is exact and no order is needed.</summary>
    private SortedSet<(long Count, string Key)>? _order;

    /// <summary>Whether every count is exact (no key was ever evicted).</summary>
    public bool Exact { get; private set; } = true;

    public long Total { get; private set; }

    public int Distinct => _counts.Count;

    public void Add(string key)
    {
        Total++;
        if (_counts.TryGetValue(key, out var c))
        {
            _counts[key] = (c.Count + 1, c.Error);
            if (_order is not null)
            {
                _order.Remove((c.Count, key));
                _order.Add((c.Count + 1, key));
            }

            return;
        }

        if (_counts.Count < capacity)
        {
            _counts[key] = (1, 0);
            return;
        }

        Exact = false;
        _order ??= new SortedSet<(long Count, string Key)>(_counts.Select(kv => (kv.Value.Count, kv.Key)), ByCount);
        var min = _order.Min;
        _order.Remove(min);
        _counts.Remove(min.Key);
        _counts[key] = (min.Count + 1, min.Count);
        _order.Add((min.Count + 1, key));
    }

    /// <summary>The <paramref name="k"/> largest counts, ties by key (ordinal), so the list is deterministic.</summary>
    public IReadOnlyList<(string Key, long Count)> Top(int k) =>
        [.. _counts.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(k).Select(kv => (kv.Key, kv.Value.Count))];
}
