using System.Buffers;
using System.IO.Compression;
using System.IO.Hashing;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace MllmData.ModelCalls;

/// <summary>
/// Counts o200k tokens with the vocabulary held in three flat arrays (about 4 MB) rather than in the 40 MB of dictionaries
/// that Microsoft.ML.Tokenizers builds: the dataset card counts tokens at the end of a build, and that library's vocabulary
/// alone was a third of the peak memory the build is held to (issue #14 §4). The vocabulary is the same file, read from the
/// Microsoft.ML.Tokenizers.Data.O200kBase package; the counts are that library's, which the tests take as the reference.
/// A text is cut at the two special tokens (one token each), then into pieces by the o200k pattern; a piece that is a token
/// counts one, any other is merged byte pair by byte pair, lowest rank first (leftmost on a tie), and counts its parts.
/// </summary>
public sealed partial class O200kCounter
{
    /// <summary>The resource of the data package: "Capacity: N", then one base64 token a line, its rank the line's number.</summary>
    private const string DataAssembly = "Microsoft.ML.Tokenizers.Data.O200kBase";
    private const string Resource = "o200k_base.tiktoken.deflate";

    /// <summary>The special tokens of o200k_base, each one token wherever it stands in a text.</summary>
    internal static readonly (string Text, int Id)[] SpecialTokens = [("<|endoftext|>", 199_999), ("<|endofprompt|>", 200_018)];

    private static readonly Lazy<O200kCounter> Loaded = new(Load);

    private readonly byte[] _bytes;
    private readonly int[] _starts;
    private readonly int[] _table;
    private readonly int _mask;

    private O200kCounter(byte[] bytes, int[] starts, int count)
    {
        _bytes = bytes;
        _starts = starts;
        var size = 1;
        while (size < count * 2)
        {
            size <<= 1;
        }

        _mask = size - 1;
        _table = new int[size];
        for (var rank = 0; rank < count; rank++)
        {
            var token = Token(rank);
            if (token.IsEmpty)
            {
                continue;
            }

            var slot = Slot(token);
            while (_table[slot] != 0)
            {
                slot = (slot + 1) & _mask;
            }

            _table[slot] = rank + 1;
        }
    }

    /// <summary>The counter over the packaged vocabulary, read on first use.</summary>
    public static O200kCounter Shared => Loaded.Value;

    /// <summary>Tokens in the vocabulary (ranks 0 to Count - 1).</summary>
    public int Count => _starts.Length - 1;

    /// <summary>Bytes the vocabulary takes here: the tokens' bytes, their starts and the hash table.</summary>
    public long HeldBytes => _bytes.Length + (4L * _starts.Length) + (4L * _table.Length);

    /// <summary>The o200k token count of <paramref name="text"/>.</summary>
    public int CountTokens(ReadOnlySpan<char> text) => Encode(text, null);

    /// <summary>The o200k token ids of <paramref name="text"/> (the same cut and merges as the count).</summary>
    public List<int> EncodeToIds(ReadOnlySpan<char> text)
    {
        var ids = new List<int>();
        Encode(text, ids);
        return ids;
    }

    private int Encode(ReadOnlySpan<char> text, List<int>? ids)
    {
        var total = 0;
        while (!text.IsEmpty)
        {
            var (at, length, id) = NextSpecial(text);
            total += EncodeOrdinary(text[..at], ids);
            if (length == 0)
            {
                break;
            }

            total++;
            ids?.Add(id);
            text = text[(at + length)..];
        }

        return total;
    }

    /// <summary>The rank of a token's bytes, or -1 when they are no token.</summary>
    public int Rank(ReadOnlySpan<byte> piece)
    {
        if (piece.IsEmpty)
        {
            return -1;
        }

        for (var slot = Slot(piece); _table[slot] != 0; slot = (slot + 1) & _mask)
        {
            var rank = _table[slot] - 1;
            if (Token(rank).SequenceEqual(piece))
            {
                return rank;
            }
        }

        return -1;
    }

    /// <summary>The tokens one piece of the pattern's cut becomes.</summary>
    public int CountPiece(ReadOnlySpan<byte> piece) => EncodePiece(piece, null);

    /// <summary>The tokens one piece becomes, their ids added to <paramref name="ids"/> when given.</summary>
    private int EncodePiece(ReadOnlySpan<byte> piece, List<int>? ids)
    {
        if (piece.IsEmpty)
        {
            return 0;
        }

        if (Rank(piece) is var whole and >= 0)
        {
            ids?.Add(whole);
            return 1;
        }

        // Parts are named by the offset they start at; a merge joins a part with the next one. The queue holds each
        // adjacent pair that is a token, by (rank, start); an entry is stale once either part of its pair has changed.
        var n = piece.Length;
        var next = ArrayPool<int>.Shared.Rent(n);
        var prev = ArrayPool<int>.Shared.Rent(n);
        var stamp = ArrayPool<int>.Shared.Rent(n);
        try
        {
            var queue = new PriorityQueue<(int Start, int Stamp), (int Rank, int Start)>();
            for (var i = 0; i < n; i++)
            {
                next[i] = i + 1;
                prev[i] = i - 1;
                stamp[i] = 0;
            }

            for (var i = 0; i + 1 < n; i++)
            {
                Offer(queue, piece, i, i + 2, 0);
            }

            var parts = n;
            while (queue.TryDequeue(out var pair, out _))
            {
                var start = pair.Start;
                if (stamp[start] != pair.Stamp)
                {
                    continue;
                }

                var joined = next[start];
                var after = next[joined];
                stamp[joined] = -1;
                next[start] = after;
                if (after < n)
                {
                    prev[after] = start;
                }

                parts--;
                stamp[start]++;
                if (after < n)
                {
                    Offer(queue, piece, start, next[after], stamp[start]);
                }

                if (prev[start] is var before and >= 0)
                {
                    stamp[before]++;
                    Offer(queue, piece, before, after, stamp[before]);
                }
            }

            for (var start = 0; ids is not null && start < n; start = next[start])
            {
                ids.Add(Rank(piece[start..next[start]]));
            }

            return parts;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<int>.Shared.Return(stamp);
        }
    }

    private void Offer(PriorityQueue<(int Start, int Stamp), (int Rank, int Start)> queue, ReadOnlySpan<byte> piece, int start, int end, int stamp)
    {
        var rank = Rank(piece[start..end]);
        if (rank >= 0)
        {
            queue.Enqueue((start, stamp), (rank, start));
        }
    }

    private int EncodeOrdinary(ReadOnlySpan<char> text, List<int>? ids)
    {
        var total = 0;
        byte[]? rented = null;
        Span<byte> buffer = stackalloc byte[256];
        try
        {
            foreach (var match in Pattern().EnumerateMatches(text))
            {
                for (var rest = text.Slice(match.Index, match.Length); !rest.IsEmpty;)
                {
                    // A piece longer than MaxPieceChars (a pasted blob, a hostile field) is merged in slices of that many
                    // characters, never splitting a surrogate pair: merging one piece takes memory in step with its length.
                    var take = rest.Length <= MaxPieceChars ? rest.Length : char.IsHighSurrogate(rest[MaxPieceChars - 1]) ? MaxPieceChars - 1 : MaxPieceChars;
                    total += EncodeChars(rest[..take], ids, ref buffer, ref rented);
                    rest = rest[take..];
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return total;
    }

    /// <summary>Longest run of characters merged as one piece (see <see cref="EncodeOrdinary"/>).</summary>
    public const int MaxPieceChars = 8192;

    /// <summary>One piece's characters as UTF-8 (in the given buffer, or a larger rented one kept for the next pieces), merged.</summary>
    private int EncodeChars(ReadOnlySpan<char> chars, List<int>? ids, ref Span<byte> buffer, ref byte[]? rented)
    {
        var need = Encoding.UTF8.GetMaxByteCount(chars.Length);
        if (need > buffer.Length)
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }

            rented = ArrayPool<byte>.Shared.Rent(need);
            buffer = rented;
        }

        return EncodePiece(buffer[..Encoding.UTF8.GetBytes(chars, buffer)], ids);
    }

    /// <summary>The first special token in the text: its place, length and id, or (text length, 0, -1).</summary>
    private static (int At, int Length, int Id) NextSpecial(ReadOnlySpan<char> text)
    {
        var best = (At: text.Length, Length: 0, Id: -1);
        foreach (var (special, id) in SpecialTokens)
        {
            var at = text.IndexOf(special, StringComparison.Ordinal);
            if (at >= 0 && at < best.At)
            {
                best = (at, special.Length, id);
            }
        }

        return best;
    }

    private ReadOnlySpan<byte> Token(int rank) => _bytes.AsSpan(_starts[rank], _starts[rank + 1] - _starts[rank]);

    private int Slot(ReadOnlySpan<byte> bytes) => (int)XxHash3.HashToUInt64(bytes) & _mask;

    /// <summary>o200k_base's pre-tokenizing pattern, as tiktoken publishes it.</summary>
    [GeneratedRegex(@"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")]
    private static partial Regex Pattern();

    /// <summary>
    /// Reads the packaged vocabulary line by line into the flat arrays. Lines are decoded from bytes in a small buffer,
    /// with no string per token and no copy of the whole, so loading adds little garbage to the peak.
    /// </summary>
    internal static O200kCounter Load()
    {
        using var packed = Assembly.Load(DataAssembly).GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"the o200k vocabulary ({Resource}) is missing from {DataAssembly}");
        using var text = new DeflateStream(packed, CompressionMode.Decompress);
        using var lines = new Adapters.BoundedLineReader(text, 4096);
        var capacity = "Capacity: "u8;
        var expected = 0;
        var bytes = new byte[1 << 20];
        var used = 0;
        var starts = new List<int>(200_001) { 0 };
        var first = true;
        Span<byte> token = stackalloc byte[512];
        while (lines.TryRead(out var read))
        {
            var line = read.Bytes.Span.TrimEnd((byte)'\r');
            if (first && line.StartsWith(capacity))
            {
                expected = int.Parse(line[capacity.Length..]);
                starts.Capacity = Math.Max(starts.Capacity, expected + 1);
                first = false;
                continue;
            }

            if (first && line.IsEmpty)
            {
                continue;
            }

            first = false;
            if (!line.IsEmpty)
            {
                if (System.Buffers.Text.Base64.DecodeFromUtf8(line, token, out _, out var written) != OperationStatus.Done)
                {
                    throw new InvalidOperationException($"the o200k vocabulary has a line that is not base64 (token {starts.Count - 1})");
                }

                if (used + written > bytes.Length)
                {
                    Array.Resize(ref bytes, bytes.Length * 2);
                }

                token[..written].CopyTo(bytes.AsSpan(used));
                used += written;
            }

            starts.Add(used);
        }

        return new O200kCounter(bytes, [.. starts], starts.Count - 1);
    }
}
