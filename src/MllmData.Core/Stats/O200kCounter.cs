using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace MllmData.Stats;

/// <summary>
/// Counts o200k_base tokens as Microsoft.ML.Tokenizers' TiktokenTokenizer counts them (its pre-tokenizer pattern, its two
/// special tokens, byte-pair merges by rank), from a compact table of the vocabulary: about 5 MB where the library's
/// dictionaries take about 70 MB, which is most of what a build would otherwise hold for its dataset card.
/// </summary>
/// <remarks>Not thread-safe: one instance per thread (<see cref="DatasetStats"/> makes its own).</remarks>
public sealed partial class O200kCounter
{
    private const string Resource = "o200k_base.tiktoken.deflate";
    private const string DataAssembly = "Microsoft.ML.Tokenizers.Data.O200kBase";
    private static readonly string[] SpecialTokens = ["<|endoftext|>", "<|endofprompt|>"];
    private static readonly Lazy<Vocabulary> Shared = new(Vocabulary.Load);

    private readonly Vocabulary _vocabulary = Shared.Value;
    private byte[] _piece = new byte[256];
    private readonly List<(int Start, int Rank)> _parts = new(64);

    /// <summary>The pre-tokenizer pattern of o200k_base, as the library's.</summary>
    [GeneratedRegex(@"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")]
    private static partial Regex Pieces();

    public int Count(string text)
    {
        var total = 0;
        var from = 0;
        while (from < text.Length)
        {
            // Special tokens are one token each; the text between them is pre-tokenized.
            var (at, length) = NextSpecial(text, from);
            total += CountPlain(text.AsSpan(from, at - from));
            if (length == 0)
            {
                break;
            }

            total++;
            from = at + length;
        }

        return total;
    }

    private static (int At, int Length) NextSpecial(string text, int from)
    {
        var (best, length) = (text.Length, 0);
        foreach (var special in SpecialTokens)
        {
            var i = text.IndexOf(special, from, StringComparison.Ordinal);
            if (i >= 0 && i < best)
            {
                (best, length) = (i, special.Length);
            }
        }

        return (best, length);
    }

    private int CountPlain(ReadOnlySpan<char> text)
    {
        var total = 0;
        foreach (var m in Pieces().EnumerateMatches(text))
        {
            var piece = text.Slice(m.Index, m.Length);
            var max = Encoding.UTF8.GetMaxByteCount(piece.Length);
            if (_piece.Length < max)
            {
                _piece = new byte[Math.Max(max, _piece.Length * 2)];
            }

            var n = Encoding.UTF8.GetBytes(piece, _piece);
            total += Merge(_piece.AsSpan(0, n));
        }

        return total;
    }

    /// <summary>Tokens of one piece: one when the piece is a token, else byte-pair merges, lowest rank first (tiktoken's order).</summary>
    private int Merge(ReadOnlySpan<byte> piece)
    {
        if (piece.Length <= 1 || _vocabulary.Rank(piece) >= 0)
        {
            return piece.Length == 0 ? 0 : 1;
        }

        var parts = _parts;
        parts.Clear();
        for (var i = 0; i + 1 < piece.Length; i++)
        {
            parts.Add((i, RankOr(piece[i..(i + 2)])));
        }

        parts.Add((piece.Length - 1, int.MaxValue));
        parts.Add((piece.Length, int.MaxValue));
        while (parts.Count > 1)
        {
            var (minRank, at) = (int.MaxValue, -1);
            for (var i = 0; i < parts.Count - 1; i++)
            {
                if (parts[i].Rank < minRank)
                {
                    (minRank, at) = (parts[i].Rank, i);
                }
            }

            if (minRank == int.MaxValue)
            {
                break;
            }

            parts[at] = (parts[at].Start, PairRank(piece, parts, at));
            if (at > 0)
            {
                parts[at - 1] = (parts[at - 1].Start, PairRank(piece, parts, at - 1));
            }

            parts.RemoveAt(at + 1);
        }

        return parts.Count - 1;
    }

    private int PairRank(ReadOnlySpan<byte> piece, List<(int Start, int Rank)> parts, int i) =>
        i + 3 < parts.Count ? RankOr(piece[parts[i].Start..parts[i + 3].Start]) : int.MaxValue;

    private int RankOr(ReadOnlySpan<byte> bytes)
    {
        var rank = _vocabulary.Rank(bytes);
        return rank < 0 ? int.MaxValue : rank;
    }

    /// <summary>The vocabulary: every token's bytes in one array, found through an open-addressing table.</summary>
    private sealed class Vocabulary
    {
        private readonly byte[] _bytes;
        private readonly int[] _offsets;
        private readonly int[] _ranks;
        private readonly int[] _slots;

        private Vocabulary(byte[] bytes, int[] offsets, int[] ranks, int count)
        {
            _bytes = bytes;
            _offsets = offsets;
            _ranks = ranks;
            _slots = new int[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)count * 2)];
            for (var i = 0; i < count; i++)
            {
                var slot = Slot(Token(i));
                while (_slots[slot] != 0)
                {
                    slot = (slot + 1) & (_slots.Length - 1);
                }

                _slots[slot] = i + 1;
            }
        }

        private ReadOnlySpan<byte> Token(int i) => _bytes.AsSpan(_offsets[i], _offsets[i + 1] - _offsets[i]);

        private int Slot(ReadOnlySpan<byte> bytes)
        {
            // FNV-1a: pieces are short.
            var h = 2166136261u;
            foreach (var b in bytes)
            {
                h = (h ^ b) * 16777619u;
            }

            return (int)(h & (uint)(_slots.Length - 1));
        }

        public int Rank(ReadOnlySpan<byte> bytes)
        {
            var slot = Slot(bytes);
            while (_slots[slot] is var entry and not 0)
            {
                if (Token(entry - 1).SequenceEqual(bytes))
                {
                    return _ranks[entry - 1];
                }

                slot = (slot + 1) & (_slots.Length - 1);
            }

            return -1;
        }

        public static Vocabulary Load()
        {
            var assembly = Assembly.Load(DataAssembly);
            var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(Resource, StringComparison.Ordinal));
            using var stream = new DeflateStream(assembly.GetManifestResourceStream(name)!, CompressionMode.Decompress);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var bytes = new List<byte>(2 << 20);
            var offsets = new List<int>(200_000) { 0 };
            var ranks = new List<int>(200_000);
            Span<byte> token = stackalloc byte[512];
            while (reader.ReadLine() is { } line)
            {
                // A "Capacity: N" header line comes first; then one line per token, its base64 bytes (rank: the line's
                // place), or "base64 rank" as tiktoken's own files have it.
                if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
                {
                    continue;
                }

                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var text = space < 0 ? line.AsSpan() : line.AsSpan(0, space);
                if (!Convert.TryFromBase64Chars(text, token, out var length))
                {
                    throw new InvalidDataException($"{Resource}: a token that is not base64: {line[..Math.Min(line.Length, 80)]}");
                }

                bytes.AddRange(token[..length]);
                offsets.Add(bytes.Count);
                ranks.Add(space < 0 ? ranks.Count : int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture));
            }

            return new Vocabulary([.. bytes], [.. offsets], [.. ranks], ranks.Count);
        }
    }
}
