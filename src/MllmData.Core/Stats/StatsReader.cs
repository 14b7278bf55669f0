using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Formats;
using MllmData.Json;
using MllmData.Output;

namespace MllmData.Stats;

/// <summary>Reads a build's output folder (its manifest, then every shard it lists, record by record) into <see cref="DatasetStats"/>.</summary>
public static class StatsReader
{
    /// <summary>The figures of the build in <paramref name="dir"/>; <paramref name="cancel"/> stops the reading between two records.</summary>
    public static DatasetStats Read(string dir, QuestionFinder questions, string imageToken = "<image>", int tokenSample = DatasetStats.DefaultTokenSample, CancellationToken cancel = default) =>
        Read(dir, Manifest(dir), questions, imageToken, tokenSample, cancel);

    /// <summary>The manifest of the build in <paramref name="dir"/>; a folder without one, or a manifest that is not a JSON object, is an error saying why.</summary>
    public static JsonObject Manifest(string dir)
    {
        var manifestPath = Path.Combine(dir, OutputFolder.ManifestFile);
        if (!File.Exists(manifestPath))
        {
            var why = File.Exists(Path.Combine(dir, OutputFolder.PartFile)) ? "it is one worker's part of a job array: merge the parts (mllmdata merge) and read the merged folder"
                : !Directory.Exists(dir) ? "no such folder"
                : "manifest.json is missing (an unfinished or failed build leaves none)";
            throw new InputDataException(manifestPath, "-", "no-manifest", $"not a build's output folder: {why}");
        }

        try
        {
            return JsonNode.Parse(Inputs.InputFiles.ReadChecked(manifestPath), documentOptions: JsonRecord.Unique) as JsonObject
                ?? throw new InputDataException(manifestPath, "-", "not-object", "the manifest is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new InputDataException(manifestPath, "-", "bad-json", $"the manifest is not valid JSON: {Json.JsonErrors.InWords(ex)}");
        }
    }

    /// <summary>The shards a manifest lists under <paramref name="dir"/> (a staging folder, before the manifest is written).</summary>
    public static DatasetStats Read(string dir, JsonObject manifest, QuestionFinder questions, string imageToken = "<image>", int tokenSample = DatasetStats.DefaultTokenSample, CancellationToken cancel = default)
    {
        var formatName = (string?)manifest["format"];
        var format = FormatNamed(formatName);
        var options = new RenderOptions { ImageToken = imageToken };
        var stats = Empty(format, questions, dir, manifest, tokenSample);
        var young = new YoungGarbage(YoungGarbage.DefaultWindow);
        foreach (var (shard, path) in ShardPaths(dir, manifest))
        {
            if (path.EndsWith(".json", StringComparison.Ordinal) || path.EndsWith(".parquet", StringComparison.Ordinal))
            {
                foreach (var (line, number) in ShardReader.Records(path))
                {
                    cancel.ThrowIfCancellationRequested();
                    young.Check();
                    using var doc = JsonDocument.Parse(line.ToJsonString());
                    stats.Add(View(doc.RootElement, format, new LineOrigin(shard, number), options, path));
                }

                continue;
            }

            // JSON lines are parsed once each, straight into a document (a record may carry megabytes of embedded images).
            // Bytes, not strings: a line is read into a reused buffer and parsed in place (no UTF-16 copy of megabytes).
            using var lines = new Adapters.BoundedLineReader(File.OpenRead(path), int.MaxValue - 64);
            var garbage = new LargeGarbage(LargeGarbageWindow);
            while (lines.TryRead(out var read))
            {
                cancel.ThrowIfCancellationRequested();
                young.Check();
                var lineNo = read.Number;
                if (read.Bytes.Span.Trim(" \t\r"u8).IsEmpty)
                {
                    continue;
                }

                AddLine(stats, read.Bytes, format, new LineOrigin(shard, lineNo), options, path);

                // Lines with embedded images make large-object garbage: collected every window of it.
                garbage.AddLine(read.Bytes.Length);
            }
        }

        return stats.Finish(cancel);
    }

    /// <summary>
    /// The shards a build's manifest lists, as written and as paths under <paramref name="dir"/>; a path that leaves the
    /// folder, or a shard the folder lacks, is an error naming the manifest.
    /// </summary>
    public static IEnumerable<(string Shard, string Path)> ShardPaths(string dir, JsonObject manifest)
    {
        var manifestPath = Path.Combine(dir, OutputFolder.ManifestFile);
        foreach (var shard in (manifest["shards"] as JsonArray ?? []).Select(s => (string?)s?["path"]))
        {
            if (shard is null || Path.IsPathRooted(shard) || shard.Split('/', '\\').Contains(".."))
            {
                throw new InputDataException(manifestPath, "shards", "bad-shard-path", $"shard path '{shard}' is not a path inside the build folder");
            }

            var path = Path.Combine(dir, shard);
            if (!File.Exists(path))
            {
                throw new InputDataException(manifestPath, "shards", "missing-shard", $"the manifest lists {shard}, which is not in the folder (was it moved or deleted?)");
            }

            yield return (shard, path);
        }
    }

    /// <summary>The format a manifest names, or null (then each line's format is detected).</summary>
    /// <remarks>An evaluation set's question lines (<c>llava-question</c>) are not read back into turns, but their images are counted.</remarks>
    public static IOutputFormat? FormatNamed(string? name) =>
        name == Eval.EvalQuestionFormat.FormatName ? new Eval.EvalQuestionFormat(sourceIds: false) : FormatRegistry.All.FirstOrDefault(f => f.Name == name);

    /// <summary>A new, empty figure set for the lines of a build in the named format.</summary>
    public static DatasetStats Empty(IOutputFormat? format, QuestionFinder questions, string dir, JsonObject manifest, int tokenSample = DatasetStats.DefaultTokenSample) =>
        new(questions) { TokenSample = tokenSample, Folder = Path.GetFullPath(dir), Manifest = manifest, Readable = format is null or { Capabilities.Readable: true } };

    /// <summary>
    /// One JSON line of a shard (its bytes, without the line break) into the figures. <paramref name="written"/>: the line
    /// comes straight from this build's writer, whose objects cannot repeat a key (fixed names, and meta from maps), so
    /// the check for a repeated key, a fifth of the parse, is left out; a line read from a file is always checked.
    /// </summary>
    public static void AddLine(DatasetStats stats, ReadOnlyMemory<byte> line, IOutputFormat? format, LineOrigin origin, RenderOptions options, string path, bool written = false)
    {
        JsonDocument doc;
        try
        {
            // A key written twice would be counted from whichever copy the reader kept: the line is refused instead.
            doc = written ? JsonDocument.Parse(line)
                : JsonRecord.Parse(line, out var doubled) ?? throw new InputDataException(path, $"line {origin.Line}", "duplicate-key", doubled!);
        }
        catch (JsonException ex)
        {
            throw new InputDataException(path, $"line {origin.Line}", "bad-json", Json.JsonErrors.InWords(ex));
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InputDataException(path, $"line {origin.Line}", "not-object", "a shard line is not a JSON object");
            }

            stats.Add(View(doc.RootElement, format, origin, options, path));
        }
    }

    /// <summary>Large lines read between two collections.</summary>
    internal const long LargeGarbageWindow = 16L << 20;

    /// <summary>A shard line as stats sees it: turns through the format's own reader, source, task, templates and image sizes from <c>meta</c>.</summary>
    public static RecordView View(JsonElement element, IOutputFormat? format, LineOrigin origin, RenderOptions options, string file)
    {
        // meta is read where it lies in the line's document (no node tree): what a JsonObject view of it would give.
        JsonElement? meta = element.TryGetProperty("meta"u8, out var m) && m.ValueKind == JsonValueKind.Object ? m : null;
        var known = new MetaMembers(meta);
        format ??= FormatRegistry.Detect(element);
        List<TurnView> turns = [];
        List<(string Path, byte[]? Bytes, string? Media)> images = [];
        string id;
        if (format is { Capabilities.Readable: true })
        {
            Records.InstructionRecord record;
            try
            {
                record = format.Read(element, origin, options);
            }
            catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or FormatException or NullReferenceException)
            {
                throw new InputDataException(file, $"record {origin.Line}", "unreadable", $"not a {format.Name} record: {ex.Message}");
            }

            id = record.Id;
            images = new List<(string Path, byte[]? Bytes, string? Media)>(record.Images.Count);
            for (var n = 0; n < record.Images.Count; n++)
            {
                var i = record.Images[n];
                images.Add((i.Path, i.Inline ? i.Bytes : null, i.MediaType));
            }

            var templates = known.Templates is { ValueKind: JsonValueKind.Array } t ? t : (JsonElement?)null;
            var templateCount = templates?.GetArrayLength() ?? 0;
            turns = new List<TurnView>(record.Turns.Count);
            for (var k = 0; k < record.Turns.Count; k++)
            {
                var turn = record.Turns[k];
                turns.Add(new TurnView(turn.Instruction ?? string.Empty, turn.Input, turn.Output, k < templateCount ? TemplateId(templates!.Value[k]) : null));
            }
        }
        else
        {
            id = element.TryGetProperty("id"u8, out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString()! : $"line{origin.Line}";
            if (format is not null)
            {
                images = [.. format.Images(JsonObject.Create(element)!).Select(p => (p, (byte[]?)null, (string?)null))];
            }
        }

        var sizes = known.Images is { ValueKind: JsonValueKind.Array } z ? z : (JsonElement?)null;
        var sizeCount = sizes?.GetArrayLength() ?? 0;
        var views = new List<ImageView>(images.Count);
        for (var k = 0; k < images.Count; k++)
        {
            var p = images[k];
            views.Add(k < sizeCount && sizes!.Value[k] is { ValueKind: JsonValueKind.Object } s
                ? new ImageView(p.Path, Int(Member(s, "width")), Int(Member(s, "height"))) { Bytes = p.Bytes, MediaType = p.Media }
                : new ImageView(p.Path, null, null) { Bytes = p.Bytes, MediaType = p.Media });
        }

        return new RecordView(id, Recent.Source.Text(known.Source) ?? "(no meta)", Recent.Task.Text(known.Task) ?? "(no meta)", views, turns)
        {
            Rewritten = known.Rewrite is { ValueKind: JsonValueKind.Object },
            TurnsKnown = format is { Capabilities.Readable: true },
            HasMeta = meta is not null,
            ImagesKnown = format is not null,
        };
    }

    /// <summary>The members of <c>meta</c> stats reads, found in one pass: each the last of its name, as <see cref="Member"/> gives it.</summary>
    private readonly struct MetaMembers
    {
        public MetaMembers(JsonElement? meta)
        {
            if (meta is not { } o)
            {
                return;
            }

            foreach (var p in o.EnumerateObject())
            {
                if (p.NameEquals("source"u8))
                {
                    Source = p.Value;
                }
                else if (p.NameEquals("task"u8))
                {
                    Task = p.Value;
                }
                else if (p.NameEquals("templates"u8))
                {
                    Templates = p.Value;
                }
                else if (p.NameEquals("images"u8))
                {
                    Images = p.Value;
                }
                else if (p.NameEquals("rewrite"u8))
                {
                    Rewrite = p.Value;
                }
            }
        }

        public JsonElement? Source { get; }

        public JsonElement? Task { get; }

        public JsonElement? Templates { get; }

        public JsonElement? Images { get; }

        public JsonElement? Rewrite { get; }
    }

    /// <summary>A member of an object, the last of its name as a node view keeps it; null when absent or when there is no object.</summary>
    private static JsonElement? Member(JsonElement? obj, string name)
    {
        if (obj is not { } o)
        {
            return null;
        }

        JsonElement? found = null;
        foreach (var p in o.EnumerateObject())
        {
            if (p.NameEquals(name))
            {
                found = p.Value;
            }
        }

        return found;
    }

    /// <summary>
    /// The source and task of the lines a thread read last: a line of the same source gives back the same string, not a
    /// new copy per line.
    /// </summary>
    private sealed class Recent
    {
        [ThreadStatic]
        private static Recent? t_source;

        [ThreadStatic]
        private static Recent? t_task;

        private byte[] _raw = [];
        private string? _text;

        public static Recent Source => t_source ??= new Recent();

        public static Recent Task => t_task ??= new Recent();

        /// <summary>As <see cref="StatsReader.Text"/>: a string value's text, the last one's string when its bytes are the same.</summary>
        public string? Text(JsonElement? e)
        {
            if (e is not { ValueKind: JsonValueKind.String } value)
            {
                return StatsReader.Text(e);
            }

            var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
            if (_text is null || !raw.SequenceEqual(_raw))
            {
                _text = value.GetString();
                _raw = raw.ToArray();
            }

            return _text;
        }
    }

    /// <summary>A string value, as a cast of a JSON value to string gives it: null for absent, null, object or array; other kinds are not strings.</summary>
    private static string? Text(JsonElement? e) => e?.ValueKind switch
    {
        null or JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array => null,
        JsonValueKind.String => e.Value.GetString(),
        var kind => throw new InvalidOperationException($"a JSON {kind} is not a string"),
    };

    /// <summary>A template id of meta.templates: a string or null; anything else is not an id.</summary>
    private static string? TemplateId(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => e.GetString(),
        var kind => throw new InvalidOperationException($"a JSON {kind} is not a template id"),
    };

    /// <summary>An integer value, as a cast of a JSON value to int? gives it: null for absent, null, object or array.</summary>
    private static int? Int(JsonElement? e) => e?.ValueKind switch
    {
        null or JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array => null,
        JsonValueKind.Number => e.Value.GetInt32(),
        var kind => throw new InvalidOperationException($"a JSON {kind} is not a number"),
    };
}
