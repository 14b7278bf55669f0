using System.Text.Json;
using MllmData.Model;

namespace MllmData.Rendering;

/// <summary>
/// OpenAI chat fine-tuning lines. The first user message carries its text part and then one
/// <c>image_url</c> part per image: a base64 data URL of the image bytes, or a URL under the image-URL prefix.
/// </summary>
public sealed class OpenAiChatRenderer(RenderOptions options, string? imageUrlPrefix) : IRecordRenderer
{
    public string Name => "openai";

    /// <summary>True when images must be loaded to be embedded.</summary>
    public bool EmbedsImages => imageUrlPrefix is null;

    public void Render(InstructionRecord record, Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("messages");
        if (options.SystemPrompt is { Length: > 0 } system)
        {
            RenderParts.WriteMessage(w, "system", system);
        }

        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            w.WriteStartObject();
            w.WriteString("role", "user");
            if (i == 0 && record.Images.Count > 0)
            {
                w.WriteStartArray("content");
                w.WriteStartObject();
                w.WriteString("type", "text");
                w.WriteString("text", turn.UserText);
                w.WriteEndObject();
                foreach (var image in record.Images)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "image_url");
                    w.WriteStartObject("image_url");
                    w.WriteString("url", imageUrlPrefix is null ? DataUrl(image) : imageUrlPrefix + image.Path);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteString("content", turn.UserText);
            }

            w.WriteEndObject();
            if (turn.Output is not null)
            {
                RenderParts.WriteMessage(w, "assistant", turn.Output);
            }
        }

        w.WriteEndArray();
        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }

    private static string DataUrl(ImageRef image) =>
        image.Bytes is { } bytes
            ? $"data:{image.MediaType ?? "image/jpeg"};base64,{Convert.ToBase64String(bytes)}"
            : throw new InvalidOperationException($"image {image.Path} was not loaded for embedding");
}
