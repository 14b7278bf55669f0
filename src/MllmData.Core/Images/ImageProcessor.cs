using System.Security.Cryptography;
using MllmData.Records;
using MllmData.Formats;
using MllmData.Output;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MllmData.Images;

/// <summary>The result for one image: the image as written (or null), a reject reason, and its hashes for duplicate checks.</summary>
public sealed record ImageOutcome(ImageRef? Image, string? Reason, string? Detail, string? SourceSha256, ulong? PerceptualHash)
{
    public static ImageOutcome Fail(string reason, string detail) => new(null, reason, detail, null, null);
}

/// <summary>
/// Checks and prepares one image under ImageSharp's safe use: only the needed decoders, the header read and
/// limits checked before any pixel is decoded, a hard allocation cap, and a time budget per image.
/// </summary>
public sealed class ImageProcessor
{
    public const string TooLarge = "too-large";
    public const string EmptyFile = "empty-file";
    public const string UnknownFormat = "unknown-format";
    public const string Corrupt = "corrupt";
    public const string Truncated = "truncated";
    public const string TooManyPixels = "too-many-pixels";
    public const string DecodeTimeout = "decode-timeout";
    public const string MetadataTooLarge = "metadata-too-large";

    private readonly ImageSettings _settings;
    private readonly Configuration _configuration;
    private readonly ImageRootCheck _root;
    private readonly string? _copyDir;
    private readonly string? _outDir;
    private readonly ResumeJournal? _journal;

    /// <remarks>With a <paramref name="journal"/>, each image's result is noted in it, and one an interrupted run already processed is taken from it.</remarks>
    public ImageProcessor(ImageSettings settings, string imageRoot, string? outDir, ResumeJournal? journal = null)
    {
        _settings = settings;
        _outDir = outDir;
        _journal = journal;
        _root = new ImageRootCheck(imageRoot);
        _copyDir = settings.Mode == "copy" ? Path.Combine(outDir ?? ".", "images") : null;
        IConfigurationModule[] modules = settings.AllowWebpGif
            ? [new JpegConfigurationModule(), new PngConfigurationModule(), new WebpConfigurationModule(), new GifConfigurationModule()]
            : [new JpegConfigurationModule(), new PngConfigurationModule()];
        _configuration = new Configuration(modules)
        {
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { AllocationLimitMegabytes = settings.AllocationLimitMegabytes }),
        };
    }

    public async Task<ImageOutcome> ProcessAsync(ImageRef image)
    {
        if (_root.Resolve(image.Path, out var full) is { } missing)
        {
            return ImageOutcome.Fail(missing.Reason, missing.Detail);
        }

        var length = new FileInfo(full).Length;
        if (length == 0)
        {
            return ImageOutcome.Fail(EmptyFile, $"{image.Path} is empty");
        }

        if (length > _settings.MaxBytes)
        {
            return ImageOutcome.Fail(TooLarge, $"{image.Path} is {length} bytes; at most {_settings.MaxBytes}");
        }

        if (_journal is null)
        {
            return await ProcessFileAsync(image, full).ConfigureAwait(false);
        }

        var ticks = File.GetLastWriteTimeUtc(full).Ticks;
        if (_journal.Image(full, length, ticks) is { } entry && Restore(entry, image, full) is { } restored)
        {
            _journal.Reused();
            return restored;
        }

        var outcome = await ProcessFileAsync(image, full).ConfigureAwait(false);
        _journal.ImageDone(full, length, ticks, Entry(outcome));
        return outcome;
    }

    /// <summary>What the journal keeps of an outcome; an embedding build's processed bytes, when they differ from the file's, are kept beside it.</summary>
    private ImageEntry Entry(ImageOutcome o)
    {
        if (o.Image is not { } image)
        {
            return new ImageEntry(o.Reason, o.Detail, null, null, 0, 0, null, null, null, null, null);
        }

        var kept = image.Bytes is { } bytes && image.Sha256 != o.SourceSha256 ? _journal!.Keep(image.Sha256 + "." + image.Format, bytes) : null;

        return new ImageEntry(null, null, o.SourceSha256, o.PerceptualHash, image.Width ?? 0, image.Height ?? 0, image.Format, image.Sha256, image.MediaType,
            _copyDir is null ? null : image.Path, kept);
    }

    /// <summary>The outcome an earlier run journalled, when the bytes it stands for are still there and unchanged; else null.</summary>
    private ImageOutcome? Restore(ImageEntry e, ImageRef image, string full)
    {
        if (e.Reason is { } reason)
        {
            return ImageOutcome.Fail(reason, e.Detail ?? reason);
        }

        var result = image with { Width = e.Width, Height = e.Height, Format = e.Format, Sha256 = e.Sha256 };
        switch (_settings.Mode)
        {
            case "reference":
                return new ImageOutcome(result, null, null, e.SourceSha256, e.PerceptualHash);
            case "copy":
                if (e.CopyPath is not { } copy || Verified(Path.Combine(_outDir ?? ".", copy), e.Sha256) is null)
                {
                    return null;
                }

                _journal!.Placed(Path.GetFileName(copy));
                return new ImageOutcome(result with { Path = copy }, null, null, e.SourceSha256, e.PerceptualHash);
            default:
                var bytes = Verified(e.Kept is { } kept ? Path.Combine(_journal!.KeptImages, kept) : full, e.Sha256);
                return bytes is null ? null : new ImageOutcome(result with { Bytes = bytes, MediaType = e.MediaType }, null, null, e.SourceSha256, e.PerceptualHash);
        }
    }

    /// <summary>Whether <paramref name="path"/> holds exactly <paramref name="bytes"/> (a copy of an earlier build, or one left damaged).</summary>
    private static bool SameBytes(string path, byte[] bytes)
    {
        var info = new FileInfo(path);
        return info.Exists && info.Length == bytes.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes);
    }

    /// <summary>The file's bytes when their sha256 is <paramref name="sha"/>; null when it is missing or differs.</summary>
    private static byte[]? Verified(string path, string? sha)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        return Convert.ToHexStringLower(SHA256.HashData(bytes)) == sha ? bytes : null;
    }

    private async Task<ImageOutcome> ProcessFileAsync(ImageRef image, string full)
    {
        var bytes = await File.ReadAllBytesAsync(full).ConfigureAwait(false);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));

        // Compressed PNG text can inflate to gigabytes inside the decoder: measured first, with a cap.
        if (ImageMedia.Sniff(bytes) == "image/png" && PngTextCheck.TextBytes(bytes) is var text && text > PngTextCheck.DefaultMaxBytes)
        {
            return ImageOutcome.Fail(MetadataTooLarge, $"{image.Path}: its text or profile chunks inflate to more than {PngTextCheck.DefaultMaxBytes} bytes");
        }

        // Header first: format and size, before a single pixel is decoded.
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(_configuration, bytes, out format);
        }
        catch (Exception ex) when (ex is UnknownImageFormatException or NotSupportedException)
        {
            return ImageOutcome.Fail(UnknownFormat, $"{image.Path}: {ImageMedia.Sniff(bytes) ?? "not an image"} is not an accepted format");
        }
        catch (Exception ex) when (AllocationFailed(ex))
        {
            return ImageOutcome.Fail(TooManyPixels, $"{image.Path}: reading its header needs more than {_settings.AllocationLimitMegabytes} MB");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A damaged header can throw almost anything from inside the decoder (IndexOutOfRange, NullReference, ...).
            return ImageOutcome.Fail(Corrupt, $"{image.Path}: unreadable header ({ex.GetType().Name})");
        }

        if (info is null || format is null)
        {
            return ImageOutcome.Fail(UnknownFormat, $"{image.Path}: {ImageMedia.Sniff(bytes) ?? "not an image"} is not an accepted format");
        }

        if (info.Width <= 0 || info.Height <= 0 || info.Width > _settings.MaxSidePixels || info.Height > _settings.MaxSidePixels || (long)info.Width * info.Height > _settings.MaxPixels)
        {
            return ImageOutcome.Fail(TooManyPixels, $"{image.Path} declares {info.Width}x{info.Height}; at most {_settings.MaxSidePixels} a side and {_settings.MaxPixels} pixels");
        }

        if (!Complete(bytes, format))
        {
            return ImageOutcome.Fail(Truncated, $"{image.Path}: the {format.Name} data ends before its end marker");
        }

        // The decoder does not watch a cancellation token, so the budget is a timer around it.
        var work = Task.Run(() => Decode(image, bytes, format, sha));
        try
        {
            return await work.WaitAsync(TimeSpan.FromSeconds(_settings.DecodeTimeout)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return ImageOutcome.Fail(DecodeTimeout, $"{image.Path} took longer than {_settings.DecodeTimeout:0.#} s to decode");
        }
        catch (InvalidMemoryOperationException)
        {
            return ImageOutcome.Fail(TooManyPixels, $"{image.Path} needs more than {_settings.AllocationLimitMegabytes} MB to process");
        }
        catch (Exception ex) when (ex is not (OutOfMemoryException or UnauthorizedAccessException) && (ex is not IOException || ex is EndOfStreamException))
        {
            // Damaged pixel data can throw from anywhere in the decoder or the steps after it; writing a copy may not fail quietly.
            return ImageOutcome.Fail(Corrupt, $"{image.Path}: cannot be decoded ({ex.GetType().Name})");
        }
    }

    /// <summary>
    /// Whether the allocation cap refused a buffer: the decoders wrap that refusal in an
    /// <see cref="InvalidImageContentException"/>, which is otherwise their word for damaged data.
    /// </summary>
    private static bool AllocationFailed(Exception ex) =>
        ex is InvalidMemoryOperationException or InvalidImageContentException { InnerException: InvalidMemoryOperationException };

    /// <summary>Whether the source stores colour as RGB (or RGBA): greyscale, palette and CMYK images do not.</summary>
    public static bool IsRgb(Image image, IImageFormat format) => format switch
    {
        JpegFormat => image.Metadata.GetJpegMetadata().ColorType is not (JpegColorType.Luminance or JpegColorType.Cmyk),
        PngFormat => image.Metadata.GetPngMetadata().ColorType is null or PngColorType.Rgb or PngColorType.RgbWithAlpha,
        _ => false,
    };

    private ImageOutcome Decode(ImageRef image, byte[] bytes, IImageFormat format, string sha)
    {
        Image<Rgb24> decoded;
        try
        {
            decoded = Image.Load<Rgb24>(_configuration, bytes);
        }
        catch (Exception ex) when (AllocationFailed(ex))
        {
            return ImageOutcome.Fail(TooManyPixels, $"{image.Path} needs more than {_settings.AllocationLimitMegabytes} MB to decode");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Read from memory: any exception is about the data (even an EndOfStreamException).
            return ImageOutcome.Fail(Corrupt, $"{image.Path}: cannot be decoded ({ex.GetType().Name})");
        }

        using (decoded)
        {
            var width = decoded.Width;
            var height = decoded.Height;
            var rotated = decoded.Metadata.ExifProfile?.GetValue(SixLabors.ImageSharp.Metadata.Profiles.Exif.ExifTag.Orientation) is { } o && o.Value > 1;
            if (_settings.Mode == "reference")
            {
                decoded.Mutate(x => x.AutoOrient());
                return new ImageOutcome(image with { Width = width, Height = height, Format = format.Name.ToLowerInvariant(), Sha256 = sha }, null, null, sha, PerceptualHash.Of(decoded));
            }

            byte[] output;
            string mediaType;
            var convert = _settings.RequireRgb && !IsRgb(decoded, format);
            if (!_settings.Transforms && !rotated && !convert)
            {
                // Nothing to change: the original bytes, untouched.
                output = bytes;
                mediaType = format.DefaultMimeType;
            }
            else
            {
                // EXIF orientation is applied whenever pixels are re-encoded, so the result is upright.
                decoded.Mutate(x =>
                {
                    x.AutoOrient();
                    if (_settings.CenterCrop is { } side)
                    {
                        x.Resize(new ResizeOptions { Size = new Size(side, side), Mode = ResizeMode.Crop, Position = AnchorPositionMode.Center });
                    }
                    else if (_settings.MaxSide is { } max && Math.Max(x.GetCurrentSize().Width, x.GetCurrentSize().Height) > max)
                    {
                        x.Resize(new ResizeOptions { Size = new Size(max, max), Mode = ResizeMode.Max });
                    }
                });
                using var stream = new MemoryStream();
                // The colour type is set, not taken from the source's metadata, so a greyscale source comes out as RGB.
                if (format is PngFormat)
                {
                    decoded.SaveAsPng(stream, new PngEncoder { ColorType = PngColorType.Rgb });
                    mediaType = "image/png";
                }
                else
                {
                    decoded.SaveAsJpeg(stream, new JpegEncoder { Quality = _settings.JpegQuality, ColorType = JpegColorType.YCbCrRatio420 });
                    mediaType = "image/jpeg";
                }

                output = stream.ToArray();
                width = decoded.Width;
                height = decoded.Height;
            }

            var hash = PerceptualHash.Of(decoded);
            var outSha = Convert.ToHexStringLower(SHA256.HashData(output));
            var extension = mediaType == "image/png" ? ".png" : mediaType == "image/jpeg" ? ".jpg" : "." + format.FileExtensions.First();
            var result = image with { Width = width, Height = height, Format = mediaType["image/".Length..], Sha256 = outSha };
            if (_settings.Mode == "embed")
            {
                return output.Length > ImageMedia.MaxEmbeddedBytes
                    ? ImageOutcome.Fail(RejectReasons.ImageTooLarge, $"{image.Path} is {output.Length} bytes after processing; embedded images may be at most {ImageMedia.MaxEmbeddedBytes}")
                    : new ImageOutcome(result with { Bytes = output, MediaType = mediaType }, null, null, sha, hash);
            }

            var name = outSha + extension;
            var target = Path.Combine(_copyDir!, name);
            if (!SameBytes(target, output))
            {
                Directory.CreateDirectory(_copyDir!);
                var temp = Path.Combine(_copyDir!, $".{name}.{Environment.CurrentManagedThreadId}.tmp");
                File.WriteAllBytes(temp, output);
                File.Move(temp, target, overwrite: true);
            }

            _journal?.Placed(name);

            return new ImageOutcome(result with { Path = "images/" + name }, null, null, sha, hash);
        }
    }

    /// <summary>
    /// JPEG data must end with its EOI marker (FF D9 cannot occur inside entropy-coded data), PNG with its IEND
    /// chunk; a little trailing padding after either is tolerated.
    /// </summary>
    private static bool Complete(byte[] bytes, IImageFormat format)
    {
        var tail = bytes.AsSpan(Math.Max(0, bytes.Length - 1024));
        return format switch
        {
            JpegFormat => tail.IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) >= 0,
            PngFormat => tail[Math.Max(0, tail.Length - 64)..].IndexOf("IEND"u8) >= 0,
            _ => true,
        };
    }
}
