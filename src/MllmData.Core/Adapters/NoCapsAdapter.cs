using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>
/// NoCaps (COCO-style <c>nocaps_&lt;split&gt;_image_info.json</c> / captions file): images carry <c>domain</c>
/// and <c>open_images_id</c>; one record per image (or with <c>--per-caption</c> one per caption), filtered by
/// domain. Test captions are withheld.
/// </summary>
public sealed class NoCapsAdapter : ISourceAdapter
{
    public string Name => "nocaps";

    public string Description => "NoCaps (COCO-style: images[{id, file_name, open_images_id, domain}], annotations[{image_id, caption}] except for test)";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("captions", true, "the NoCaps captions / image-info file")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("domain", "comma-separated domains to keep: in-domain, near-domain, out-domain (default all)", null) { Allowed = ["in-domain", "near-domain", "out-domain"], List = true },
        new("per-caption", "one record per reference caption instead of one per image", "false") { Allowed = AdapterOption.FlagValues },
        Sample.Unanswered,
    ];

    public string DefaultTemplatePack => "caption-brief";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("captions");
        var perCaption = context.Flag("per-caption");
        var domains = context.Option("domain")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var images = new List<(string Id, string File, string? Domain, string? OpenImagesId, int? W, int? H, string Where)>();
        foreach (var entry in CocoCaptionFile.Images(context.Files.Open(path, context.Progress), path))
        {
            var where = entry.Where("images");
            if (entry.Error is { } error)
            {
                yield return Sample.Reject(context, path, where, Sample.ReasonOf(error), error);
                continue;
            }

            if (entry.Value!.Id is not { } id || entry.Value.FileName is not { } file)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, "no \"id\" or \"file_name\"");
                continue;
            }

            var domain = entry.Value.Domain;
            if (domains is null || (domain is not null && domains.Contains(domain)))
            {
                images.Add((id, file, domain, entry.Value.OpenImagesId, entry.Value.Width, entry.Value.Height, where));
            }
        }

        // The annotations array is absent from test files; read it only if it is there.
        var captions = new Dictionary<string, List<(string? Id, string Text)>>(StringComparer.Ordinal);
        var wanted = images.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var blank = new Dictionary<string, int>(StringComparer.Ordinal);
        var unreadable = 0;
        foreach (var c in CocoCaptionFile.Captions(context.Files.Open(path, context.Progress), path, optional: true))
        {
            if (c.Error is { } error)
            {
                // A caption that cannot be read (a key twice, a wrong type) is its own reject; its image keeps its other captions.
                yield return Sample.Reject(context, path, c.Where("annotations"), Sample.ReasonOf(error), error);
                unreadable++;
                continue;
            }

            if (c.Value is { ImageId: { } imageId, Caption: { } caption } && wanted.Contains(imageId))
            {
                if (TextCheck.IsBlank(caption))
                {
                    blank[imageId] = blank.GetValueOrDefault(imageId) + 1;
                    continue;
                }

                (captions.TryGetValue(imageId, out var list) ? list : captions[imageId] = []).Add((c.Value.Id, caption.Trim()));
            }
        }

        foreach (var info in images)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var list = captions.TryGetValue(info.Id, out var l) ? l : [];
            if (list.Count == 0 && blank.TryGetValue(info.Id, out var blanks))
            {
                yield return Sample.BlankCaptions(context, path, info.Where, blanks, info.Id);
                continue;
            }

            if (list.Count == 0 && unreadable > 0)
            {
                // Not a test split: the file has captions, and the ones that could not be read may have been this image's.
                yield return Sample.Reject(context, path, info.Where, RejectReasons.EmptyAnswer, $"image {info.Id} has no readable caption ({unreadable} caption(s) of the file were rejected)");
                continue;
            }

            if (list.Count == 0)
            {
                Sample.NoAnswer(context, path, info.Where);
            }

            var image = new ImageRef(info.File) { Width = info.W, Height = info.H };
            if (perCaption && list.Count > 0)
            {
                for (var k = 0; k < list.Count; k++)
                {
                    var (captionId, text) = list[k];
                    yield return SourceItem.Of(Sample.Make(
                        context, Name, path, captionId is null ? $"img{info.Id}-{k}" : $"c{captionId}", "caption", [image],
                        [new Turn { Output = text, RawAnswer = text }],
                        [new("image_id", info.Id), new("open_images_id", info.OpenImagesId ?? string.Empty), .. (captionId is null ? Array.Empty<KeyValuePair<string, string>>() : [new("annotation_id", captionId)])],
                        new() { ["domain"] = info.Domain }));
                }

                continue;
            }

            var output = list.Count > 0 ? list[0].Text : null;
            yield return SourceItem.Of(Sample.Make(
                context, Name, path, $"img{info.Id}", "caption", [image],
                [new Turn { Output = output, RawAnswer = output }],
                [new("image_id", info.Id), new("open_images_id", info.OpenImagesId ?? string.Empty)],
                new() { ["domain"] = info.Domain, ["other_captions"] = Sample.Array(list.Skip(1).Select(c => c.Text)) }));
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
