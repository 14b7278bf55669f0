using MllmData.Json;

namespace MllmData.Generation;

/// <summary>Captions of a COCO captions file by image file name, for prompts that describe images in text.</summary>
public static class CocoCaptions
{
    public static Dictionary<string, List<string>> ByFileName(string path)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var stream = File.OpenRead(path))
        {
            foreach (var item in JsonElements.Read(stream, path, JsonLayout.ArrayProperty, "images"))
            {
                using (item)
                {
                    if (item.Error is null && item.Element.Id("id") is { } id && item.Element.Str("file_name") is { } file)
                    {
                        names[id] = file;
                    }
                }
            }
        }

        var captions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        using (var stream = File.OpenRead(path))
        {
            foreach (var item in JsonElements.Read(stream, path, JsonLayout.ArrayProperty, "annotations"))
            {
                using (item)
                {
                    if (item.Error is null && item.Element.Id("image_id") is { } id && names.TryGetValue(id, out var file) && item.Element.Str("caption") is { } caption)
                    {
                        (captions.TryGetValue(file, out var list) ? list : captions[file] = []).Add(caption.Trim());
                    }
                }
            }
        }

        return captions;
    }
}
