using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// A record whose image is a URI its format's consumer cannot load (<see cref="FormatCapabilities.OpensUrl"/>; where a format
/// does not say, a URL with <c>//</c> or a <c>data:</c> URI) is rejected: LLaVA and LLaMA-Factory would look for a file by
/// that name, ms-swift fetches http(s) only and OpenAI takes http(s) and <c>data:</c> only. A URI that names no place to
/// fetch from (<c>mailto:</c>, <c>javascript:</c>, <c>urn:</c>, ...) is no image in any format, and no file path either.
/// </summary>
public sealed class ImageUrlStep(IOutputFormat format) : IRecordStep
{
    private readonly Func<string, bool> _opens = format.Capabilities.OpensUrl ?? ImageUrls.IsLocator;

    public SourceItem Apply(InstructionRecord record)
    {
        // By index: a foreach over the list's interface made an enumerator object per record.
        var images = record.Images;
        for (var k = 0; k < images.Count; k++)
        {
            var image = images[k];
            if (!image.Inline && ImageUrls.IsUrl(image.Path) && !_opens(image.Path))
            {
                var shown = image.Path.Length > 60 ? image.Path[..57] + "..." : image.Path;
                return SourceItem.Rejected(record, RejectReasons.BadImagePath, !ImageUrls.IsLocator(image.Path)
                    ? $"image '{shown}' is a '{ImageUrls.SchemeOf(image.Path)}:' URI: it names no image file and no place to fetch one, so no consumer can load it; give the image's file path (with --image-root), or its http(s) URL for a format that takes URLs (swift, openai)"
                    : format.Capabilities.ImagesAreFiles
                    ? $"image '{shown}' is a URL, not a file: {format.Consumer} opens image files under its image folder; download the images and give their paths (with --image-root), or build a format that takes URLs (swift, openai)"
                    : $"image '{shown}' is a URL the {format.Name} format's consumer cannot load ({format.Consumer} takes http:// and https:// URLs and data: URIs); download the images and give their paths (with --image-root)");
            }
        }

        return SourceItem.Of(record);
    }
}
