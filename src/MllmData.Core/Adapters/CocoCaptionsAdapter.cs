using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>COCO Captions (<c>captions_&lt;split&gt;.json</c>): one record per caption, or one per image.</summary>
/// <remarks>
/// The file is read twice, streaming each time: first the <c>images</c> array (file names and sizes, a
/// few dozen bytes per image), then the <c>annotations</c> array. That works whichever array comes first.
/// </remarks>
public class CocoCaptionsAdapter : ISourceAdapter
{
    public virtual string Name => "coco-captions";

    public virtual string Description => "COCO Captions (captions_<split>.json: images[] + annotations[{image_id, caption}])";

    public IReadOnlyList<AdapterInput> Inputs { get; } =
    [
        new("captions", true, "the captions file: {images:[{id, file_name, width, height}], annotations:[{id, image_id, caption}]}"),
    ];

    public virtual IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("per-image", "one record per image (first caption as the output, the others in provenance) instead of one per caption", "false") { Allowed = AdapterOption.FlagValues },
    ];

    public string DefaultTemplatePack => "caption-brief";

    private sealed record ImageInfo(string FileName, int? Width, int? Height, int Index);

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("captions");
        var perImage = context.Flag("per-image");
        var rejects = new List<SourceItem>();
        var images = ReadImages(context, path, rejects);
        foreach (var r in rejects)
        {
            yield return r;
        }

        rejects.Clear();
        var byImage = perImage ? new Dictionary<string, List<(string Id, string Caption)>>(StringComparer.Ordinal) : null;
        foreach (var entry in CocoCaptionFile.Captions(context.Files.Open(path, context.Progress), path))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var at = entry.Where("annotations");
            if (entry.Error is { } error)
            {
                yield return Rejected(context, path, at, Sample.ReasonOf(error), error);
                continue;
            }

            var dto = entry.Value;

            if (dto!.ImageId is null || dto.Caption is null || dto.Id is null)
            {
                var missing = dto.Id is null ? "id" : dto.ImageId is null ? "image_id" : "caption";
                yield return Rejected(context, path, at, RejectReasons.MissingField, $"no \"{missing}\"");
                continue;
            }

            if (!images.TryGetValue(dto.ImageId, out var image))
            {
                yield return Rejected(context, path, at, RejectReasons.UnknownImage, $"image_id {dto.ImageId} is not in \"images\"");
                continue;
            }

            var caption = dto.Caption.Trim();
            if (TextCheck.IsBlank(caption))
            {
                yield return Rejected(context, path, at, RejectReasons.EmptyAnswer, "empty caption");
                continue;
            }

            if (byImage is not null)
            {
                if (!byImage.TryGetValue(dto.ImageId, out var list))
                {
                    byImage[dto.ImageId] = list = [];
                }

                list.Add((dto.Id, caption));
                continue;
            }

            yield return SourceItem.Of(new InstructionRecord
            {
                Id = $"{context.SourceName}-c{dto.Id}",
                Source = context.SourceName,
                Task = "caption",
                Images = [Image(image)],
                Turns = [new Turn { Output = caption, RawAnswer = dto.Caption }],
                Provenance = new Provenance
                {
                    Adapter = Name,
                    File = path,
                    Ids = [new("annotation_id", dto.Id), new("image_id", dto.ImageId)],
                },
            });
        }

        if (byImage is null)
        {
            yield break;
        }

        // Per-image records come out in the order of the images array, so output does not depend on annotation order.
        foreach (var (imageId, image) in images.OrderBy(kv => kv.Value.Index))
        {
            if (!byImage.TryGetValue(imageId, out var captions))
            {
                continue;
            }

            var extra = new JsonObject
            {
                ["annotation_ids"] = new JsonArray([.. captions.Select(c => (JsonNode?)JsonValue.Create(c.Id))]),
                ["other_captions"] = new JsonArray([.. captions.Skip(1).Select(c => (JsonNode?)JsonValue.Create(c.Caption))]),
            };
            yield return SourceItem.Of(new InstructionRecord
            {
                Id = $"{context.SourceName}-img{imageId}",
                Source = context.SourceName,
                Task = "caption",
                Images = [Image(image)],
                Turns = [new Turn { Output = captions[0].Caption, RawAnswer = captions[0].Caption }],
                Provenance = new Provenance { Adapter = Name, File = path, Ids = [new("image_id", imageId)], Extra = extra },
            });
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static ImageRef Image(ImageInfo info) => new(info.FileName) { Width = info.Width, Height = info.Height };

    private static SourceItem Rejected(SourceContext context, string file, string position, string reason, string detail) =>
        SourceItem.Rejected(new Reject(context.SourceName, file, position, reason, detail));

    private Dictionary<string, ImageInfo> ReadImages(SourceContext context, string path, List<SourceItem> rejects)
    {
        var images = new Dictionary<string, ImageInfo>(StringComparer.Ordinal);
        foreach (var entry in CocoCaptionFile.Images(context.Files.Open(path, context.Progress), path))
        {
            var at = entry.Where("images");
            if (entry.Error is { } error)
            {
                rejects.Add(Rejected(context, path, at, Sample.ReasonOf(error), error));
            }
            else if (entry.Value!.Id is not { } id || string.IsNullOrEmpty(entry.Value.FileName))
            {
                rejects.Add(Rejected(context, path, at, RejectReasons.MissingField, entry.Value.Id is null ? "no \"id\"" : "no \"file_name\""));
            }
            else if (!images.TryAdd(id, new ImageInfo(entry.Value.FileName, entry.Value.Width, entry.Value.Height, entry.Index)))
            {
                rejects.Add(Rejected(context, path, at, RejectReasons.DuplicateId, $"image id {id} appears twice"));
            }
        }

        return images;
    }
}
