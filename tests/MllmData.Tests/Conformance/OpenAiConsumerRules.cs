using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;

namespace MllmData.Tests.Conformance;

/// <summary>
/// The OpenAI vision fine-tuning rules that its JSON schema (FineTuneChatRequestInput) does not express, checked on
/// the decoded images: from OpenAI's "Vision fine-tuning" guide (images JPEG, PNG or WEBP, in RGB or RGBA mode,
/// at most 10 per example) and the cookbook's Chat_finetuning_data_prep checks (an assistant message to learn from).
/// </summary>
internal static class OpenAiConsumerRules
{
    public sealed record Report(int Lines, int Images, IReadOnlyList<string> Problems);

    private static readonly Configuration Decoders = new(new JpegConfigurationModule(), new PngConfigurationModule(), new WebpConfigurationModule());

    /// <summary>Every problem of every line of an openai-format file, as "line N: [rule] reason".</summary>
    public static Report Check(string file, string? expectedDetail = null)
    {
        var problems = new List<string>();
        var lines = 0;
        var images = 0;
        foreach (var text in File.ReadLines(file))
        {
            lines++;
            var messages = JsonDocument.Parse(text).RootElement.GetProperty("messages");

            // [O4] cookbook format check "example_missing_assistant_message"; we train on the answer, so it comes last.
            if (messages.GetArrayLength() == 0 || messages[messages.GetArrayLength() - 1].GetProperty("role").GetString() != "assistant")
            {
                problems.Add($"line {lines}: [O4] the last message is not from the assistant");
            }

            var parts = messages.EnumerateArray()
                .Where(m => m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.Array)
                .SelectMany(m => m.GetProperty("content").EnumerateArray())
                .Where(p => p.GetProperty("type").GetString() == "image_url")
                .Select(p => p.GetProperty("image_url"))
                .ToList();
            images += parts.Count;

            // [O5] Vision fine-tuning guide: at most 10 images per example.
            if (parts.Count > 10)
            {
                problems.Add($"line {lines}: [O5] {parts.Count} images; at most 10 per example");
            }

            for (var i = 0; i < parts.Count; i++)
            {
                // [O2] the detail we were asked for is written into every image part (schema enum auto|low|high).
                var detail = parts[i].TryGetProperty("detail", out var d) ? d.GetString() : null;
                if (expectedDetail is not null && detail != expectedDetail)
                {
                    problems.Add($"line {lines}: [O2] image {i} detail is {detail ?? "absent"}, expected {expectedDetail}");
                }

                if (Image(parts[i].GetProperty("url").GetString()!) is { } problem)
                {
                    problems.Add($"line {lines}: [O5] image {i} {problem}");
                }
            }
        }

        return new Report(lines, images, problems);
    }

    /// <summary>Why an embedded image would be refused (type, mode), or null; URLs are not fetched.</summary>
    private static string? Image(string url)
    {
        if (!url.StartsWith("data:", StringComparison.Ordinal))
        {
            return null;
        }

        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var mediaType = url[5..url.IndexOf(';', StringComparison.Ordinal)];

        // [O5] JPEG, PNG or WEBP only: GIF (and anything else) is refused.
        if (mediaType is not ("image/jpeg" or "image/png" or "image/webp"))
        {
            return $"is {mediaType}; only JPEG, PNG or WEBP are accepted";
        }

        var bytes = Convert.FromBase64String(url[(comma + 1)..]);
        IImageInfo info;
        IImageFormat format;
        try
        {
            info = SixLabors.ImageSharp.Image.Identify(Decoders, bytes, out format);
        }
        catch (Exception ex) when (ex is UnknownImageFormatException or InvalidImageContentException)
        {
            return $"does not decode as {mediaType}";
        }

        if (info is null || format is null || format.DefaultMimeType != mediaType)
        {
            return $"is declared {mediaType} but is {format?.DefaultMimeType ?? "no known image"}";
        }

        // [O5] the image mode must be RGB or RGBA: a greyscale, CMYK or palette image is refused.
        var mode = Mode(info, format);
        return mode is "RGB" or "RGBA" ? null : $"is in mode {mode}; only RGB or RGBA are accepted";
    }

    /// <summary>The image's colour mode in PIL's words, from the decoder's header metadata.</summary>
    public static string Mode(IImageInfo info, IImageFormat format) => format switch
    {
        // A JPEG's component count: 1 greyscale (L), 3 YCbCr/RGB, 4 CMYK/YCCK.
        JpegFormat => info.PixelType.BitsPerPixel switch { 8 => "L", 24 => "RGB", 32 => "CMYK", var b => $"{b} bits" },
        PngFormat => info.Metadata.GetPngMetadata().ColorType switch
        {
            PngColorType.Rgb => "RGB",
            PngColorType.RgbWithAlpha => "RGBA",
            PngColorType.Grayscale => "L",
            PngColorType.GrayscaleWithAlpha => "LA",
            PngColorType.Palette => "P",
            var t => t.ToString() ?? "unknown",
        },
        WebpFormat => "RGB",
        _ => "unknown",
    };
}
