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
            var sizes = images.ToDictionary(i => i.Id, i => (i.W, i.H), StringComparer.Ordinal);
            var categories = new Dictionary<string, string>(StringComparer.Ordinal);
            var pending = new List<(string ImageId, string CategoryId, double X, double Y, double W, double H, bool Crowd)>();
            foreach (var item in JsonElements.Read(instances, instancesPath!, JsonLayout.KeyedObject))
            {
                using (item)
                {
                    if (item.Key == "categories" && item.Element.ValueKind == System.Text.Json.JsonValueKind.Array)
                    {
                        foreach (var c in item.Element.EnumerateArray())
                        {
                            if (c.Id("id") is { } cid && c.Str("name") is { } name)
                            {
                                categories[cid] = name;
                            }
                        }
                    }
                    else if (item.Key == "annotations" && item.Element.ValueKind == System.Text.Json.JsonValueKind.Array)
                    {
                        foreach (var a in item.Element.EnumerateArray())
                        {
                            if (a.Id("image_id") is { } iid && a.Id("category_id") is { } cat && a.TryGetProperty("bbox", out var b) && b.GetArrayLength() == 4)
                            {
                                var crowd = a.TryGetProperty("iscrowd", out var c) && c.ValueKind == System.Text.Json.JsonValueKind.Number && c.GetDouble() != 0;
                                pending.Add((iid, cat, b[0].GetDouble(), b[1].GetDouble(), b[2].GetDouble(), b[3].GetDouble(), crowd));
                            }
                        }
                    }
                }
            }

            foreach (var (imageId, categoryId, x, y, w, h, crowd) in pending)
            {
                if (!sizes.TryGetValue(imageId, out var size) || size.W <= 0 || size.H <= 0)
                {
                    continue;
                }

                var box = Normalize(categories.TryGetValue(categoryId, out var n) ? n : categoryId, x, y, w, h, size.W, size.H) with { Crowd = crowd };
                (boxes.TryGetValue(imageId, out var list) ? list : boxes[imageId] = []).Add(box);
            }
        }

        return [.. images.Select(i => new ImageContext(i.Id, i.File, i.W, i.H, captionLists[i.Id], boxes.TryGetValue(i.Id, out var b) ? b : []))];
    }

    /// <summary>The annotated object categories of each image of a COCO instances file, by image file name.</summary>
    public static Dictionary<string, HashSet<string>> CategoriesByFileName(string path)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var stream = File.OpenRead(path))
        {
            foreach (var image in CocoCaptionFile.Images(stream, path))
            {
                if (image.Value is { Id: { } id, FileName: { } file })
                {
                    names[id] = file;
                }
            }
        }

        var categories = new Dictionary<string, string>(StringComparer.Ordinal);
        var pairs = new List<(string ImageId, string CategoryId)>();
        using (var stream = File.OpenRead(path))
        {
            foreach (var item in JsonElements.Read(stream, path, JsonLayout.KeyedObject))
            {
                using (item)
                {
                    if (item.Key == "categories" && item.Element.ValueKind == System.Text.Json.JsonValueKind.Array)
                    {
                        foreach (var c in item.Element.EnumerateArray())
                        {
                            if (c.Id("id") is { } cid && c.Str("name") is { } name)
                            {
                                categories[cid] = name;
                            }
                        }
                    }
                    else if (item.Key == "annotations" && item.Element.ValueKind == System.Text.Json.JsonValueKind.Array)
                    {
                        foreach (var a in item.Element.EnumerateArray())
                        {
                            if (a.Id("image_id") is { } iid && a.Id("category_id") is { } cat)
                            {
                                pairs.Add((iid, cat));
                            }
                        }
                    }
                }
            }
        }

        // Every image of the file is known, with no objects when it has no annotation.
        var result = names.Values.Distinct(StringComparer.Ordinal).ToDictionary(f => f, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (imageId, categoryId) in pairs)
        {
            if (names.TryGetValue(imageId, out var file))
            {
                result[file].Add(categories.TryGetValue(categoryId, out var n) ? n : categoryId);
            }
        }

        return result;
    }

    /// <summary>[x, y, w, h] in pixels to [x1, y1, x2, y2] as fractions of the image, clamped to 0–1, three decimals.</summary>
    public static NormalizedBox Normalize(string category, double x, double y, double w, double h, int width, int height)
    {
        static double R(double v) => Math.Round(Math.Clamp(v, 0, 1), 3, MidpointRounding.AwayFromZero);
        return new NormalizedBox(category, R(x / width), R(y / height), R((x + w) / width), R((y + h) / height));
    }
}
