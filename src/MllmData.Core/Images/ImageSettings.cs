using System.Globalization;
using System.Text.Json.Serialization;

namespace MllmData.Images;

/// <summary>What the image stage does, and the limits it holds every image to.</summary>
public sealed class ImageSettings
{
    /// <summary><c>none</c> (existence only), <c>reference</c> (verify and record), <c>copy</c> (into out/images by content hash), <c>embed</c> (bytes in the record).</summary>
    [JsonPropertyName("mode")]
    public string Mode { get; set; } = "none";

    /// <summary>Resize so the longer side is at most this many pixels, keeping the ratio.</summary>
    [JsonPropertyName("max_side")]
    public int? MaxSide { get; set; }

    /// <summary>Resize to cover a square of this side, then crop its centre.</summary>
    [JsonPropertyName("center_crop")]
    public int? CenterCrop { get; set; }

    [JsonPropertyName("jpeg_quality")]
    public int JpegQuality { get; set; } = 90;

    /// <summary>Largest image file accepted.</summary>
    [JsonPropertyName("max_bytes")]
    public long MaxBytes { get; set; } = 50L * 1024 * 1024;

    [JsonPropertyName("max_pixels")]
    public long MaxPixels { get; set; } = 40_000_000;

    [JsonPropertyName("max_side_pixels")]
    public int MaxSidePixels { get; set; } = 16_384;

    /// <summary>Hard cap on what one decode may allocate.</summary>
    [JsonPropertyName("allocation_limit_mb")]
    public int AllocationLimitMegabytes { get; set; } = 256;

    /// <summary>Seconds one image may take to decode and process.</summary>
    [JsonPropertyName("decode_timeout")]
    public double DecodeTimeout { get; set; } = 20;

    /// <summary>Drop repeated images (exact and near duplicates) with a reject reason.</summary>
    [JsonPropertyName("dedup")]
    public bool Dedup { get; set; }

    /// <summary>Largest Hamming distance between 64-bit perceptual hashes that counts as a near duplicate.</summary>
    [JsonPropertyName("near_duplicate_distance")]
    public int NearDuplicateDistance { get; set; } = 4;

    /// <summary>Also accept WebP and GIF (decoders off by default).</summary>
    [JsonPropertyName("allow_webp_gif")]
    public bool AllowWebpGif { get; set; }

    /// <summary>Images processed at once; 0 = every core.</summary>
    [JsonPropertyName("threads")]
    public int Threads { get; set; }

    /// <summary>The format accepts only RGB or RGBA images (OpenAI): others are converted when embedded. Set by the build, not a recipe key.</summary>
    [JsonIgnore]
    public bool RequireRgb { get; set; }

    /// <summary>The worker count <see cref="Threads"/> asks for (this machine's cores for 0): not part of the recipe.</summary>
    [JsonIgnore]
    public int Workers => Threads > 0 ? Threads : Environment.ProcessorCount;

    [JsonIgnore]
    public bool Active => Mode is "reference" or "copy" or "embed";

    [JsonIgnore]
    public bool Transforms => MaxSide is not null || CenterCrop is not null;

    /// <summary>A copy of these settings with another mode.</summary>
    public ImageSettings WithMode(string mode)
    {
        var copy = (ImageSettings)MemberwiseClone();
        copy.Mode = mode;
        return copy;
    }

    /// <summary>The first setting that cannot be used (flag and recipe key named), or null; checked before any file is touched.</summary>
    public string? Problem()
    {
        if (Mode is not ("none" or "reference" or "copy" or "embed"))
        {
            return $"--images (images.mode) must be none, reference, copy or embed, got '{Mode}'";
        }

        return Outside("images.max_side_pixels", MaxSidePixels, 1, 65_535)
            ?? Outside("--max-pixels (images.max_pixels)", MaxPixels, 1, 1_000_000_000)
            ?? Outside("--max-side (images.max_side)", MaxSide, 1, MaxSidePixels)
            ?? Outside("--center-crop (images.center_crop)", CenterCrop, 1, (long)Math.Min(MaxSidePixels, Math.Floor(Math.Sqrt(MaxPixels))))
            ?? Outside("--jpeg-quality (images.jpeg_quality)", JpegQuality, 1, 100)
            ?? Outside("--max-image-bytes (images.max_bytes)", MaxBytes, 1, 1L << 32)
            ?? Outside("--allocation-limit-mb (images.allocation_limit_mb)", AllocationLimitMegabytes, 1, 16_384)
            ?? Outside("--near-duplicate-distance (images.near_duplicate_distance)", NearDuplicateDistance, 0, 7)
            ?? Outside("--threads (images.threads)", Threads, 0, 1024)
            ?? (double.IsFinite(DecodeTimeout) && DecodeTimeout > 0 && DecodeTimeout <= 3600
                ? null
                : FormattableString.Invariant($"--decode-timeout (images.decode_timeout) must be more than 0 and at most 3600 seconds, got {DecodeTimeout}"));
    }

    private static string? Outside(string what, long? value, long min, long max) =>
        value is not { } v || (v >= min && v <= max)
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{what} must be from {min} to {max}, got {v}");
}
