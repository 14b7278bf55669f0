using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MllmData.Json;

/// <summary>
/// Strings a writer writes on every record (key names, roles, the source, the input's path, template ids), encoded once
/// and written as ready bytes: the writer would otherwise transcode each to UTF-8 and look for characters to escape
/// every time. The cache is per thread and keyed by the string object itself and the writer's encoder, so what comes
/// out is byte for byte what <see cref="Utf8JsonWriter.WriteString(string, string)"/> writes.
/// </summary>
public static class EncodedNames
{
    /// <summary>Strings a thread keeps at most; past that the cache starts again (a pack of thousands of templates).</summary>
    internal const int Capacity = 4096;

    [ThreadStatic]
    private static Dictionary<Key, JsonEncodedText>? t_encoded;

    /// <summary><paramref name="text"/> encoded as <paramref name="w"/> would encode it.</summary>
    public static JsonEncodedText Of(string text, Utf8JsonWriter w)
    {
        var encoded = t_encoded ??= new Dictionary<Key, JsonEncodedText>();
        var key = new Key(text, w.Options.Encoder);
        if (!encoded.TryGetValue(key, out var value))
        {
            if (encoded.Count >= Capacity)
            {
                encoded.Clear();
            }

            encoded[key] = value = JsonEncodedText.Encode(text, key.Encoder);
        }

        return value;
    }

    /// <summary>
    /// Writes a string value (null as null) that may recur from record to record, such as an annotator's answer: from its
    /// encoded bytes when it is short (<see cref="ShortStrings.MaxBytes"/> characters at most, the values the reader's
    /// table hands out as one object each), else directly, so long texts, each seen once, do not crowd the cache.
    /// </summary>
    public static void WriteValue(Utf8JsonWriter w, string? text)
    {
        if (text is null)
        {
            w.WriteNullValue();
        }
        else if (text.Length <= ShortStrings.MaxBytes)
        {
            w.WriteStringValue(Of(text, w));
        }
        else
        {
            w.WriteStringValue(text);
        }
    }

    /// <summary>Strings kept by the calling thread now (for tests).</summary>
    internal static int Kept => t_encoded?.Count ?? 0;

    /// <summary>A string and an encoder, equal only to the same two objects.</summary>
    private readonly struct Key(string text, JavaScriptEncoder? encoder) : IEquatable<Key>
    {
        public string Text { get; } = text;

        public JavaScriptEncoder? Encoder { get; } = encoder;

        public bool Equals(Key other) => ReferenceEquals(Text, other.Text) && ReferenceEquals(Encoder, other.Encoder);

        public override bool Equals(object? obj) => obj is Key other && Equals(other);

        public override int GetHashCode() => RuntimeHelpers.GetHashCode(Text) ^ (Encoder is null ? 0 : RuntimeHelpers.GetHashCode(Encoder));
    }
}
