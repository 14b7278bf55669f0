using System.Runtime.CompilerServices;
using System.Text.Json;
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

            var e = item.Element;
            if (e.Str("split") is not { } split || !splits.Contains(split))
            {
                continue;
            }

            var filename = e.Str("filename");
            var imgid = e.Id("imgid") ?? e.Id("cocoid") ?? filename;
            var written = e.TryGetProperty("sentences", out var s) && s.ValueKind == JsonValueKind.Array
                ? s.EnumerateArray().Select(x => (Id: x.Id("sentid"), Raw: x.Str("raw")?.Trim())).Where(x => x.Raw is not null).ToList()
                : [];
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

            var image = new ImageRef(e.Str("filepath") is { Length: > 0 } folder ? $"{folder}/{filename}" : filename);
            var ids = new List<KeyValuePair<string, string>> { new("imgid", imgid!) };
            if (e.Id("cocoid") is { } cocoid)
            {
                ids.Add(new("cocoid", cocoid));
            }

            if (perImage)
            {
                yield return SourceItem.Of(Sample.Make(
                    context, Name, path, $"img{imgid}", "caption", [image], [new Turn { Output = sentences[0].Raw, RawAnswer = sentences[0].Raw }], ids,
                    new() { ["split"] = split, ["other_captions"] = Sample.Array(sentences.Skip(1).Select(x => x.Raw!)) }));
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
