using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Model;

namespace MllmData.Adapters;

/// <summary>
/// TextCaps (<c>TextCaps_0.1_&lt;split&gt;.json</c>: <c>data</c> has one row per caption, each repeating
/// <c>reference_strs</c>): one record per image, the first caption as output and the rest in provenance.
/// </summary>
public sealed class TextCapsAdapter : ISourceAdapter
{
    public string Name => "textcaps";

    public string Description => "TextCaps (TextCaps_0.1_<split>.json: data[{image_id, caption_str, reference_strs[], image_width, image_height}])";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("captions", true, "the TextCaps_0.1_<split>.json file")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("image-pattern", "image file for an image id", "train_images/%s.jpg") { Check = AdapterOption.ImagePatternCheck },
        Sample.Unanswered,
    ];

    public string DefaultTemplatePack => "caption-brief";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("captions");
        var pattern = new ImagePattern(context.Option("image-pattern") ?? "train_images/%s.jpg", string.Empty);

        // Rows of one image are consecutive in the official files: group runs, streaming.
        string? current = null;
        var captions = new List<string>();
        (int? W, int? H, string Where) info = (null, null, "data[0]");
        IEnumerable<SourceItem> Flush()
        {
            if (current is null)
            {
                yield break;
            }

            var output = captions.Count > 0 ? captions[0] : null;
            if (output is null)
            {
                Sample.NoAnswer(context, path, info.Where);
            }

            yield return SourceItem.Of(Sample.Make(
                context, Name, path, $"img{current}", "caption", [new ImageRef(pattern.Format(current)!) { Width = info.W, Height = info.H }],
                [new Turn { Output = output, RawAnswer = output }], [new("image_id", current)],
                new() { ["other_captions"] = Sample.Array(captions.Skip(1)) }));
        }

        foreach (var item in JsonElements.Read(context.Files.Open(path, context.Progress), path, JsonLayout.ArrayProperty, "data"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (item)
            {
                var where = item.Where("data");
                if (item.Error is { } error)
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.WrongType, error);
                    continue;
                }

                var e = item.Element;
                if (e.Id("image_id") is not { } imageId)
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
                    info = (e.Int("image_width"), e.Int("image_height"), where);
                }

                // Test rows carry no caption_str; reference_strs, where present, hold all of the image's captions.
                if (e.Str("caption_str") is { Length: > 0 } caption)
                {
                    captions.Add(caption.Trim());
                }
                else if (captions.Count == 0 && e.Strings("reference_strs") is { Count: > 0 } refs)
                {
                    captions.AddRange(refs.Select(r => r.Trim()));
                }
            }
        }

        foreach (var done in Flush())
        {
            yield return done;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
