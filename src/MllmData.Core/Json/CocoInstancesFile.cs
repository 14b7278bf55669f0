using System.Text.Json;

namespace MllmData.Json;

/// <summary>
/// Reads a COCO instances file (<c>instances_&lt;split&gt;.json</c>) in one streaming pass: the <c>images</c>,
/// <c>annotations</c> and <c>categories</c> arrays are handed out entry by entry, in whatever order the file holds
/// them (COCO writes the categories last, after the annotations); every other top-level value is skipped unread.
/// </summary>
public static class CocoInstancesFile
{
    private static readonly string[] Arrays = ["images", "annotations", "categories"];

    /// <summary>Calls the matching handler for each entry of the three arrays, reading the file once.</summary>
    public static void Read(
        Stream stream,
        string path,
        Action<CocoEntry<CocoImageDto>> image,
        Action<CocoEntry<CocoInstanceDto>> annotation,
        Action<CocoEntry<CocoCategoryDto>> category)
    {
        using var reader = new StreamingJsonReader(stream, path);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", "expected a JSON object with \"images\", \"annotations\" and \"categories\" arrays (a COCO instances file)");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.Text!;
            if (name is not ("images" or "annotations" or "categories"))
            {
                reader.SkipValue();
                continue;
            }

            // A second list of the same name is the reader's duplicate-key, as in every other JSON input.
            reader.Took(name);
            seen.Add(name);

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", $"\"{name}\" is not an array");
            }

            switch (name)
            {
                case "images":
                    Entries(reader, RecordParsers.CocoImage, image);
                    break;
                case "annotations":
                    Entries(reader, RecordParsers.CocoInstance, annotation);
                    break;
                default:
                    Entries(reader, RecordParsers.CocoCategory, category);
                    break;
            }
        }

        foreach (var needed in Arrays.Where(n => !seen.Contains(n)))
        {
            throw new InputDataException(path, "-", "unknown-layout", $"no top-level \"{needed}\" array: not a COCO instances file");
        }

        reader.Drain();
    }

    private static void Entries<T>(StreamingJsonReader reader, ValueParser<T> parse, Action<CocoEntry<T>> handle)
        where T : class
    {
        var index = 0;
        while (reader.TryReadValue(parse, out var dto, out var pos, out var error))
        {
            handle(new CocoEntry<T>(error is null ? dto : null, index++, pos, error) { Partial = error is null ? null : dto });
        }
    }
}
