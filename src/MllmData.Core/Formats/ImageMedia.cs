namespace MllmData.Formats;

/// <summary>Image media types recognised by their first bytes, and the limits trainers put on embedded images.</summary>
public static class ImageMedia
{
    /// <summary>OpenAI fine-tuning: at most 10 MB per image and 10 images per example.</summary>
    public const long MaxEmbeddedBytes = 10L * 1024 * 1024;

    public const int MaxImagesPerExample = 10;

    /// <summary>Types OpenAI fine-tuning accepts in data URLs: JPEG, PNG and WEBP (its vision fine-tuning guide; GIF is not listed).</summary>
    public static readonly IReadOnlyList<string> Allowed = ["image/jpeg", "image/png", "image/webp"];

    /// <summary>The file extension for a media type, with its dot.</summary>
    public static string Extension(string mediaType) => mediaType switch
    {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        _ => ".bin",
    };

    /// <summary>The media type of the bytes by signature, or null when not a recognised image.</summary>
    public static string? Sniff(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        {
            return "image/jpeg";
        }

        if (b.Length >= 8 && b[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "image/png";
        }

        if (b.Length >= 6 && (b[..6].SequenceEqual("GIF87a"u8) || b[..6].SequenceEqual("GIF89a"u8)))
        {
            return "image/gif";
        }

        if (b.Length >= 12 && b[..4].SequenceEqual("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8))
        {
            return "image/webp";
        }

        if (b.Length >= 4 && (b[..4].SequenceEqual((ReadOnlySpan<byte>)[0x49, 0x49, 0x2A, 0x00]) || b[..4].SequenceEqual((ReadOnlySpan<byte>)[0x4D, 0x4D, 0x00, 0x2A])))
        {
            return "image/tiff";
        }

        return b.Length >= 2 && b[0] == 'B' && b[1] == 'M' ? "image/bmp" : null;
    }
}
