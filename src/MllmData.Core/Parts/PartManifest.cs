using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Formats;
using MllmData.Output;
using System.Reflection;

namespace MllmData.Parts;

/// <summary>
/// <c>part.json</c>: what a worker of a job array wrote and everything the merge needs to give the single run's bytes:
/// the run's identity (kind, tool version, recipe hash, seed, shard count), the shard and format settings, the inputs
/// with their hashes, the events file with its sha256 and counts, and counters the manifest sums.
/// </summary>
public static class PartManifest
{
    public const string BuildKind = "build";
    public const string RewriteKind = "rewrite";
    public const string SelfInstructKind = "self-instruct";

    /// <summary>The fields every part of one run must share; the merge refuses parts that differ in any.</summary>
    public static readonly IReadOnlyList<string> Identity =
        ["kind", "tool_version", "recipe_sha256", "seed", "num_shards", "name", "format", "container", "parquet_images", "row_group_records", "row_group_bytes", "shard_records", "shard_bytes", "image_token", "inputs", "templates_sha256"];

    /// <summary>The tool's version, as the build manifest gives it.</summary>
    public static string ToolVersion { get; } =
        typeof(PartManifest).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static JsonObject Header(string kind, WorkSplit split, string name, IOutputFormat format, RenderOptions options, long shardRecords, long shardBytes, long seed, string recipeSha256)
    {
        var header = new JsonObject
        {
            ["mllmdata_part"] = 1,
            ["kind"] = kind,
            ["tool_version"] = ToolVersion,
            ["recipe_sha256"] = recipeSha256,
            ["seed"] = seed,
            ["num_shards"] = split.Count,
            ["shard_index"] = split.Index,
            ["name"] = name,
            ["format"] = format.Name,
            ["container"] = options.Container,
            ["shard_records"] = shardRecords,
            ["shard_bytes"] = shardBytes,
            ["image_token"] = options.ImageToken,
        };
        if (options.Container == "parquet")
        {
            // The merge writes the rows as the workers would have: images embedded or as paths, the same row groups.
            header["parquet_images"] = options.EmbedImageColumn ? "embed" : "paths";
            header["row_group_records"] = options.RowGroupRecords;
            header["row_group_bytes"] = options.RowGroupBytes;
        }

        return header;
    }

    public static JsonArray Inputs(IReadOnlyDictionary<string, string> inputs) =>
        new([.. inputs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (JsonNode)new JsonObject { ["path"] = kv.Key, ["sha256"] = kv.Value })]);

    /// <summary>The events file and its counts.</summary>
    public static void Complete(JsonObject part, PartWriter events, string sha256, IReadOnlyDictionary<string, long> rejectsByReason)
    {
        part["events_file"] = PartWriter.EventsFile;
        part["events_sha256"] = sha256;
        part["events"] = events.Events;
        part["records"] = events.Records;
        part["records_with_images"] = events.RecordsWithImages;
        part["rejects"] = events.Rejects;
        var byReason = new JsonObject();
        foreach (var (reason, n) in rejectsByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            byReason[reason] = n;
        }

        part["rejects_by_reason"] = byReason;
    }

    public static void Write(string stagingDir, JsonObject part) =>
        AtomicFile.Write(Path.Combine(stagingDir, OutputFolder.PartFile), s =>
        {
            using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            part.WriteTo(w);
            w.Flush();
            s.WriteByte((byte)'\n');
        });
}
