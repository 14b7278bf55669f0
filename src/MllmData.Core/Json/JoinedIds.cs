using System.IO.Hashing;
using System.Text;

namespace MllmData.Json;

/// <summary>
/// The ids a join has already paired, kept compactly so memory grows by about two bytes per id rather than twenty:
/// ids written as plain decimal numbers (VQA's question ids) go into 65,536-wide blocks of sorted 16-bit offsets (a
/// block turns into a bitmap once it is dense); any other id is kept as a 64-bit hash of its text. A block costs about
/// a hundred bytes, so numbers spread thinly (random 18-digit ids) would cost more than their hashes: once blocks hold
/// fewer than <see cref="SparseBelow"/> ids on average, a number outside the existing blocks is kept as a hash too.
/// </summary>
internal sealed class JoinedIds
{
    private const int BitmapAt = 4096;

    /// <summary>Ids a block holds on average, below which new numbers go to the hashes (after <see cref="BlocksFirst"/> blocks).</summary>
    internal const int SparseBelow = 16;

    /// <summary>Blocks made before the average is looked at.</summary>
    internal const int BlocksFirst = 1024;

    private readonly Dictionary<ulong, Block> _blocks = [];
    private readonly HashSet<ulong> _other = [];
    private long _numbersHashed;

    public int Count { get; private set; }

    /// <summary>Blocks made so far.</summary>
    internal int Blocks => _blocks.Count;

    public bool Contains(string id)
    {
        if (Number(id) is not { } n)
        {
            return _other.Contains(Hash(id));
        }

        return (BlockOf(n >> 16) is { } b && b.Contains((ushort)n)) || (_numbersHashed > 0 && _other.Contains(Hash(id)));
    }

    // The block looked up last: a file's ids come in runs of one block (VQA's question ids are consecutive), and each is
    // looked up twice, to be checked and to be added.
    private ulong _lastKey = ulong.MaxValue;
    private Block? _last;

    private Block? BlockOf(ulong key)
    {
        if (key != _lastKey || _last is null)
        {
            if (!_blocks.TryGetValue(key, out var b))
            {
                return null;
            }

            (_lastKey, _last) = (key, b);
        }

        return _last;
    }

    public void Add(string id)
    {
        if (Number(id) is not { } n)
        {
            Count += _other.Add(Hash(id)) ? 1 : 0;
            return;
        }

        if (_numbersHashed > 0 && Contains(id))
        {
            return;
        }

        if (BlockOf(n >> 16) is not { } b)
        {
            if (_blocks.Count >= BlocksFirst && (long)_blocks.Count * SparseBelow > Count - _numbersHashed)
            {
                _numbersHashed++;
                Count += _other.Add(Hash(id)) ? 1 : 0;
                return;
            }

            b = new Block();
            _blocks[n >> 16] = b;
        }

        Count += b.Add((ushort)n) ? 1 : 0;
    }

    private static ulong Hash(string id) => XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(id));

    /// <summary>The id's value when it is written as a plain decimal number (no sign, no leading zero) below 2^64.</summary>
    private static ulong? Number(string id)
    {
        if (id.Length is 0 or > 19 || (id[0] == '0' && id.Length > 1))
        {
            return null;
        }

        ulong n = 0;
        foreach (var c in id)
        {
            if (c is < '0' or > '9')
            {
                return null;
            }

            n = (n * 10) + (ulong)(c - '0');
        }

        return n;
    }

    private sealed class Block
    {
        private ushort[]? _sorted = new ushort[8];
        private ulong[]? _bits;
        private int _count;

        public bool Contains(ushort v) =>
            _bits is not null ? (_bits[v >> 6] & (1UL << (v & 63))) != 0 : _sorted.AsSpan(0, _count).BinarySearch(v) >= 0;

        public bool Add(ushort v)
        {
            if (_bits is not null)
            {
                var had = (_bits[v >> 6] & (1UL << (v & 63))) != 0;
                _bits[v >> 6] |= 1UL << (v & 63);
                return !had;
            }

            // Ids mostly come in rising order: an append; otherwise an insert in place.
            var at = _count > 0 && _sorted![_count - 1] < v ? _count : _sorted.AsSpan(0, _count).BinarySearch(v);
            if (at >= 0 && at < _count)
            {
                return false;
            }

            at = at < 0 ? ~at : at;
            if (_count == BitmapAt)
            {
                _bits = new ulong[1024];
                foreach (var s in _sorted.AsSpan(0, _count))
                {
                    _bits[s >> 6] |= 1UL << (s & 63);
                }

                _sorted = null;
                return Add(v);
            }

            if (_count == _sorted!.Length)
            {
                Array.Resize(ref _sorted, Math.Min(_count * 2, BitmapAt));
            }

            Array.Copy(_sorted, at, _sorted, at + 1, _count - at);
            _sorted[at] = v;
            _count++;
            return true;
        }
    }
}
