using MllmData.Records;
using MllmData.Output;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// Images that came inside the data (base64 data URLs of OpenAI lines) are written out under their content hash
/// into the output's <c>images/</c> folder when the format carries paths, so they can be converted and mixed.
/// </summary>
/// <remarks>Each file is noted in the run's <paramref name="journal"/> as one the output refers to.</remarks>
public sealed class InlineImageStep(string outDir, ResumeJournal? journal = null) : IRecordStep
{
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);

    public SourceItem Apply(InstructionRecord record)
    {
        if (!AnyInline(record.Images))
        {
            return SourceItem.Of(record);
        }

        var images = new List<ImageRef>(record.Images.Count);
        foreach (var image in record.Images)
        {
            if (!image.Inline || image.Bytes is null)
            {
                images.Add(image);
                continue;
            }

            // The path already names the file by its hash: images/<sha256>.<ext>.
            var target = Path.Combine(outDir, image.Path);
            if (_written.Add(image.Path) && !File.Exists(target))
            {
                AtomicFile.Write(target, s => s.Write(image.Bytes));
            }

            journal?.Placed(Path.GetFileName(image.Path));

            images.Add(image with { Bytes = null, Inline = false });
        }

        return SourceItem.Of(record with { Images = images });
    }

    /// <summary>Whether any image is inline, by index (no enumerator object per record).</summary>
    private static bool AnyInline(IReadOnlyList<ImageRef> images)
    {
        for (var k = 0; k < images.Count; k++)
        {
            if (images[k].Inline)
            {
                return true;
            }
        }

        return false;
    }
}
