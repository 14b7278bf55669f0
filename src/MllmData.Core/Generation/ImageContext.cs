using System.Globalization;
using System.Text;
using MllmData.Json;

namespace MllmData.Generation;

/// <summary>An object of an image with its box normalised to 0–1 as [x1, y1, x2, y2].</summary>
public sealed record NormalizedBox(string Category, double X1, double Y1, double X2, double Y2)
{
    /// <summary>A COCO crowd annotation (<c>iscrowd</c> 1): one box around many objects of the category.</summary>
    public bool Crowd { get; init; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Category}: [{X1:0.000}, {Y1:0.000}, {X2:0.000}, {Y2:0.000}]");
}

/// <summary>The symbolic image a text-only model is given: captions plus objects with normalised boxes.</summary>
public sealed record ImageContext(string ImageId, string FileName, int Width, int Height, IReadOnlyList<string> Captions, IReadOnlyList<NormalizedBox> Objects)
{
    public string Render()
    {
        var sb = new StringBuilder("Captions:\n");
        foreach (var c in Captions)
        {
            sb.Append("- ").Append(c).Append('\n');
        }

        if (Objects.Count > 0)
        {
            sb.Append("Objects:\n");
            foreach (var o in Objects)
            {
                sb.Append(o).Append('\n');
            }
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>
    /// Contexts from a COCO captions file and, optionally, its instances file (boxes [x, y, w, h] in pixels,
    /// turned into [x1, y1, x2, y2] / image size, three decimals). Images come in the captions file's order.
    /// </summary>
    public static List<ImageContext> FromCoco(Stream captions, string captionsPath, Func<Stream>? openCaptionsAgain, Stream? instances, string? instancesPath)
    {
        var images = new List<(string Id, string File, int W, int H)>();
        var captionLists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var entry in CocoCaptionFile.Images(captions, captionsPath))
        {
            if (entry.Value is { Id: { } id, FileName: { } file })
            {
                images.Add((id, file, entry.Value.Width ?? 0, entry.Value.Height ?? 0));
                captionLists[id] = [];
            }
        }

        if (openCaptionsAgain is not null)
        {
            foreach (var c in CocoCaptionFile.Captions(openCaptionsAgain(), captionsPath))
            {
                if (c.Value is { ImageId: { } id, Caption: { } text } && captionLists.TryGetValue(id, out var list))
                {
                    list.Add(text.Trim());
                }
            }
        }

        var boxes = new Dictionary<string, List<NormalizedBox>>(StringComparer.Ordinal);
        if (instances is not null)
        {
            // The instances file's own streaming reader: an annotation whose box is not four numbers, or whose category the
            // file does not name, has no place in the context and is left out (the box-less one is still an object of
            // the image for the hallucination check, which reads categories alone).
            var sizes = images.ToDictionary(i => i.Id, i => (i.W, i.H), StringComparer.Ordinal);
            var categories = new Dictionary<string, string>(StringComparer.Ordinal);
            var pending = new List<(string ImageId, string CategoryId, double[] Box, bool Crowd)>();
            CocoInstancesFile.Read(
                instances,
                instancesPath!,
                _ => { },
                a =>
                {
                    if (a.Value is { ImageId: { } iid, CategoryId: { } cat, Bbox: { } box } dto)
                    {
                        pending.Add((iid, cat, box, dto.IsCrowd));
                    }
                },
                c => AddCategory(categories, c.Value));

            foreach (var (imageId, categoryId, b, crowd) in pending)
            {
                if (!sizes.TryGetValue(imageId, out var size) || size.W <= 0 || size.H <= 0 || !categories.TryGetValue(categoryId, out var name))
                {
                    continue;
                }

                var box = Normalize(name, b[0], b[1], b[2], b[3], size.W, size.H) with { Crowd = crowd };
                (boxes.TryGetValue(imageId, out var list) ? list : boxes[imageId] = []).Add(box);
            }
        }

        return [.. images.Select(i => new ImageContext(i.Id, i.File, i.W, i.H, captionLists[i.Id], boxes.TryGetValue(i.Id, out var b) ? b : []))];
    }

    /// <summary>
    /// The annotated object categories of each image of a COCO instances file, by image file name, in one streaming
    /// pass. Every image of the file is there (with no objects when it has no annotation); an annotation counts
    /// whatever its box, and one whose category the file does not name is left out.
    /// </summary>
    public static Dictionary<string, HashSet<string>> CategoriesByFileName(string path)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var categories = new Dictionary<string, string>(StringComparer.Ordinal);
        var pairs = new List<(string ImageId, string CategoryId)>();
        using (var stream = File.OpenRead(path))
        {
            CocoInstancesFile.Read(
                stream,
                path,
                image =>
                {
                    if (image.Value is { Id: { } id, FileName: { Length: > 0 } file })
                    {
                        names.TryAdd(id, file);
                    }
                },
                a =>
                {
                    if (a.Value is { ImageId: { } iid, CategoryId: { } cat })
                    {
                        pairs.Add((iid, cat));
                    }
                },
                c => AddCategory(categories, c.Value));
        }

        var result = names.Values.Distinct(StringComparer.Ordinal).ToDictionary(f => f, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (imageId, categoryId) in pairs)
        {
            if (names.TryGetValue(imageId, out var file) && categories.TryGetValue(categoryId, out var name))
            {
                result[file].Add(name);
            }
        }

        return result;
    }

    /// <summary>A category with an id and a name that is not blank; the first of a repeated id wins.</summary>
    private static void AddCategory(Dictionary<string, string> categories, CocoCategoryDto? c)
    {
        if (c is { Id: { } id, Name: { } name } && !TextCheck.IsBlank(name))
        {
            categories.TryAdd(id, name.Trim());
        }
    }

    /// <summary>[x, y, w, h] in pixels to [x1, y1, x2, y2] as fractions of the image, clamped to 0–1, three decimals.</summary>
    public static NormalizedBox Normalize(string category, double x, double y, double w, double h, int width, int height)
    {
        static double R(double v) => Math.Round(Math.Clamp(v, 0, 1), 3, MidpointRounding.AwayFromZero);
        return new NormalizedBox(category, R(x / width), R(y / height), R((x + w) / width), R((y + h) / height));
    }
}
