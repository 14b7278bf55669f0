using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace MllmData.Templates;

/// <summary>Deterministic per-sample choices: the same seed, sample and purpose always pick the same index.</summary>
public static class SeededChoice
{
    /// <summary>An index in [0, count) derived from the run seed, the sample id, the turn and a purpose label.</summary>
    public static int Pick(long seed, string sampleId, int turn, string purpose, int count)
    {
        if (count <= 1)
        {
            return 0;
        }

        // seed, id, turn and purpose joined by unit separators, hashed as UTF-8 without a string in between.
        var max = 48 + Encoding.UTF8.GetMaxByteCount(sampleId.Length + purpose.Length);
        Span<byte> key = max <= 1024 ? stackalloc byte[max] : new byte[max];
        var n = 0;
        seed.TryFormat(key, out var w, default, CultureInfo.InvariantCulture);
        n += w;
        key[n++] = 0x1f;
        n += Encoding.UTF8.GetBytes(sampleId, key[n..]);
        key[n++] = 0x1f;
        turn.TryFormat(key[n..], out w, default, CultureInfo.InvariantCulture);
        n += w;
        key[n++] = 0x1f;
        n += Encoding.UTF8.GetBytes(purpose, key[n..]);
        var hash = XxHash3.HashToUInt64(key[..n]);
        return (int)(hash % (ulong)count);
    }
}
