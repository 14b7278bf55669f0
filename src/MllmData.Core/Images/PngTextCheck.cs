using System.Buffers.Binary;
using System.IO.Compression;

namespace MllmData.Images;

/// <summary>
/// Measures what a PNG's text and profile chunks (tEXt, zTXt, iTXt, iCCP) expand to, before any decoder sees them:
/// a few hundred kilobytes of compressed text can inflate to gigabytes (a decompression bomb).
/// </summary>
/// <remarks>Inflation stops as soon as the limit is passed, so the check itself reads at most the limit plus one buffer.</remarks>
public static class PngTextCheck
{
    /// <summary>The most text and profile data one PNG may carry once inflated: 8 MiB.</summary>
    public const long DefaultMaxBytes = 8L << 20;

    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The bytes the metadata chunks hold once inflated, counted up to just past <paramref name="maxBytes"/>.</summary>
    public static long TextBytes(byte[] png, long maxBytes = DefaultMaxBytes)
    {
        if (!png.AsSpan().StartsWith(Signature))
        {
            return 0;
        }

        long total = 0;
        var at = Signature.Length;
        while (at + 12 <= png.Length && total <= maxBytes)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var type = png.AsSpan(at + 4, 4);
            var data = at + 8;
            if (length > (uint)(png.Length - data))
            {
                // A chunk that runs past the end: the decoder reports the file as corrupt or truncated.
                break;
            }

            var chunk = png.AsSpan(data, (int)length);
            if (type.SequenceEqual("tEXt"u8))
            {
                total += length;
            }
            else if (type.SequenceEqual("zTXt"u8) || type.SequenceEqual("iCCP"u8))
            {
                // keyword NUL method compressed-data
                var nul = chunk.IndexOf((byte)0);
                total += nul < 0 ? length : Inflated(png, data + nul + 2, (int)length - nul - 2, maxBytes - total);
            }
            else if (type.SequenceEqual("iTXt"u8))
            {
                // keyword NUL flag method language NUL translated-keyword NUL text
                var nul = chunk.IndexOf((byte)0);
                var compressed = nul >= 0 && nul + 1 < chunk.Length && chunk[nul + 1] == 1;
                var textStart = nul < 0 ? -1 : SkipTwoStrings(chunk, nul + 3);
                total += compressed && textStart >= 0 ? Inflated(png, data + textStart, (int)length - textStart, maxBytes - total) : length;
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }

            at = data + (int)length + 4;
        }

        return total;
    }

    private static int SkipTwoStrings(ReadOnlySpan<byte> chunk, int from)
    {
        for (var k = 0; k < 2; k++)
        {
            if (from > chunk.Length)
            {
                return -1;
            }

            var nul = chunk[from..].IndexOf((byte)0);
            if (nul < 0)
            {
                return -1;
            }

            from += nul + 1;
        }

        return from;
    }

    /// <summary>How many bytes zlib data inflates to, stopping once past <paramref name="budget"/>; broken data counts as read so far.</summary>
    private static long Inflated(byte[] png, int offset, int count, long budget)
    {
        if (count <= 0)
        {
            return 0;
        }

        long total = 0;
        var scratch = new byte[1 << 16];
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(png, offset, count, writable: false), CompressionMode.Decompress);
            int n;
            while (total <= budget && (n = zlib.Read(scratch)) > 0)
            {
                total += n;
            }
        }
        catch (InvalidDataException)
        {
            // Not valid zlib: the decoder skips such a chunk, so only what inflated counts.
        }

        return total;
    }
}
