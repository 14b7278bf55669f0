using System.Text.Json;

namespace MllmData.Output;

/// <summary>Writes the LLaMA-Factory <c>dataset_info.json</c> entries that register the ShareGPT shards.</summary>
public static class DatasetInfo
{
    /// <summary>One entry named after the dataset for a single shard; one entry per shard (<c>name_00000</c>, …) otherwise.</summary>
    public static void Write(Stream stream, string name, IReadOnlyList<ShardInfo> shards)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        for (var i = 0; i < shards.Count; i++)
        {
            w.WriteStartObject(shards.Count == 1 ? name : $"{name}_{i:D5}");
            w.WriteString("file_name", shards[i].Path);
            w.WriteString("formatting", "sharegpt");
            w.WriteStartObject("columns");
            w.WriteString("messages", "messages");
            w.WriteString("images", "images");
            w.WriteEndObject();
            w.WriteStartObject("tags");
            w.WriteString("role_tag", "role");
            w.WriteString("content_tag", "content");
            w.WriteString("user_tag", "user");
            w.WriteString("assistant_tag", "assistant");
            w.WriteString("system_tag", "system");
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }
}
