using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>Puts a prefix before every image path (e.g. <c>coco/train2014/</c>); URLs and inline images keep theirs.</summary>
public sealed class ImagePrefixStep(string prefix) : IRecordStep
{
    public SourceItem Apply(InstructionRecord record) =>
        SourceItem.Of(record with { Images = [.. record.Images.Select(i => i.Inline || ImageUrls.IsUrl(i.Path) ? i : i with { Path = prefix + i.Path })] });
}
