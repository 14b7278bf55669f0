using System.Globalization;
using System.Text.Json;

namespace MllmData.Json;

/// <summary>Where the records of a benchmark file sit.</summary>
public enum JsonLayout
{
    /// <summary>The file is a JSON list of records.</summary>
    TopLevelArray,

    /// <summary>The records are an array under a top-level property, e.g. <c>{"data": [...]}</c>.</summary>
    ArrayProperty,

    /// <summary>The file is an object whose values are the records, keyed by id, e.g. GQA and ScienceQA.</summary>
    KeyedObject,
}

/// <summary>One record of a file: parsed (or the reason it is not), where it is, and its key in a keyed object.</summary>
public sealed class JsonItem(JsonDocument? document, string? key, int index, long position, string? error) : IDisposable
{
    public JsonElement Element => document!.RootElement;

    public bool IsObject => document is not null && document.RootElement.ValueKind == JsonValueKind.Object;

    /// <summary>Whether the value was parsed (it was not when a key is written twice in it, or its text is unreadable).</summary>
    public bool Parsed => document is not null;

    public string? Key => key;

    /// <summary>The key of a keyed layout that an earlier record of the object already had (the item holds no value).</summary>
    public bool DuplicateKey { get; init; }

    public int Index => index;

    public long Position => position;

    public string? Error => error ?? (IsObject ? null : "not a JSON object");

    /// <summary>Position text for rejects: <c>data[3] (byte 120)</c> or <c>["n123"] (byte 120)</c>.</summary>
    public string Where(string arrayName) => key is null
        ? string.Create(CultureInfo.InvariantCulture, $"{arrayName}[{index}] (byte {position})")
        : string.Create(CultureInfo.InvariantCulture, $"[\"{key}\"] (byte {position})");

    public void Dispose() => document?.Dispose();
}

/// <summary>Streams the records of a JSON benchmark file one parsed element at a time.</summary>
public static class JsonElements
{
    public static IEnumerable<JsonItem> Read(Stream stream, string path, JsonLayout layout, string? arrayProperty = null)
    {
        using var reader = new StreamingJsonReader(stream, path);
        if (!reader.Read())
        {
            throw new InputDataException(path, "byte 0", "unknown-layout", "the file is empty");
        }

        switch (layout)
        {
            case JsonLayout.TopLevelArray when reader.TokenType != JsonTokenType.StartArray:
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", "expected a JSON list of records");
            case JsonLayout.ArrayProperty or JsonLayout.KeyedObject when reader.TokenType != JsonTokenType.StartObject:
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", arrayProperty is null ? "expected a JSON object keyed by id" : $"expected a JSON object with a \"{arrayProperty}\" array");
        }

        if (layout == JsonLayout.ArrayProperty)
        {
            if (!reader.SeekProperty(arrayProperty!, 1))
            {
                throw new InputDataException(path, "-", "unknown-layout", $"no top-level \"{arrayProperty}\" array");
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", $"\"{arrayProperty}\" is not an array");
            }
        }

        var index = 0;
        if (layout == JsonLayout.KeyedObject)
        {
            // A key written twice would be two records with one id; a JSON reader keeps one of them silently. Keys are
            // kept compactly (two bytes a dense numeric key, eight otherwise).
            var keys = new JoinedIds();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.Text!;
                var badKey = reader.TextIsInvalid;
                if (!reader.TryReadValue<JsonDocument>(ParseDocument, out var doc, out var pos, out var error))
                {
                    throw new InputDataException(path, $"byte {reader.TokenPosition}", "malformed-json", $"property \"{key}\" has no value");
                }

                if (badKey)
                {
                    // The record's id is unreadable: it cannot become a record, but the records after it can.
                    doc?.Dispose();
                    (doc, error) = (null, StreamingJsonReader.InvalidText);
                }

                if (!badKey && keys.Contains(key))
                {
                    doc?.Dispose();
                    yield return new JsonItem(null, key, index++, pos, $"the key \"{key}\" appears a second time in the object") { DuplicateKey = true };
                    continue;
                }

                keys.Add(key);
                yield return new JsonItem(doc, key, index++, pos, error);
            }
        }
        else
        {
            while (reader.TryReadValue<JsonDocument>(ParseDocument, out var doc, out var pos, out var error))
            {
                yield return new JsonItem(doc, null, index++, pos, error);
            }
        }

        reader.Drain();
    }

    private static ParseStatus ParseDocument(ref Utf8JsonReader reader, out JsonDocument? value, out string? error)
    {
        error = null;
        var start = reader;
        try
        {
            // The library's own check: a key written twice anywhere in the record is an error, not one value kept silently.
            value = JsonSerializer.Deserialize(ref reader, JsonRecord.Documents);
            return ParseStatus.Ok;
        }
        catch (JsonException doubled)
        {
            // Read again as the reader reads: the value is cut by the end of the buffer (more data is needed), it is
            // malformed (the reader's error stands), or it is well formed and the error was the doubled key.
            reader = start;
            if (!JsonDocument.TryParseValue(ref reader, out var tolerant))
            {
                value = null;
                return ParseStatus.NeedMoreData;
            }

            tolerant.Dispose();
            (value, error) = (null, JsonErrors.DoubledKey(JsonErrors.DoubledName(doubled)));
            return ParseStatus.Ok;
        }
    }
}

/// <summary>One record of JSON parsed whole, with a key written twice anywhere in it refused (RFC 8259 asks for unique names).</summary>
public static class JsonRecord
{
    /// <summary>Document options that refuse a key written twice in an object.</summary>
    public static readonly JsonDocumentOptions Unique = new() { AllowDuplicateProperties = false };

    /// <summary>The serializer's view of a whole document under the same rule, for parsing from a reader.</summary>
    internal static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<JsonDocument> Documents =
        System.Text.Json.Serialization.Metadata.JsonMetadataServices.CreateValueInfo<JsonDocument>(
            new JsonSerializerOptions { AllowDuplicateProperties = false, TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine() },
            System.Text.Json.Serialization.Metadata.JsonMetadataServices.JsonDocumentConverter);

    /// <summary>
    /// Parses one record's bytes; a record that is well formed but has a key twice gives null and <paramref name="doubled"/>
    /// (<see cref="JsonErrors.DoubledKey"/>). Malformed JSON throws the reader's <see cref="JsonException"/> as a plain parse does.
    /// </summary>
    public static JsonDocument? Parse(ReadOnlyMemory<byte> bytes, out string? doubled)
    {
        doubled = null;
        try
        {
            return JsonDocument.Parse(bytes, Unique);
        }
        catch (JsonException ex)
        {
            // Well formed once doubles are allowed: the error was the doubled key. Otherwise this throws the syntax error.
            JsonDocument.Parse(bytes).Dispose();
            doubled = JsonErrors.DoubledKey(JsonErrors.DoubledName(ex));
            return null;
        }
    }
}

/// <summary>
/// Tolerant field access, for JSON the tool wrote itself (manifests, shards): missing, null and wrong-typed fields read as
/// absent. Benchmark records are read through <see cref="RecordFields"/>, where a field of another kind is an error.
/// </summary>
public static class JsonFields
{
    public static string? Str(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>An id written as a number or a string; integral numbers keep no decimal point.</summary>
    public static string? Id(this JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number when v.TryGetInt64(out var l) => l.ToString(CultureInfo.InvariantCulture),
            JsonValueKind.Number when v.TryGetDouble(out var d) && d == Math.Floor(d) => ((long)d).ToString(CultureInfo.InvariantCulture),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        };
    }
}
