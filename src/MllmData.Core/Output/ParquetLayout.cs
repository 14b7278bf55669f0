using System.Collections;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet.Schema;

namespace MllmData.Output;

/// <summary>One column (or nested field) of a format's Parquet rows, named as the key of the format's JSON record.</summary>
public abstract record PqColumn(string Name);

/// <summary>A JSON string; absent or null reads back absent.</summary>
public sealed record PqString(string Name) : PqColumn(Name);

/// <summary>A JSON list of one fixed element shape (a Parquet LIST); absent reads back absent.</summary>
public sealed record PqList(string Name, PqColumn Element) : PqColumn(Name);

/// <summary>A JSON object of fixed keys (a Parquet STRUCT); a key absent or null in a record reads back absent.</summary>
public sealed record PqStruct(string Name, IReadOnlyList<PqColumn> Fields) : PqColumn(Name);

/// <summary>
/// A base64 string of the JSON record (M3IT's images) held as the bytes it encodes, in a binary column: Parquet writers
/// keep min/max statistics of string columns, which for megabytes of base64 would be copied into every page header and the footer.
/// </summary>
public sealed record PqBase64(string Name) : PqColumn(Name);

/// <summary>
/// A URL string (OpenAI's <c>image_url.url</c>): a base64 data URL is split into its head (<c>data:image/jpeg;base64,</c>) in
/// <paramref name="Name"/> and its bytes in the binary column <paramref name="BytesName"/>; any other URL stands whole in <paramref name="Name"/>.
/// </summary>
public sealed record PqDataUrl(string Name, string BytesName) : PqColumn(Name);

/// <summary>A JSON value whose keys vary per record (e.g. <c>meta</c>): its JSON text in a string column.</summary>
public sealed record PqJson(string Name) : PqColumn(Name);

/// <summary>
/// The record's images, always a Parquet LIST (empty for none): of path strings, or with embedded images of
/// Hugging Face <c>Image</c> structs <c>{bytes: binary, path: string}</c>. <paramref name="SingleAsString"/>: the JSON
/// shape has no key for no image, a string for one and a list for several (LLaVA's <c>image</c>).
/// </summary>
public sealed record PqImages(string Name, bool SingleAsString = false) : PqColumn(Name);

/// <summary>
/// A JSON value that is a string or a list of parts (OpenAI's message <c>content</c>): the string in <paramref name="Name"/>,
/// the parts in the LIST column <paramref name="PartsName"/>; at most one of them is set.
/// </summary>
public sealed record PqTextOrParts(string Name, string PartsName, PqStruct Part) : PqColumn(Name);

/// <summary>
/// How a format's JSON records are laid out as Parquet rows: top-level keys as columns in the format's order, fixed
/// nested shapes as LIST/STRUCT columns, varying ones as JSON text. Converts a rendered JSON line to a row and a row
/// back to the same JSON record.
/// </summary>
public sealed class ParquetLayout
{
    /// <summary>Key of the file metadata naming the format the rows are in.</summary>
    public const string FormatKey = "mllmdata.format";

    /// <summary>Key of the file metadata saying what the image column holds, <c>paths</c> or <c>embed</c> (formats with an image path column only).</summary>
    public const string ImagesKey = "mllmdata.images";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public ParquetLayout(string format, IReadOnlyList<PqColumn> columns, bool embedImages)
    {
        Format = format;
        Columns = columns;
        EmbedImages = embedImages;
        Schema = new ParquetSchema(SchemaFields());
        ImageColumn = columns.OfType<PqImages>().FirstOrDefault();
        if (embedImages && ImageColumn is null)
        {
            throw new UsageException($"--images embed --container parquet: {format} has no image path column to embed into");
        }
    }

    public string Format { get; }

    public IReadOnlyList<PqColumn> Columns { get; }

    /// <summary>Images as bytes (Hugging Face Image structs) rather than paths.</summary>
    public bool EmbedImages { get; }

    public ParquetSchema Schema { get; }

    /// <summary>The column holding image paths (or embedded images), if the format has one.</summary>
    public PqImages? ImageColumn { get; }

    /// <summary>The file metadata that lets a reader find this layout again.</summary>
    public IReadOnlyDictionary<string, string> Metadata => ImageColumnHolds is { } holds
        ? new Dictionary<string, string> { [FormatKey] = Format, [ImagesKey] = holds }
        : new Dictionary<string, string> { [FormatKey] = Format };

    /// <summary><c>paths</c> or <c>embed</c> for a format with an image path column; null for one that carries images itself (openai, m3it).</summary>
    public string? ImageColumnHolds => ImageColumn is null ? null : EmbedImages ? "embed" : "paths";

    private static IEnumerable<Field> Fields(PqColumn column) => column switch
    {
        PqTextOrParts t => [new DataField<string>(t.Name), new ListField(t.PartsName, Element(t.Part))],
        PqDataUrl u => [new DataField<string>(u.Name), new DataField<byte[]>(u.BytesName)],
        _ => [Field(column)],
    };

    private static Field Field(PqColumn column) => column switch
    {
        PqString or PqJson => new DataField<string>(column.Name),
        PqBase64 => new DataField<byte[]>(column.Name),
        PqList l => new ListField(l.Name, Element(l.Element)),
        PqStruct s => new StructField(s.Name, [.. s.Fields.SelectMany(Fields)]),
        _ => throw new InvalidOperationException($"no Parquet field for {column}"),
    };

    private static Field Element(PqColumn element) => element switch
    {
        PqStruct s => new StructField(ListField.ElementName, [.. s.Fields.SelectMany(Fields)]),
        PqString or PqJson => new DataField<string>(ListField.ElementName),
        PqBase64 => new DataField<byte[]>(ListField.ElementName),
        _ => throw new InvalidOperationException($"no list element for {element}"),
    };

    private ListField Field(PqImages images) => EmbedImages
        ? new ListField(images.Name, new StructField(ListField.ElementName, new DataField<byte[]>("bytes"), new DataField<string>("path")))
        : new ListField(images.Name, new DataField<string>(ListField.ElementName));

    /// <summary>The Parquet schema's fields, image column included.</summary>
    public IEnumerable<Field> SchemaFields() => Columns.SelectMany(c => c is PqImages i ? [Field(i)] : Fields(c));

    /// <summary>
    /// The line with its images as <c>{"bytes": base64, "path"}</c> objects in the image column (what an embedding
    /// Parquet build hands to its shards and parts): <paramref name="images"/> in the record's order, each with its bytes.
    /// </summary>
    public byte[] WithImageBytes(ReadOnlySpan<byte> line, IReadOnlyList<(string Path, byte[] Bytes)> images)
    {
        var node = JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException("a rendered record is not a JSON object");
        var name = ImageColumn!.Name;
        var list = new JsonArray();
        foreach (var (path, bytes) in images)
        {
            list.Add(new JsonObject { ["bytes"] = Convert.ToBase64String(bytes), ["path"] = path });
        }

        // Keep the key's place in the record.
        var copy = new JsonObject();
        var placed = false;
        foreach (var (key, value) in node.ToList())
        {
            node.Remove(key);
            if (key == name)
            {
                copy[key] = list;
                placed = true;
            }
            else
            {
                copy[key] = value;
            }
        }

        if (!placed)
        {
            copy[name] = list;
        }

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            copy.WriteTo(w);
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>One row from a JSON record, and its size (string and binary bytes) for row-group and shard bounds.</summary>
    public (Dictionary<string, object?> Row, long Bytes) ToRow(JsonElement record)
    {
        long bytes = 0;
        var row = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var column in Columns)
        {
            Put(row, column, record.TryGetProperty(column.Name, out var v) ? v : default, ref bytes);
        }

        return (row, bytes);
    }

    private void Put(Dictionary<string, object?> target, PqColumn column, JsonElement value, ref long bytes)
    {
        var present = value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
        switch (column)
        {
            case PqString s:
                target[s.Name] = present ? Text(value.GetString()!, ref bytes) : null;
                break;
            case PqBase64 b:
                target[b.Name] = present ? Binary(value.GetBytesFromBase64(), ref bytes) : null;
                break;
            case PqDataUrl u:
                var url = present ? value.GetString()! : null;
                var comma = url is not null && url.StartsWith("data:", StringComparison.Ordinal) ? url.IndexOf(";base64,", StringComparison.Ordinal) : -1;
                if (comma > 0)
                {
                    var head = url![..(comma + ";base64,".Length)];
                    target[u.Name] = Text(head, ref bytes);
                    target[u.BytesName] = Binary(Convert.FromBase64String(url[head.Length..]), ref bytes);
                }
                else
                {
                    target[u.Name] = url is null ? null : Text(url, ref bytes);
                    target[u.BytesName] = null;
                }

                break;
            case PqJson j:
                target[j.Name] = present ? Text(value.GetRawText(), ref bytes) : null;
                break;
            case PqList l:
                target[l.Name] = present ? ListOf(l.Element, value, ref bytes) : null;
                break;
            case PqStruct s:
                target[s.Name] = present ? StructOf(s, value, ref bytes) : null;
                break;
            case PqTextOrParts t:
                target[t.Name] = value.ValueKind == JsonValueKind.String ? Text(value.GetString()!, ref bytes) : null;
                target[t.PartsName] = value.ValueKind == JsonValueKind.Array ? ListOf(t.Part, value, ref bytes) : null;
                break;
            case PqImages i:
                target[i.Name] = ImagesOf(value, ref bytes);
                break;
        }
    }

    private static ReadOnlyMemory<byte> Binary(byte[] data, ref long bytes)
    {
        bytes += data.Length;
        return data;
    }

    private static string Text(string s, ref long bytes)
    {
        bytes += Encoding.UTF8.GetByteCount(s);
        return s;
    }

    /// <summary>A list as the untyped serializer takes it: of character memory for strings, of dictionaries for structs.</summary>
    private object ListOf(PqColumn element, JsonElement array, ref long bytes)
    {
        if (element is PqStruct s)
        {
            var structs = new List<IDictionary<string, object?>>(array.GetArrayLength());
            foreach (var item in array.EnumerateArray())
            {
                structs.Add(StructOf(s, item, ref bytes));
            }

            return structs;
        }

        if (element is PqBase64)
        {
            var binaries = new List<ReadOnlyMemory<byte>?>(array.GetArrayLength());
            foreach (var item in array.EnumerateArray())
            {
                binaries.Add(item.ValueKind == JsonValueKind.Null ? null : Binary(item.GetBytesFromBase64(), ref bytes));
            }

            return binaries;
        }

        var strings = new List<ReadOnlyMemory<char>?>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            strings.Add(element switch
            {
                PqString => item.ValueKind == JsonValueKind.Null ? null : Text(item.GetString()!, ref bytes).AsMemory(),
                PqJson => Text(item.GetRawText(), ref bytes).AsMemory(),
                _ => throw new InvalidOperationException($"no list element for {element}"),
            });
        }

        return strings;
    }

    private Dictionary<string, object?> StructOf(PqStruct shape, JsonElement obj, ref long bytes)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var f in shape.Fields)
        {
            Put(d, f, obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(f.Name, out var v) ? v : default, ref bytes);
        }

        return d;
    }

    private object ImagesOf(JsonElement value, ref long bytes)
    {
        var items = value.ValueKind switch
        {
            JsonValueKind.Array => [.. value.EnumerateArray()],
            JsonValueKind.String or JsonValueKind.Object => [value],
            _ => new List<JsonElement>(),
        };
        if (!EmbedImages)
        {
            var paths = new List<ReadOnlyMemory<char>?>(items.Count);
            foreach (var item in items)
            {
                paths.Add(Text(item.GetString()!, ref bytes).AsMemory());
            }

            return paths;
        }

        var list = new List<IDictionary<string, object?>>(items.Count);
        foreach (var item in items)
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("bytes", out var b) || b.ValueKind != JsonValueKind.String)
            {
                throw new InvalidOperationException("an embedding Parquet build got an image without its bytes");
            }

            var data = b.GetBytesFromBase64();
            bytes += data.Length;
            list.Add(new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["bytes"] = new ReadOnlyMemory<byte>(data),
                ["path"] = item.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? Text(p.GetString()!, ref bytes) : null,
            });
        }

        return list;
    }

    /// <summary>
    /// The format's JSON record from a row, keys in the layout's order, absent ones left out; with
    /// <paramref name="images"/> the embedded images' paths and bytes in the record's order.
    /// </summary>
    public JsonObject FromRow(IDictionary<string, object?> row, List<(string? Path, byte[]? Bytes)>? images = null)
    {
        var o = new JsonObject();
        foreach (var column in Columns)
        {
            Get(o, column, row, images);
        }

        return o;
    }

    private static object? Value(IDictionary<string, object?> row, string key) => row.TryGetValue(key, out var v) ? v : null;

    private void Get(JsonObject target, PqColumn column, IDictionary<string, object?> row, List<(string? Path, byte[]? Bytes)>? images)
    {
        switch (column)
        {
            case PqString s when Value(row, s.Name) is { } v:
                target[s.Name] = StringOf(v);
                break;
            case PqBase64 b when Value(row, b.Name) is { } v:
                target[b.Name] = Convert.ToBase64String(BytesOf(v)!);
                break;
            case PqDataUrl u when Value(row, u.Name) is { } head:
                target[u.Name] = Value(row, u.BytesName) is { } data ? StringOf(head) + Convert.ToBase64String(BytesOf(data)!) : StringOf(head);
                break;
            case PqJson j when Value(row, j.Name) is { } v:
                target[j.Name] = JsonNode.Parse(StringOf(v));
                break;
            case PqList l when Value(row, l.Name) is IEnumerable v:
                target[l.Name] = ArrayOf(l.Element, v);
                break;
            case PqStruct s when Value(row, s.Name) is IDictionary<string, object?> v:
                target[s.Name] = ObjectOf(s, v);
                break;
            case PqTextOrParts t:
                if (Value(row, t.Name) is { } text)
                {
                    target[t.Name] = StringOf(text);
                }
                else if (Value(row, t.PartsName) is IEnumerable parts)
                {
                    target[t.Name] = ArrayOf(t.Part, parts);
                }

                break;
            case PqImages i:
                var paths = new List<string>();
                foreach (var item in Items(Value(row, i.Name) as IEnumerable))
                {
                    if (EmbedImages)
                    {
                        var d = (IDictionary<string, object?>)item!;
                        var path = Value(d, "path") is { } p ? StringOf(p) : null;
                        paths.Add(path ?? string.Empty);
                        images?.Add((path, BytesOf(Value(d, "bytes"))));
                    }
                    else
                    {
                        paths.Add(StringOf(item!));
                    }
                }

                if (!i.SingleAsString)
                {
                    target[i.Name] = new JsonArray([.. paths.Select(p => (JsonNode?)p)]);
                }
                else if (paths.Count == 1)
                {
                    target[i.Name] = paths[0];
                }
                else if (paths.Count > 1)
                {
                    target[i.Name] = new JsonArray([.. paths.Select(p => (JsonNode?)p)]);
                }

                break;
        }
    }

    /// <summary>
    /// The items of a list as read back. Parquet.Net's untyped reader gives a list of strings as one-item lists
    /// (<c>[["a"],["b"]]</c>): those are flattened; structs stay whole.
    /// </summary>
    private static IEnumerable<object?> Items(IEnumerable? list)
    {
        if (list is null)
        {
            yield break;
        }

        foreach (var item in list)
        {
            if (item is IEnumerable inner and not string and not IDictionary<string, object?> and not byte[])
            {
                foreach (var x in Items(inner))
                {
                    yield return x;
                }
            }
            else
            {
                yield return item;
            }
        }
    }

    private JsonArray ArrayOf(PqColumn element, IEnumerable list)
    {
        var a = new JsonArray();
        foreach (var item in Items(list))
        {
            a.Add(element switch
            {
                PqString => item is null ? null : (JsonNode)StringOf(item),
                PqBase64 => item is null ? null : (JsonNode)Convert.ToBase64String(BytesOf(item)!),
                PqJson => item is null ? null : JsonNode.Parse(StringOf(item)),
                PqStruct s => item is IDictionary<string, object?> d ? ObjectOf(s, d) : null,
                _ => throw new InvalidOperationException($"no list element for {element}"),
            });
        }

        return a;
    }

    private JsonObject ObjectOf(PqStruct shape, IDictionary<string, object?> d)
    {
        var o = new JsonObject();
        foreach (var f in shape.Fields)
        {
            Get(o, f, d, null);
        }

        return o;
    }

    private static string StringOf(object v) => v switch
    {
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        _ => v.ToString() ?? string.Empty,
    };

    private static byte[]? BytesOf(object? v) => v switch
    {
        null => null,
        byte[] b => b,
        ReadOnlyMemory<byte> m => m.ToArray(),
        _ => throw new InvalidOperationException($"image bytes read back as {v.GetType().Name}"),
    };
}
