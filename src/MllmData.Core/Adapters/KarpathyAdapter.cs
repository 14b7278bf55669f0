using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>Karpathy splits (<c>dataset_{coco,flickr8k,flickr30k}.json</c>): captions by split, including <c>restval</c>.</summary>
public sealed class KarpathyAdapter : ISourceAdapter
{
    public string Name => "karpathy";

    public string Description => "Karpathy splits (dataset_{coco,flickr8k,flickr30k}.json: images[{filepath?, filename, imgid, split, sentences[{raw}]}])";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("dataset", true, "dataset_coco.json, dataset_flickr8k.json or dataset_flickr30k.json")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("splits", "comma-separated splits to keep: train, val, test, restval (LLaVA-style training uses train,restval)", "train,restval") { Allowed = ["train", "val", "test", "restval"], List = true },
        new("per-image", "one record per image (first sentence as the output, the others in provenance) instead of one per sentence", "false") { Allowed = AdapterOption.FlagValues },
    ];

    public string DefaultTemplatePack => "caption-brief";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("dataset");
        var splits = (context.Option("splits") ?? "train,restval").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var perImage = context.Flag("per-image");
        foreach (var (item, where, notObject) in Sample.Elements(context, path, JsonLayout.ArrayProperty, "images", cancellationToken))
        {
            if (notObject is { } wrongType)
            {
                yield return wrongType;
                continue;
            }

            // A field of another kind is wrong-type, not absent: a numeric split would drop the image unseen, a numeric
            // sentence would lose a caption, a numeric filepath would move the image.
            var f = new RecordFields(item.Element);
            var split = f.Text("split");
            if (f.Wrong is null && (split is null || !splits.Contains(split)))
            {
                continue;
            }

            var filename = f.Text("filename");
            var (imgidGiven, cocoid) = (f.Id("imgid"), f.Id("cocoid"));
            var folder = f.Text("filepath");
            var written = new List<(string? Id, string? Raw)>();
            foreach (var (sentence, k) in (f.Objects("sentences") ?? []).Select((x, k) => (x, k)))
            {
                var one = new RecordFields(sentence);
                var (sentId, raw) = (one.Id("sentid"), one.Text("raw"));
                if (one.Wrong is { } bad)
                {
                    f.Fail(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\"sentences\"[{k}]: {bad}"));
                }
                else if (raw is not null)
                {
                    written.Add((sentId, raw.Trim()));
                }
            }

            if (f.Wrong is { } wrong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                continue;
            }

            var imgid = imgidGiven ?? cocoid ?? filename;
            var sentences = written.Where(x => !TextCheck.IsBlank(x.Raw)).ToList();
            if (filename is not null && written.Count > 0 && sentences.Count == 0)
            {
                // Sentences are there but show nothing: an empty answer, as TextCaps and NoCaps say it, not a missing field.
                yield return Sample.BlankCaptions(context, path, where, written.Count, imgid!);
                continue;
            }

            if (filename is null || sentences.Count == 0)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, filename is null ? "no \"filename\"" : "no sentences with \"raw\" text");
                continue;
            }

            var image = new ImageRef(folder is { Length: > 0 } ? $"{folder}/{filename}" : filename);
            var ids = new List<KeyValuePair<string, string>> { new("imgid", imgid!) };
            if (cocoid is not null)
            {
                ids.Add(new("cocoid", cocoid));
            }

            if (perImage)
            {
                yield return SourceItem.Of(Sample.Make(
                    context, Name, path, $"img{imgid}", "caption", [image], [new Turn { Output = sentences[0].Raw, RawAnswer = sentences[0].Raw }], ids,
                    new() { ["split"] = split!, ["other_captions"] = Sample.Array(sentences.Skip(1).Select(x => x.Raw!)) }));
                continue;
            }

            for (var k = 0; k < sentences.Count; k++)
            {
                var sentId = sentences[k].Id ?? $"{imgid}_{k}";
                yield return SourceItem.Of(Sample.Make(
                    context, Name, path, $"s{sentId}", "caption", [image], [new Turn { Output = sentences[k].Raw, RawAnswer = sentences[k].Raw }],
                    [.. ids, new("sentid", sentId)], new() { ["split"] = split }));
            }
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
