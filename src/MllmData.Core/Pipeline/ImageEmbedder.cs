using MllmData.Model;
using MllmData.Rendering;

namespace MllmData.Pipeline;

/// <summary>Loads image bytes for formats that embed them, checking type and size against the trainers' limits.</summary>
public static class ImageEmbedder
{
    public static (InstructionRecord Record, Reject? Reject) Load(InstructionRecord record, ImageRootCheck images)
    {
        var loaded = new List<ImageRef>(record.Images.Count);
        foreach (var image in record.Images)
        {
            if (images.Resolve(record, image, out var full) is { } reject)
            {
                return (record, reject);
            }

            Reject Fail(string reason, string detail) => new(record.Source, record.Provenance.File, record.Id, reason, detail);
            var length = new FileInfo(full).Length;
            if (length > ImageMedia.MaxEmbeddedBytes)
            {
                return (record, Fail(RejectReasons.ImageTooLarge, $"{image.Path} is {length} bytes; embedded images may be at most {ImageMedia.MaxEmbeddedBytes}"));
            }

            var bytes = File.ReadAllBytes(full);
            var type = ImageMedia.Sniff(bytes);
            if (type is null || !ImageMedia.Allowed.Contains(type))
            {
                return (record, Fail(RejectReasons.BadImageType, $"{image.Path} is {type ?? "not a known image type"}; embeddable: {string.Join(", ", ImageMedia.Allowed)}"));
            }

            loaded.Add(image with { Bytes = bytes, MediaType = type });
        }

        return (record with { Images = loaded }, null);
    }
}
