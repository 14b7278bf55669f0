using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Records;
using MllmData.Output;

namespace MllmData.Formats;

/// <summary>
/// OpenAI chat fine-tuning lines. The first user message carries its text part and then one <c>image_url</c>
/// part per image: a base64 data URL of the image bytes, or a URL under the image-URL prefix.
/// </summary>
public sealed class OpenAiFormat : IOutputFormat
{
    /// <summary>OpenAI's fine-tuning upload limits: 512 MB per file and 50,000 examples with images per file.</summary>
    public static readonly ShardLimits UploadLimits = new(MaxBytes: 512L * 1024 * 1024, MaxImageRecords: 50_000, Reason: "OpenAI fine-tuning upload limits: 512 MB per file, 50,000 examples with images");

    public string Name => "openai";

    public string Description => "OpenAI chat fine-tuning: {messages:[{role, content: text | [text, image_url parts]}]}";

    public string Consumer => "OpenAI fine-tuning API (FineTuneChatRequestInput)";

    public FormatCapabilities Capabilities { get; } = new()
    {
        SystemMessage = true,
        MaxImages = ImageMedia.MaxImagesPerExample,
        Images = ImageCarriage.EmbeddedOrUrl,
        UploadLimits = UploadLimits,
        RgbImagesOnly = true,
        InContextExamples = true,
        ToolUse = true,
        Containers = ["jsonl", "parquet"],
        OpensUrl = ImageUrls.OpenAiTakes,
    };

    /// <summary>
    /// <c>messages</c> as a list of structs: <c>content</c> is a string, or (first user message with images or examples) a list of
    /// parts in <c>content_parts</c>, one of the two set; tool calls and the tool list as structs, the tool's parameter schema and
    /// <c>meta</c> as JSON text. An embedded image's data URL is split: its head (<c>data:image/jpeg;base64,</c>) in
    /// <c>image_url.url</c>, its bytes in the binary <c>image_url.url_bytes</c>; a plain URL stands whole in <c>url</c>.
    /// </summary>
    public IReadOnlyList<PqColumn> ParquetColumns { get; } =
    [
        new PqList("messages", new PqStruct("element",
        [
            new PqString("role"),
            new PqTextOrParts("content", "content_parts", new PqStruct("element",
                [new PqString("type"), new PqString("text"), new PqStruct("image_url", [new PqDataUrl("url", "url_bytes"), new PqString("detail")])])),
            new PqList("tool_calls", new PqStruct("element",
                [new PqString("id"), new PqString("type"), new PqStruct("function", [new PqString("name"), new PqString("arguments")])])),
            new PqString("tool_call_id"),
        ])),
        new PqList("tools", new PqStruct("element",
            [new PqString("type"), new PqStruct("function", [new PqString("name"), new PqString("description"), new PqJson("parameters")])])),
        new PqJson("meta"),
    ];

    public void CheckOptions(RenderOptions options)
    {
        if (options.ImageDetail is not (null or "auto" or "low" or "high"))
        {
            throw new UsageException($"--image-detail must be auto, low or high, got '{options.ImageDetail}'");
        }
    }

    public void Render(InstructionRecord record, Utf8JsonWriter w, RenderOptions options)
    {
        w.WriteStartObject();
        w.WriteStartArray("messages");
        if ((record.System ?? options.SystemPrompt) is { Length: > 0 } system)
        {
            RenderParts.WriteMessage(w, "system", system);
        }

        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            w.WriteStartObject();
            w.WriteString("role", "user");
            if (i == 0 && record.Examples.Count > 0)
            {
                // In-context examples: each example's images, then its text and answer; then the query's images and text.
                w.WriteStartArray("content");
                var next = 0;
                foreach (var example in record.Examples)
                {
                    next = ImageParts(w, record, next, example.ImageCount, options);
                    TextPart(w, RenderParts.ExampleText(example));
                }

                ImageParts(w, record, next, record.Images.Count - next, options);
                TextPart(w, turn.UserText);
                w.WriteEndArray();
            }
            else if (i == 0 && record.Images.Count > 0)
            {
                w.WriteStartArray("content");
                TextPart(w, turn.UserText);
                ImageParts(w, record, 0, record.Images.Count, options);
                w.WriteEndArray();
            }
            else
            {
                w.WriteString("content", turn.UserText);
            }

            w.WriteEndObject();
            if (turn.Output is not null)
            {
                foreach (var step in turn.ToolSteps)
                {
                    WriteToolStep(w, step);
                }

                RenderParts.WriteMessage(w, "assistant", turn.Output);
            }
        }

        w.WriteEndArray();
        if (record.Tools.Count > 0)
        {
            ToolTraceText.WriteOpenAiTools(w, record.Tools);
        }

        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }

    /// <summary>An assistant message with the thought as content (no content without one, as OpenAI's examples write it) and one tool call, then the tool's answer to it.</summary>
    private static void WriteToolStep(Utf8JsonWriter w, ToolStep step)
    {
        w.WriteStartObject();
        w.WriteString("role", "assistant");
        if (step.Thought is { Length: > 0 } thought)
        {
            w.WriteString("content", thought);
        }

        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteString("id", step.Call.Id);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", step.Call.Name);
        w.WriteString("arguments", step.Call.Arguments);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteString("role", "tool");
        w.WriteString("tool_call_id", step.Call.Id);
        w.WriteString("content", step.Observation);
        w.WriteEndObject();
    }

    private static void TextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "text");
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    /// <summary>Writes <paramref name="count"/> image parts from image <paramref name="from"/> on; returns the index after them.</summary>
    private static int ImageParts(Utf8JsonWriter w, InstructionRecord record, int from, int count, RenderOptions options)
    {
        for (var k = from; k < from + count; k++)
        {
            w.WriteStartObject();
            w.WriteString("type", "image_url");
            w.WriteStartObject("image_url");
            w.WriteString("url", Url(record.Images[k], options));
            if (options.ImageDetail is { } detail)
            {
                w.WriteString("detail", detail);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return from + count;
    }

    /// <summary>A data URL of the bytes, or the path under the URL prefix; a path that is already a URL stays as it is.</summary>
    private static string Url(ImageRef image, RenderOptions options)
    {
        if (ImageUrls.IsUrl(image.Path) && image.Bytes is null)
        {
            return image.Path;
        }

        if (options.ImageUrlPrefix is { } prefix)
        {
            return prefix + image.Path;
        }

        return image.Bytes is { } bytes
            ? $"data:{image.MediaType ?? "image/jpeg"};base64,{Convert.ToBase64String(bytes)}"
            : throw new InvalidOperationException($"image {image.Path} was not loaded for embedding");
    }

    public IFormatValidator CreateValidator(RenderOptions options) => new OpenAiChatValidator();

    public bool Recognizes(JsonElement line) =>
        line.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Array && !line.TryGetProperty("images", out _)
        && m.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.Object && x.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.Array);

    public InstructionRecord Read(JsonElement line, LineOrigin origin, RenderOptions options)
    {
        var images = new List<string>();
        var messages = new List<(string Role, string Text)>();
        foreach (var m in line.GetProperty("messages").EnumerateArray())
        {
            var role = m.GetProperty("role").GetString()!;
            if (!m.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (content.ValueKind == JsonValueKind.String)
            {
                messages.Add((role, content.GetString()!));
                continue;
            }

            var texts = new List<string>();
            foreach (var part in content.EnumerateArray())
            {
                if (part.GetProperty("type").GetString() == "text")
                {
                    texts.Add(part.GetProperty("text").GetString()!);
                }
                else if (part.TryGetProperty("image_url", out var url))
                {
                    images.Add(url.GetProperty("url").GetString()!);
                }
            }

            messages.Add((role, string.Join("\n", texts)));
        }

        string? system = null;
        if (messages.Count > 0 && messages[0].Role is "system" or "developer")
        {
            system = messages[0].Text;
            messages.RemoveAt(0);
        }

        var turns = new List<Turn>();
        for (var k = 0; k < messages.Count; k++)
        {
            if (messages[k].Role != "user")
            {
                continue;
            }

            var output = k + 1 < messages.Count && messages[k + 1].Role == "assistant" ? messages[k + 1].Text : null;
            turns.Add(new Turn { Instruction = messages[k].Text, Output = output, RawAnswer = output });
        }

        return ReadBack.Record(string.Create(CultureInfo.InvariantCulture, $"line{origin.Line}"), origin, images, system, turns);
    }

    public IReadOnlyList<Exchange> Exchanges(JsonObject line, ExchangeOptions options)
    {
        var result = new List<Exchange>();
        if (line["messages"] is not JsonArray turns)
        {
            return result;
        }

        for (var i = 0; i + 1 < turns.Count; i++)
        {
            if (turns[i] is not JsonObject q || turns[i + 1] is not JsonObject a || (string?)q["role"] != "user" || (string?)a["role"] != "assistant"
                || a["content"] is not JsonValue answer)
            {
                continue;
            }

            var question = q["content"] switch
            {
                JsonValue v => (string)v!,
                JsonArray parts => string.Join("\n", parts.OfType<JsonObject>().Where(p => (string?)p["type"] == "text").Select(p => (string)p["text"]!)),
                _ => string.Empty,
            };
            var target = a;
            result.Add(new Exchange(ReadBack.Question(question, options), (string)answer!, v => target["content"] = v)
            {
                EditQuestionLines = edit =>
                {
                    if (q["content"] is JsonValue text)
                    {
                        q["content"] = ReadBack.EditLines((string)text!, edit);
                    }
                    else if (q["content"] is JsonArray parts)
                    {
                        foreach (var part in parts.OfType<JsonObject>().Where(p => (string?)p["type"] == "text" && p["text"] is JsonValue))
                        {
                            part["text"] = ReadBack.EditLines((string)part["text"]!, edit);
                        }
                    }
                },
            });
        }

        return result;
    }

    public IReadOnlyList<string> Images(JsonObject line) =>
        [.. (line["messages"] as JsonArray ?? []).OfType<JsonObject>()
            .SelectMany(m => m["content"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(p => (string?)p["type"] == "image_url")
            .Select(p => (string)p["image_url"]!["url"]!)];
}
