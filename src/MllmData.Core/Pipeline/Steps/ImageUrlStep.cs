using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// A record whose image is a URL or a <c>data:</c> URI its format's consumer cannot load (<see cref="FormatCapabilities.OpensUrl"/>)
/// is rejected: LLaVA and LLaMA-Factory would look for a file by that name, ms-swift fetches http(s) only and OpenAI takes
/// http(s) and <c>data:</c> only.
/// </summary>
public sealed class ImageUrlStep(IOutputFormat format) : IRecordStep
{
    public SourceItem Apply(InstructionRecord record)
    {
        foreach (var image in record.Images)
        {
            if (!image.Inline && ImageUrls.IsUrl(image.Path) && !format.Capabilities.OpensUrl!(image.Path))
            {
                var shown = image.Path.Length > 60 ? image.Path[..57] + "..." : image.Path;
                return SourceItem.Rejected(record, RejectReasons.BadImagePath, format.Capabilities.ImagesAreFiles
                    ? $"image '{shown}' is a URL, not a file: {format.Consumer} opens image files under its image folder; download the images and give their paths (with --image-root), or build a format that takes URLs (swift, openai)"
                    : $"image '{shown}' is a URL the {format.Name} format's consumer cannot load ({format.Consumer} takes http:// and https:// URLs and data: URIs); download the images and give their paths (with --image-root)");
            }
        }

        return SourceItem.Of(record);
    }
}
