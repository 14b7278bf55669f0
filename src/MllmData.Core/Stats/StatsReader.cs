using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Formats;
using MllmData.Json;
using MllmData.Output;

namespace MllmData.Stats;

/// <summary>Reads a build's output folder (its manifest, then every shard it lists, record by record) into <see cref="DatasetStats"/>.</summary>
public static class StatsReader
{
    public static DatasetStats Read(string dir, QuestionFinder questions, string imageToken = "<image>")
    {
        var manifestPath = Path.Combine(dir, OutputFolder.ManifestFile);
        if (!File.Exists(manifestPath))
        {
            throw new InputDataException(manifestPath, "-", "no-manifest", "not a build's output folder: manifest.json is missing (an unfinished build leaves none)");
        }

        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(File.ReadAllText(manifestPath)) as JsonObject
                ?? throw new InputDataException(manifestPath, "-", "not-object", "the manifest is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new InputDataException(manifestPath, "-", "bad-json", $"the manifest is not valid JSON: {ex.Message}");
        }

        return Read(dir, manifest, questions, imageToken);
    }

    /// <summary>The shards a manifest lists under <paramref name="dir"/> (a staging folder, before the manifest is written).</summary>
    public static DatasetStats Read(string dir, JsonObject manifest, QuestionFinder questions, string imageToken = "<image>")
    {
        var manifestPath = Path.Combine(dir, OutputFolder.ManifestFile);
        var formatName = (string?)manifest["format"];
        var format = FormatRegistry.All.FirstOrDefault(f => f.Name == formatName);
        var options = new RenderOptions { ImageToken = imageToken };
        var stats = new DatasetStats(questions) { Folder = Path.GetFullPath(dir), Manifest = manifest, Readable = format is null or { Capabilities.Readable: true } };
        foreach (var shard in (manifest["shards"] as JsonArray ?? []).Select(s => (string?)s?["path"]))
        {
            if (shard is null || Path.IsPathRooted(shard) || shard.Split('/', '\\').Contains(".."))
            {
                throw new InputDataException(manifestPath, "shards", "bad-shard-path", $"shard path '{shard}' is not a path inside the build folder");
            }

            var path = Path.Combine(dir, shard);
            if (path.EndsWith(".json", StringComparison.Ordinal) || path.EndsWith(".parquet", StringComparison.Ordinal))
            {
                foreach (var (line, number) in ShardReader.Records(path))
                {
                    using var doc = JsonDocument.Parse(line.ToJsonString());
                    stats.Add(View(doc.RootElement, format, new LineOrigin(shard, number), options, path));
                }

                continue;
            }

            // JSON lines are parsed once each, straight into a document (a record may carry megabytes of embedded images).
            // Bytes, not strings: a line is read into a reused buffer and parsed in place (no UTF-16 copy of megabytes).
            using var lines = new Adapters.BoundedLineReader(File.OpenRead(path), int.MaxValue - 64);
            long largeBytes = 0;
            while (lines.TryRead(out var read))
            {
                var lineNo = read.Number;
                if (read.Bytes.Span.Trim(" \t\r"u8).IsEmpty)
                {
                    continue;
                }

                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(read.Bytes);
                }
                catch (JsonException ex)
                {
                    throw new InputDataException(path, $"line {lineNo}", "bad-json", ex.Message);
                }

                using (doc)
                {
                    if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        throw new InputDataException(path, $"line {lineNo}", "not-object", "a shard line is not a JSON object");
                    }

                    stats.Add(View(doc.RootElement, format, new LineOrigin(shard, lineNo), options, path));
                }

                // Lines with embedded images make large-object garbage (decoded bytes) that the collector leaves until
                // its large-object budget runs out, which grows with the machine's memory: collect (and compact) every 16 MB of it,
                // so the pass holds about one window of it whatever the number of images.
                if (read.Bytes.Length >= LargeLine && (largeBytes += read.Bytes.Length) >= LargeGarbageWindow)
                {
                    largeBytes = 0;
                    System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
                    GC.Collect();
                }
            }
        }

        return stats;
    }

    /// <summary>Lines at least this long are read into large-object memory.</summary>
    private const int LargeLine = 85_000;

    /// <summary>Large lines read between two collections.</summary>
    private const long LargeGarbageWindow = 16L << 20;

    /// <summary>A shard line as stats sees it: turns through the format's own reader, source, task, templates and image sizes from <c>meta</c>.</summary>
    public static RecordView View(JsonElement element, IOutputFormat? format, LineOrigin origin, RenderOptions options, string file)
    {
        var meta = element.TryGetProperty("meta", out var m) && m.ValueKind == JsonValueKind.Object ? JsonObject.Create(m) : null;
        format ??= FormatRegistry.Detect(element);
        List<TurnView> turns = [];
        List<(string Path, byte[]? Bytes, string? Media)> images = [];
        string id = element.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString()! : $"line{origin.Line}";
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
            images = [.. record.Images.Select(i => (i.Path, i.Inline ? i.Bytes : null, i.MediaType))];
            var templates = meta?["templates"] as JsonArray;
            turns = [.. record.Turns.Select((t, k) => new TurnView(t.Instruction ?? string.Empty, t.Input, t.Output, templates is not null && k < templates.Count ? (string?)templates[k] : null))];
        }
        else if (format is not null)
        {
            images = [.. format.Images(JsonObject.Create(element)!).Select(p => (p, (byte[]?)null, (string?)null))];
        }

        var sizes = meta?["images"] as JsonArray;
        var views = images.Select((p, k) => sizes is not null && k < sizes.Count && sizes[k] is JsonObject s
            ? new ImageView(p.Path, (int?)(s["width"] as JsonValue), (int?)(s["height"] as JsonValue)) { Bytes = p.Bytes, MediaType = p.Media }
            : new ImageView(p.Path, null, null) { Bytes = p.Bytes, MediaType = p.Media }).ToList();
        return new RecordView(id, (string?)(meta?["source"] as JsonValue) ?? "(no meta)", (string?)(meta?["task"] as JsonValue) ?? "(no meta)", views, turns)
        {
            Rewritten = meta?["rewrite"] is JsonObject,
        };
    }
}
