using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MllmData.Json;
using MllmData.Records;
using MllmData.Formats;

namespace MllmData.Adapters;

/// <summary>
/// Existing instruction data (LLaVA, ShareGPT/LLaMA-Factory, ms-swift, OpenAI chat, Alpaca; JSON list or JSONL, text-only
/// records included) read back into the canonical record, so built and third-party data can be mixed.
/// Each line must pass its format's validator; its instructions are kept as they are (never templated).
/// </summary>
public sealed class InstructionsAdapter : ISourceAdapter
{
    public string Name => "instructions";

    public string Description => "existing instruction data: LLaVA, ShareGPT (LLaMA-Factory, ms-swift), OpenAI chat or Alpaca files, JSON list or JSONL";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("file", true, "the JSON list or JSONL file")];

    private static readonly string[] Readable = [.. FormatRegistry.All.Where(f => f.Capabilities.Readable).Select(f => f.Name)];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("input-format", "auto (decided per record), llava-question (LLaVA evaluation question files), alpaca (text-only {instruction, input, output}), or a readable output format: " + string.Join(", ", Readable), "auto") { Allowed = ["auto", LlavaQuestion, AlpacaText.Name, .. Readable] },
    ];

    public string DefaultTemplatePack => "(kept as written)";

    /// <summary>LLaVA's evaluation question files: <c>{"question_id", "image", "text", "category"}</c>.</summary>
    private const string LlavaQuestion = "llava-question";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("file");
        var format = context.Choice("input-format", "auto", ["auto", LlavaQuestion, AlpacaText.Name, .. Readable]);
        var validators = new Dictionary<string, IFormatValidator>(StringComparer.Ordinal);
        var options = new RenderOptions();
        var findings = new List<Finding>();
        foreach (var (element, where, number, reason, error) in Lines(context, path))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (error is not null || element is not { ValueKind: JsonValueKind.Object } e)
            {
                yield return Sample.Reject(context, path, where, reason ?? FindingCodes.NotObject, error ?? "not a JSON object");
                continue;
            }

            var name = format != "auto" ? format : IsQuestionLine(e) ? LlavaQuestion : AlpacaText.Recognizes(e) ? AlpacaText.Name : FormatRegistry.Detect(e)?.Name;

            // A line that no format recognizes may still be one format's with a field of another kind ("value": 5): it is
            // checked as the format its turns key names, so its reject names the field instead of calling the line unknown.
            var guessed = name is null && format == "auto" && (name = Closest(e)) is not null;
            if (name is null)
            {
                yield return Sample.Reject(context, path, where, FindingCodes.UnknownFormat, "the record is in none of the formats read back: " + string.Join(", ", Readable));
                continue;
            }

            findings.Clear();
            InstructionRecord? read = null;
            if (name == LlavaQuestion)
            {
                // A question file line: an evaluation record, valid when it has text, an id and an image (if any) of their kinds.
                var fields = new RecordFields(e);
                fields.Id("question_id");
                fields.Text("image");
                if (fields.Wrong is { } wrong)
                {
                    findings.Add(new(FindingCodes.WrongType, wrong));
                }
                else if (TextCheck.IsBlank(e.Str("text")))
                {
                    findings.Add(new(FindingCodes.EmptyContent, "\"text\" is empty"));
                }
                else
                {
                    read = QuestionLine(e, new LineOrigin(path, number), options.ImageToken);
                }
            }
            else if (name == AlpacaText.Name)
            {
                read = AlpacaText.Read(e, new LineOrigin(path, number), findings);
            }
            else
            {
                var f = FormatRegistry.Get(name);
                if (!validators.TryGetValue(name, out var validator))
                {
                    validators[name] = validator = f.CreateValidator(options);
                }

                validator.Validate(e, findings);

                // LLaVA lines keep their own id: one of another kind would be lost for the line number unseen.
                if (name == "llava" && new RecordFields(e) is var ids && ids.Id("id") is var _ && ids.Wrong is { } wrongId)
                {
                    findings.Add(new(FindingCodes.WrongType, wrongId));
                }

                if (findings.Count == 0 && guessed && !f.Recognizes(e))
                {
                    findings.Add(new(FindingCodes.UnknownFormat, "the record is in none of the formats read back: " + string.Join(", ", Readable)));
                }

                if (findings.Count == 0)
                {
                    read = Read(f, e, new LineOrigin(path, number), options, findings);
                }
            }

            if (findings.Count > 0 || read is null)
            {
                yield return Sample.Reject(context, path, where, findings[0].Code, $"as {name}: {string.Join("; ", findings.Select(x => x.Message))}");
                continue;
            }

            var own = name is "llava" or LlavaQuestion && !read.Id.StartsWith("line", StringComparison.Ordinal);
            yield return SourceItem.Of(read with
            {
                Id = $"{context.SourceName}-{(own ? read.Id : string.Create(CultureInfo.InvariantCulture, $"l{number}"))}",
                Source = context.SourceName,
                Provenance = read.Provenance with { Ids = [new("line", number.ToString(CultureInfo.InvariantCulture)), new("format", name)] },
            });
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>The format a line's turns key names (<c>conversations</c>: LLaVA; <c>messages</c>: OpenAI when a content is a list of parts, else ShareGPT), or null.</summary>
    private static string? Closest(JsonElement line) =>
        line.TryGetProperty("conversations", out _) ? "llava"
        : !line.TryGetProperty("messages", out var messages) ? null
        : messages.ValueKind == JsonValueKind.Array && messages.EnumerateArray().Any(m => m.ValueKind == JsonValueKind.Object && m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.Array) ? "openai"
        : "sharegpt";

    private static bool IsQuestionLine(JsonElement line) =>
        line.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String && line.TryGetProperty("question_id", out _);

    private static InstructionRecord QuestionLine(JsonElement e, LineOrigin origin, string token)
    {
        var image = e.TryGetProperty("image", out var qi) && qi.ValueKind == JsonValueKind.String ? qi.GetString() : null;
        var turn = new Turn { Instruction = ReadBack.WithoutPlaceholders(e.GetProperty("text").GetString()!, token) };
        return ReadBack.Record(e.GetProperty("question_id").ToString(), origin, image is null ? [] : [image], null, [turn]);
    }

    /// <summary>The format's reading of a valid line; bad embedded data (e.g. base64 that does not decode) is a finding.</summary>
    private static InstructionRecord? Read(IOutputFormat format, JsonElement e, LineOrigin origin, RenderOptions options, List<Finding> findings)
    {
        try
        {
            return format.Read(e, origin, options);
        }
        catch (FormatException ex)
        {
            findings.Add(new(FindingCodes.BadBase64, ex.Message));
            return null;
        }
    }

    /// <summary>
    /// The rows of a Parquet shard of ours as its format's records; embedded images come as data URLs, so their bytes are
    /// kept as an OpenAI line's are (named by their hash).
    /// </summary>
    private static IEnumerable<(JsonElement? Element, string Where, long Number, string? Reason, string? Error)> ParquetRows(SourceContext context, string path)
    {
        context.Files.Track(path);
        var layout = ShardReader.Layout(path);
        foreach (var (record, number, images) in ShardReader.ParquetRows(path))
        {
            if (layout is { EmbedImages: true, ImageColumn: { } column })
            {
                var urls = images.Select(i => i.Bytes is { } b ? $"data:{ImageMedia.Sniff(b) ?? "application/octet-stream"};base64,{Convert.ToBase64String(b)}" : i.Path ?? string.Empty).ToList();
                record[column.Name] = column.SingleAsString && urls.Count == 1 ? urls[0] : new System.Text.Json.Nodes.JsonArray([.. urls.Select(u => (System.Text.Json.Nodes.JsonNode?)u)]);
                if (column.SingleAsString && urls.Count == 0)
                {
                    record.Remove(column.Name);
                }
            }

            using var doc = JsonDocument.Parse(record.ToJsonString());
            yield return (doc.RootElement.Clone(), string.Create(CultureInfo.InvariantCulture, $"row {number}"), number, null, null);
        }
    }

    /// <summary>Records of a JSON list, or lines of a JSONL file (blank lines skipped), parsed.</summary>
    private static IEnumerable<(JsonElement? Element, string Where, long Number, string? Reason, string? Error)> Lines(SourceContext context, string path)
    {
        if (path.EndsWith(".parquet", StringComparison.Ordinal))
        {
            foreach (var row in ParquetRows(context, path))
            {
                yield return row;
            }

            yield break;
        }

        // A look at the first byte decides between a JSON list and JSONL (a missing file is reported by Open below).
        var first = -1;
        if (File.Exists(path))
        {
            using var peek = MllmData.Inputs.InputFiles.OpenChecked(path);
            while ((first = peek.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
            {
            }
        }
        if (first == '[')
        {
            foreach (var item in JsonElements.Read(context.Files.Open(path, context.Progress), path, JsonLayout.TopLevelArray))
            {
                using (item)
                {
                    var reason = item.IsObject ? null : JsonErrors.IsDoubledKey(item.Error) ? RejectReasons.DuplicateKey : FindingCodes.NotJson;
                    yield return (item.IsObject ? item.Element.Clone() : null, item.Where("records"), item.Index + 1, reason, item.IsObject ? null : item.Error);
                }
            }

            yield break;
        }

        // Bounded lines: a line longer than the cap (or a file without line breaks) is a reject, not unbounded memory.
        using var lines = new BoundedLineReader(context.Files.Open(path, context.Progress));
        while (lines.TryRead(out var line))
        {
            var where = string.Create(CultureInfo.InvariantCulture, $"line {line.Number}");
            if (line.TooLong)
            {
                yield return (null, where, line.Number, RejectReasons.LineTooLong, MappedRow.TooLong(line.TooLongBytes, lines.MaxLineBytes));
                continue;
            }

            var bytes = line.Bytes;
            if (line.Number == 1 && bytes.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                bytes = bytes[3..];
            }

            if (bytes.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            if (!TextCheck.IsValid(bytes.Span))
            {
                yield return (null, where, line.Number, RejectReasons.InvalidUtf8, StreamingJsonReader.InvalidText);
                continue;
            }

            JsonElement? element = null;
            string? error = null;
            string? reason = null;
            try
            {
                using var doc = JsonRecord.Parse(bytes, out var doubled);
                if (doc is null)
                {
                    (error, reason) = (doubled, RejectReasons.DuplicateKey);
                }
                else
                {
                    element = doc.RootElement.Clone();
                }
            }
            catch (JsonException ex)
            {
                (error, reason) = (Json.JsonErrors.InWords(ex), FindingCodes.NotJson);
                if (BoundedLineReader.LoneCarriageReturn(bytes.Span, path, line.Number) is { } crLines)
                {
                    throw crLines;
                }
            }

            yield return (element, where, line.Number, reason, error);
        }
    }
}
