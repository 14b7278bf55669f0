using System.Globalization;
using System.Text.Json;

namespace MllmData.Json;

/// <summary>One entry of a COCO-style file's <c>images</c> or <c>annotations</c> array, or why it could not be read.</summary>
public sealed record CocoEntry<T>(T? Value, int Index, long Position, string? Error)
{
    /// <summary>
    /// What could be read of an entry that has an <see cref="Error"/> (its other fields; null when it is no object or its
    /// text is unreadable): a rejected object annotation may still say which image holds an object of which category.
    /// </summary>
    public T? Partial { get; init; }

    /// <summary>Position text for rejects: <c>images[3] (byte 120)</c>.</summary>
    public string Where(string array) => string.Create(CultureInfo.InvariantCulture, $"{array}[{Index}] (byte {Position})");
}

/// <summary>
/// The one reader of COCO-style caption files (COCO Captions, NoCaps, the captions given to rewrite and
/// self-instruct): each top-level array streams on its own, so the file is read once per array, whichever comes first.
/// </summary>
public static class CocoCaptionFile
{
    /// <summary>The entries of the <c>images</c> array.</summary>
    public static IEnumerable<CocoEntry<CocoImageDto>> Images(Stream stream, string path) => Entries<CocoImageDto>(stream, path, "images", RecordParsers.CocoImage);

    /// <summary>The entries of the <c>annotations</c> array; with <paramref name="optional"/>, none when the array is absent (NoCaps test files).</summary>
    public static IEnumerable<CocoEntry<CocoCaptionDto>> Captions(Stream stream, string path, bool optional = false) => Entries<CocoCaptionDto>(stream, path, "annotations", RecordParsers.CocoCaption, optional);

    /// <summary>Captions by image file name (trimmed, in file order), for prompts that describe images in text.</summary>
    public static Dictionary<string, List<string>> ByFileName(string path)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var stream = File.OpenRead(path))
        {
            foreach (var image in Images(stream, path))
            {
                if (image.Value is { Id: { } id, FileName: { } file })
                {
                    names[id] = file;
                }
            }
        }

        var captions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        using (var stream = File.OpenRead(path))
        {
            foreach (var c in Captions(stream, path))
            {
                if (c.Value is { ImageId: { } id, Caption: { } caption } && names.TryGetValue(id, out var file))
                {
                    (captions.TryGetValue(file, out var list) ? list : captions[file] = []).Add(caption.Trim());
                }
            }
        }

        return captions;
    }

    private static IEnumerable<CocoEntry<T>> Entries<T>(Stream stream, string path, string name, ValueParser<T> parse, bool optional = false)
        where T : class
    {
        using var reader = OpenArray(stream, path, name, optional);
        if (reader is null)
        {
            yield break;
        }

        var index = 0;
        while (reader.TryReadValue(parse, out var dto, out var pos, out var error))
        {
            yield return new CocoEntry<T>(error is null ? dto : null, index++, pos, error);
        }

        reader.Drain();
    }

    private static StreamingJsonReader? OpenArray(Stream stream, string path, string name, bool optional)
    {
        var reader = new StreamingJsonReader(stream, path);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", "expected a JSON object with \"images\" and \"annotations\" arrays");
            }

            if (!reader.SeekProperty(name, 1))
            {
                if (optional)
                {
                    reader.Dispose();
                    return null;
                }

                throw new InputDataException(path, "-", "unknown-layout", $"no top-level \"{name}\" array: not a COCO-style captions file");
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", $"\"{name}\" is not an array");
            }

            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }
}
