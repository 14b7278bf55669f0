using System.Text.Json;

namespace MllmData.Formats;

/// <summary>Writes the LLaMA-Factory <c>dataset_info.json</c> entry that registers a build's shards.</summary>
public static class ShareGptDatasetInfo
{
    public const string FileName = "dataset_info.json";

    /// <summary>
    /// One entry named after the dataset whose <c>file_name</c> is the <c>data</c> folder (LLaMA-Factory loads every
    /// file of a folder); the images column is declared only when some record has images.
    /// </summary>
    public static void Write(Stream stream, SideFileContext context)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteStartObject(context.Name);
        w.WriteString("file_name", Output.OutputFolder.DataFolder);
        w.WriteString("formatting", "sharegpt");
        w.WriteStartObject("columns");
        w.WriteString("messages", "messages");
        if (context.RecordsWithImages > 0)
        {
            w.WriteString("images", "images");
        }

        w.WriteEndObject();
        w.WriteStartObject("tags");
        w.WriteString("role_tag", "role");
        w.WriteString("content_tag", "content");
        w.WriteString("user_tag", "user");
        w.WriteString("assistant_tag", "assistant");
        w.WriteString("system_tag", "system");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }
}
