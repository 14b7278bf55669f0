using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>
/// TextCaps (<c>TextCaps_0.1_&lt;split&gt;.json</c>: <c>data</c> has one row per caption, each repeating
/// <c>reference_strs</c>): one record per image, the first caption as output and the rest in provenance, or with
/// <c>--per-caption</c> one record per caption. Test rows resolve to <c>test_images/</c>, others to <c>train_images/</c>.
/// </summary>
public sealed class TextCapsAdapter : ISourceAdapter
{
    public string Name => "textcaps";

    public string Description => "TextCaps (TextCaps_0.1_<split>.json: data[{image_id, caption_id, caption_str, reference_strs[], set_name, image_width, image_height}])";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("captions", true, "the TextCaps_0.1_<split>.json file")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("image-pattern", "image file for an image id; <split> is test_images for test rows (set_name, else the file name), train_images otherwise", "<split>/%s.jpg") { Check = AdapterOption.ImagePatternCheck },
        new("per-caption", "one record per reference caption instead of one per image", "false") { Allowed = AdapterOption.FlagValues },
        Sample.Unanswered,
    ];

    public string DefaultTemplatePack => "caption-brief";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("captions");
        var pattern = context.Option("image-pattern") ?? "<split>/%s.jpg";
        var trainPattern = new ImagePattern(pattern, "train_images");
        var testPattern = new ImagePattern(pattern, "test_images");
        var perCaption = context.Flag("per-caption");

        // Rows without a set_name take the split from the file name (TextCaps_0.1_test.json).
        var fileIsTest = Path.GetFileNameWithoutExtension(path).EndsWith("_test", StringComparison.OrdinalIgnoreCase);

        // Rows of one image are consecutive in the official files: group runs, streaming.
        string? current = null;
        var captions = new List<(string? Id, string Text)>();
        var blankCaptions = 0;
        (int? W, int? H, string Where, ImagePattern Pattern) info = (null, null, "data[0]", trainPattern);
        IEnumerable<SourceItem> Flush()
        {
            if (current is null)
            {
                yield break;
            }

            if (info.Pattern.Format(current) is not { } file)
            {
                yield return Sample.Reject(context, path, info.Where, RejectReasons.UnknownImage, $"image_id '{current}' does not fit the numeric image pattern '{pattern}'; use %s");
                yield break;
            }

            var image = new ImageRef(file) { Width = info.W, Height = info.H };
            if (captions.Count == 0 && blankCaptions > 0)
            {
                yield return Sample.BlankCaptions(context, path, info.Where, blankCaptions, current);
                yield break;
            }

            if (captions.Count == 0)
            {
                Sample.NoAnswer(context, path, info.Where);
            }

            if (perCaption && captions.Count > 0)
            {
                for (var k = 0; k < captions.Count; k++)
                {
                    var (captionId, text) = captions[k];
                    yield return SourceItem.Of(Sample.Make(
                        context, Name, path, captionId is null ? $"img{current}-{k}" : $"c{captionId}", "caption", [image],
                        [new Turn { Output = text, RawAnswer = text }],
                        [new("image_id", current), .. (captionId is null ? Array.Empty<KeyValuePair<string, string>>() : [new("caption_id", captionId)])]));
                }

                yield break;
            }

            var output = captions.Count > 0 ? captions[0].Text : null;
            yield return SourceItem.Of(Sample.Make(
                context, Name, path, $"img{current}", "caption", [image],
                [new Turn { Output = output, RawAnswer = output }], [new("image_id", current)],
                new() { ["other_captions"] = Sample.Array(captions.Skip(1).Select(c => c.Text)) }));
        }

        foreach (var (item, where, notObject) in Sample.Elements(context, path, JsonLayout.ArrayProperty, "data", cancellationToken))
        {
            if (notObject is { } wrongType)
            {
                yield return wrongType;
                continue;
            }

            // A row with a field of another kind is a wrong-type reject of its own (its image keeps its other rows' captions):
            // read as absent, a numeric caption would be lost unseen.
            var f = new RecordFields(item.Element);
            var rowImageId = f.Id("image_id");
            var setName = f.Text("set_name");
            var (width, height) = (f.Whole("image_width"), f.Whole("image_height"));
            var captionStr = f.Text("caption_str");
            var captionId = f.Id("caption_id");
            var references = f.Texts("reference_strs");
            if (f.Wrong is { } wrong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                continue;
            }

            if (rowImageId is not { } imageId)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, "no \"image_id\"");
                continue;
            }

            if (imageId != current)
            {
                foreach (var done in Flush())
                {
                    yield return done;
                }

                current = imageId;
                captions.Clear();
                blankCaptions = 0;
                var isTest = setName is { } set ? set == "test" : fileIsTest;
                info = (width, height, where, isTest ? testPattern : trainPattern);
            }

            // Test rows carry no caption_str; reference_strs, where present, hold all of the image's captions. A blank
            // caption_str is a caption that shows nothing: counted, not replaced by the references (the image's other rows
            // bring their own captions).
            if (captionStr is { } caption)
            {
                if (TextCheck.IsBlank(caption))
                {
                    blankCaptions++;
                }
                else
                {
                    captions.Add((captionId, caption.Trim()));
                }
            }
            else if (captions.Count == 0 && references is { Count: > 0 } refs)
            {
                captions.AddRange(refs.Where(r => !TextCheck.IsBlank(r)).Select(r => ((string?)null, r.Trim())));
                blankCaptions += refs.Count(TextCheck.IsBlank);
            }
        }

        foreach (var done in Flush())
        {
            yield return done;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
