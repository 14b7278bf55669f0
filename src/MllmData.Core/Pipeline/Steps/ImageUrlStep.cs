using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// For a format whose consumer opens image files only (<see cref="FormatCapabilities.ImagesAreFiles"/>): a record whose
/// image is a URL or a <c>data:</c> URI is rejected, since its trainer would look for a file by that name.
/// </summary>
public sealed partial class ImageUrlStep(IOutputFormat format) : IRecordStep
{
    /// <summary>Any URL scheme (<c>https://</c>, <c>file://</c>, <c>s3://</c>, ...), as RFC 3986 spells one.</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*://")]
    private static partial System.Text.RegularExpressions.Regex Scheme();

    public SourceItem Apply(InstructionRecord record)
    {
        foreach (var image in record.Images)
        {
            if (!image.Inline && (ReadBack.IsUrl(image.Path) || Scheme().IsMatch(image.Path)))
            {
                var shown = image.Path.Length > 60 ? image.Path[..57] + "..." : image.Path;
                return SourceItem.Rejected(record, RejectReasons.BadImagePath, $"image '{shown}' is a URL, not a file: {format.Consumer} opens image files under its image folder; download the images and give their paths (with --image-root), or build a format that takes URLs (swift, openai)");
            }
        }

        return SourceItem.Of(record);
    }
}
