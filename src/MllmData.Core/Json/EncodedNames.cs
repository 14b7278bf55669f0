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
    /// <summary>Slots in a thread's cache; two strings that share a slot take turns in it.</summary>
    internal const int Slots = 64;

    [ThreadStatic]
    private static Entry[]? t_entries;

    /// <summary><paramref name="text"/> encoded as <paramref name="w"/> would encode it.</summary>
    public static JsonEncodedText Of(string text, Utf8JsonWriter w)
    {
        var encoder = w.Options.Encoder;
        var entries = t_entries ??= new Entry[Slots];
        ref var e = ref entries[RuntimeHelpers.GetHashCode(text) & (Slots - 1)];
        if (!ReferenceEquals(e.Text, text) || !ReferenceEquals(e.Encoder, encoder))
        {
            e = new Entry(text, encoder, JsonEncodedText.Encode(text, encoder));
        }

        return e.Encoded;
    }

    private readonly record struct Entry(string? Text, JavaScriptEncoder? Encoder, JsonEncodedText Encoded);
}
