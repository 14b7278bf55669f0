using MllmData.Formats;
using MllmData.Records;
using MllmData.Images;

namespace MllmData.Pipeline.Steps;

/// <summary>Every image file must exist under the image root (links resolved); images carried inline or as URLs are left alone.</summary>
public sealed class ImageRootStep(ImageRootCheck check) : IRecordStep
{
    public SourceItem Apply(InstructionRecord record)
    {
        if (record.Images.Any(i => i.Inline || ImageUrls.IsUrl(i.Path)))
        {
            var files = record with { Images = [.. record.Images.Where(i => !i.Inline && !ImageUrls.IsUrl(i.Path))] };
            return check.Check(files) is { } partial ? SourceItem.Rejected(partial) : SourceItem.Of(record);
        }

        return check.Check(record) is { } reject ? SourceItem.Rejected(reject) : SourceItem.Of(record);
    }
}
