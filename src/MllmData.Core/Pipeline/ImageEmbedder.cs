using MllmData.Model;
using MllmData.Rendering;

namespace MllmData.Pipeline;

/// <summary>Loads image bytes for formats that embed them, checking type and size against the trainers' limits.</summary>
public static class ImageEmbedder
{
    public static (InstructionRecord Record, Reject? Reject) Load(InstructionRecord record, string imageRoot)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(imageRoot)) + Path.DirectorySeparatorChar;
        var images = new List<ImageRef>(record.Images.Count);
        foreach (var image in record.Images)
        {
            var full = Path.GetFullPath(Path.Combine(root, image.Path));
            Reject Fail(string reason, string detail) => new(record.Source, record.Provenance.File, record.Id, reason, detail);
            if (Path.IsPathRooted(image.Path) || !full.StartsWith(root, StringComparison.Ordinal))
            {
                return (record, Fail(RejectReasons.ImageOutsideRoot, $"image path '{image.Path}' leaves the image root"));
            }

            var info = new FileInfo(full);
            if (!info.Exists)
            {
                return (record, Fail(RejectReasons.MissingImage, $"no file {image.Path} under {imageRoot}"));
            }

            if (info.Length > ImageMedia.MaxEmbeddedBytes)
            {
                return (record, Fail(RejectReasons.ImageTooLarge, $"{image.Path} is {info.Length} bytes; embedded images may be at most {ImageMedia.MaxEmbeddedBytes}"));
            }

            var bytes = File.ReadAllBytes(full);
            var type = ImageMedia.Sniff(bytes);
            if (type is null || !ImageMedia.Allowed.Contains(type))
            {
                return (record, Fail(RejectReasons.BadImageType, $"{image.Path} is {type ?? "not a known image type"}; embeddable: {string.Join(", ", ImageMedia.Allowed)}"));
            }

            images.Add(image with { Bytes = bytes, MediaType = type });
        }

        return (record with { Images = images }, null);
    }
}
