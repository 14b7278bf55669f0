using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// For a format whose consumer opens image files only (<see cref="FormatCapabilities.ImagesAreFiles"/>): a record whose
/// image is a URL or a <c>data:</c> URI is rejected, since its trainer would look for a file by that name.
/// </summary>
public sealed class ImageUrlStep(IOutputFormat format) : IRecordStep
{
    public SourceItem Apply(InstructionRecord record)
    {
        foreach (var image in record.Images)
        {
            if (!image.Inline && ImageUrls.IsUrl(image.Path))
            {
                var shown = image.Path.Length > 60 ? image.Path[..57] + "..." : image.Path;
                return SourceItem.Rejected(record, RejectReasons.BadImagePath, $"image '{shown}' is a URL, not a file: {format.Consumer} opens image files under its image folder; download the images and give their paths (with --image-root), or build a format that takes URLs (swift, openai)");
            }
        }

        return SourceItem.Of(record);
    }
}
