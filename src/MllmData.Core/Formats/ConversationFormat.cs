using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Output;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>
/// What the role/content conversation formats (LLaVA, ShareGPT, ms-swift) share: they differ only in key
/// names, in where the image placeholders go, and in their side files.
/// </summary>
public abstract class ConversationFormat : IOutputFormat
{
    public abstract string Name { get; }

    public abstract string Description { get; }

    public abstract string Consumer { get; }

    public abstract FormatCapabilities Capabilities { get; }

    /// <summary>Key names and roles.</summary>
    protected abstract ConversationShape Shape { get; }

    /// <summary>The key names and roles of the format's lines as UTF-8 (for readers that go through a line's bytes themselves).</summary>
    public ConversationKeys Keys => _keys ??= new ConversationKeys(Shape);

    private ConversationKeys? _keys;

    /// <summary>What follows each image placeholder at the start of the first user message.</summary>
    protected abstract string PlaceholderSeparator { get; }

    public virtual void CheckOptions(RenderOptions options)
    {
    }

    public IFormatValidator CreateValidator(RenderOptions options) => new ConversationValidator(Shape, options.ImageToken, options.ImageFilesOnly && Capabilities.ImagesAreFiles);

    public virtual void Render(InstructionRecord record, Utf8JsonWriter w, RenderOptions options)
    {
        w.WriteStartObject();
        WriteId(record, w);
        if (Shape.ImagesFirst)
        {
            WriteImages(record, w);
        }

        w.WriteStartArray(Shape.TurnsKey);
        if (Shape.System is { } systemRole && (record.System ?? options.SystemPrompt) is { Length: > 0 } system)
        {
            RenderParts.WriteMessage(w, systemRole, system, Shape.RoleKey, Shape.ContentKey);
        }

        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            var text = i == 0 && record.Tools.Count > 0 ? ToolTraceText.FirstUserText(record, turn.UserText) : turn.UserText;
            if (i == 0)
            {
                RenderParts.WriteFirstUserMessage(w, record, text, options.ImageToken, PlaceholderSeparator, Shape.User, Shape.RoleKey, Shape.ContentKey);
            }
            else
            {
                RenderParts.WriteMessage(w, Shape.User, text, Shape.RoleKey, Shape.ContentKey);
            }

            if (record.Tools.Count > 0 && turn.Output is not null)
            {
                // Tool-use: each call and its observation as an assistant and a user message, then the labelled answer.
                foreach (var step in turn.ToolSteps)
                {
                    RenderParts.WriteMessage(w, Shape.Assistant, ToolTraceText.CallText(step), Shape.RoleKey, Shape.ContentKey);
                    RenderParts.WriteMessage(w, Shape.User, ToolTraceText.ObservationText(step), Shape.RoleKey, Shape.ContentKey);
                }

                RenderParts.WriteMessage(w, Shape.Assistant, ToolTraceText.AnswerText(turn), Shape.RoleKey, Shape.ContentKey);
            }
            else if (turn.Output is not null)
            {
                RenderParts.WriteMessage(w, Shape.Assistant, turn.Output, Shape.RoleKey, Shape.ContentKey);
            }
        }

        w.WriteEndArray();
        if (!Shape.ImagesFirst)
        {
            WriteImages(record, w);
        }

        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }

    /// <summary>The record id, where the format has one.</summary>
    protected virtual void WriteId(InstructionRecord record, Utf8JsonWriter w)
    {
    }

    /// <summary>
    /// The image key: a list of paths, written empty on text-only records so every row has the same columns:
    /// Hugging Face <c>datasets</c> (which LLaMA-Factory and ms-swift load through) casts every shard to the first
    /// shard's columns and fails on a missing one (ArrowWriter.write_table). LLaVA overrides this.
    /// </summary>
    protected virtual void WriteImages(InstructionRecord record, Utf8JsonWriter w) => RenderParts.WriteImagePaths(w, Shape.ImagesKey, record.Images);

    public virtual bool Recognizes(JsonElement line) =>
        line.TryGetProperty(Shape.TurnsKey, out var turns) && turns.ValueKind == JsonValueKind.Array
        && turns.EnumerateArray().All(m => m.ValueKind == JsonValueKind.Object && m.TryGetProperty(Shape.ContentKey, out var c) && c.ValueKind == JsonValueKind.String);

    public virtual InstructionRecord Read(JsonElement line, LineOrigin origin, RenderOptions options)
    {
        var keys = Keys;
        List<string> images = [];
        if (line.TryGetProperty(keys.Images, out var img))
        {
            if (img.ValueKind == JsonValueKind.Array)
            {
                images = new List<string>(img.GetArrayLength());
                foreach (var e in img.EnumerateArray())
                {
                    images.Add(e.GetString()!);
                }
            }
            else if (img.ValueKind == JsonValueKind.String)
            {
                images = [img.GetString()!];
            }
        }

        // Every line the card counts comes through here: plain loops, no delegates or iterators per line.
        var list = line.TryGetProperty(keys.Turns, out var found) ? found : throw new KeyNotFoundException($"no '{Shape.TurnsKey}' key");
        var messages = new List<(string Role, string Text)>(list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 0);
        foreach (var m in list.EnumerateArray())
        {
            var role = m.TryGetProperty(keys.Role, out var r) ? r : throw new KeyNotFoundException($"no '{Shape.RoleKey}' key");
            var content = m.TryGetProperty(keys.Content, out var c) ? c : throw new KeyNotFoundException($"no '{Shape.ContentKey}' key");
            messages.Add((keys.RoleOf(role), content.GetString()!));
        }
        string? system = null;
        if (messages.Count > 0 && Shape.System is { } s && messages[0].Role == s)
        {
            system = messages[0].Text;
            messages.RemoveAt(0);
        }

        var id = line.TryGetProperty("id"u8, out var i) && i.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? i.ToString()
            : string.Create(CultureInfo.InvariantCulture, $"line{origin.Line}");
        return ReadBack.Record(id, origin, images, system, Turns(messages, options.ImageToken));
    }

    private List<Turn> Turns(List<(string Role, string Text)> messages, string token)
    {
        var turns = new List<Turn>();
        for (var k = 0; k < messages.Count; k++)
        {
            if (messages[k].Role != Shape.User)
            {
                continue;
            }

            var output = k + 1 < messages.Count && messages[k + 1].Role == Shape.Assistant ? messages[k + 1].Text : null;
            turns.Add(new Turn { Instruction = ReadBack.WithoutPlaceholders(messages[k].Text, token), Output = output, RawAnswer = output });
        }

        return turns;
    }

    public IReadOnlyList<Exchange> Exchanges(JsonObject line, ExchangeOptions options)
    {
        var result = new List<Exchange>();
        if (line[Shape.TurnsKey] is not JsonArray turns)
        {
            return result;
        }

        for (var i = 0; i + 1 < turns.Count; i++)
        {
            if (turns[i] is not JsonObject q || turns[i + 1] is not JsonObject a
                || (string?)q[Shape.RoleKey] != Shape.User || (string?)a[Shape.RoleKey] != Shape.Assistant
                || q[Shape.ContentKey] is not JsonValue question || a[Shape.ContentKey] is not JsonValue answer)
            {
                continue;
            }

            var target = a;
            var key = Shape.ContentKey;
            result.Add(new Exchange(ReadBack.Question((string)question!, options), (string)answer!, v => target[key] = v)
            {
                EditQuestionLines = edit => q[key] = ReadBack.EditLines((string)q[key]!, edit),
            });
        }

        return result;
    }

    public IReadOnlyList<string> Images(JsonObject line) => line[Shape.ImagesKey] switch
    {
        JsonArray a => [.. a.Select(x => (string)x!)],
        JsonValue v => [(string)v!],
        _ => [],
    };

    public virtual string? LoadHint(string outDir, string name, IReadOnlyList<string> shards, string? imageRoot) => null;

    /// <summary>The id (LLaVA), the images and the turns as a list of {role, content} structs in the JSON key order, then <c>meta</c> as JSON text.</summary>
    public IReadOnlyList<PqColumn> ParquetColumns => _parquetColumns ??= ParquetShape();

    private IReadOnlyList<PqColumn>? _parquetColumns;

    private List<PqColumn> ParquetShape()
    {
        var columns = new List<PqColumn>();
        if (HasId)
        {
            columns.Add(new PqString("id"));
        }

        var images = new PqImages(Shape.ImagesKey, SingleAsString: ImageAsString);
        var turns = new PqList(Shape.TurnsKey, new PqStruct(ListElement, [new PqString(Shape.RoleKey), new PqString(Shape.ContentKey)]));
        columns.AddRange(Shape.ImagesFirst ? [images, turns] : [turns, images]);
        columns.Add(new PqJson("meta"));
        return columns;
    }

    /// <summary>The name Parquet gives a list's element.</summary>
    protected const string ListElement = "element";

    /// <summary>Whether records carry an <c>id</c> key.</summary>
    protected virtual bool HasId => false;

    /// <summary>Whether one image is written as a string and none as no key (LLaVA), rather than always a list.</summary>
    protected virtual bool ImageAsString => false;

    public virtual void WriteSideFiles(SideFileContext context)
    {
    }
}
