namespace MllmData.Json;

/// <summary>The shapes a record's <c>meta.extra</c> carries as one node (see <see cref="ExtraValues"/>).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(string?[]))]
internal sealed partial class ExtraJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>
/// Lists in <c>meta.extra</c> held as one node instead of a node per item: a VQA record's ten annotator answers were
/// eleven nodes and an array of them per record. Written, compared and cloned as the JSON list they stand for.
/// </summary>
public static class ExtraValues
{
    /// <summary>A list of texts (null items kept) as one node.</summary>
    public static System.Text.Json.Nodes.JsonValue Texts(string?[] texts) => System.Text.Json.Nodes.JsonValue.Create(texts, ExtraJsonContext.Default.StringArray)!;

    /// <summary>The texts of a list in <c>meta.extra</c>, held either way (null items left out); null when the node is not a list of texts.</summary>
    public static List<string>? TextsOf(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonArray a => [.. a.Select(x => x is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>()],
        System.Text.Json.Nodes.JsonValue v when v.TryGetValue<string?[]>(out var texts) && texts is not null => [.. texts.OfType<string>()],
        _ => null,
    };
}
