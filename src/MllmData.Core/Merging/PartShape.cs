using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Json;
using MllmData.Parts;

namespace MllmData.Merging;

/// <summary>
/// Checks a part manifest before the merge reads it: every field the merge takes is there and of its kind, the numbers
/// in range, and what can be checked against the part's own files agrees. A <c>part.json</c> that was edited or damaged
/// after its worker finished is a <c>bad-part</c> (exit 2) naming the file and the field, never a stack trace.
/// </summary>
internal sealed class PartShape
{
    private const string Reason = "bad-part";

    private readonly string _file;

    private PartShape(string file) => _file = file;

    /// <summary>Checks <paramref name="part"/> (read from <paramref name="file"/>, in <paramref name="dir"/>).</summary>
    public static void Check(string dir, string file, JsonObject part)
    {
        var c = new PartShape(file);
        var kind = c.Text(part, "kind");
        foreach (var key in new[] { "tool_version", "recipe_sha256", "name", "format", "container", "image_token", "events_sha256" })
        {
            c.Text(part, key);
        }

        c.Whole(part, "seed", long.MinValue);
        var count = c.Whole(part, "num_shards", 1, 100_000);
        c.Whole(part, "shard_index", 0, count - 1);
        foreach (var key in new[] { "shard_records", "shard_bytes", "events", "records", "records_with_images", "rejects" })
        {
            c.Whole(part, key, 0);
        }

        c.Counts(part, "rejects_by_reason", required: true);
        foreach (var input in c.Array(part, "inputs", required: true)!)
        {
            var o = c.Object(input, "inputs[]");
            c.Text(o, "path", "inputs[].path");
            c.Text(o, "sha256", "inputs[].sha256");
        }

        if ((string?)part["container"] == "parquet")
        {
            c.Text(part, "parquet_images");
            c.Whole(part, "row_group_records", 1);
            c.Whole(part, "row_group_bytes", 0);
        }

        c.Flag(part, "allow_empty");
        c.Flag(part, "capped");
        c.Optional(part, "cap", JsonValueKind.String);
        c.Optional(part, "price_table", JsonValueKind.String);
        c.Optional(part, "templates_sha256", JsonValueKind.String);
        if (c.Array(part, "sources", required: false) is { } sources)
        {
            long sum = 0;
            foreach (var source in sources)
            {
                var o = c.Object(source, "sources[]");
                c.Text(o, "name", "sources[].name");
                c.Optional(o, "adapter", JsonValueKind.String, "sources[].adapter");
                sum += c.Whole(o, "records", 0, long.MaxValue, "sources[].records");
            }

            if (sum != (long)part["records"]!)
            {
                throw c.Bad(string.Create(CultureInfo.InvariantCulture, $"its sources' records add up to {sum}, but it says records {(long)part["records"]!}"));
            }
        }

        if (part["recipe_canonical"] is not null)
        {
            var canonical = Encoding.UTF8.GetBytes(c.Text(part, "recipe_canonical"));
            if (Convert.ToHexStringLower(SHA256.HashData(canonical)) != (string)part["recipe_sha256"]!)
            {
                throw c.Bad("recipe_canonical is not the recipe whose sha256 it gives (recipe_sha256)");
            }

            try
            {
                JsonSerializer.Deserialize(canonical, Recipes.RecipeJsonContext.Default.Recipe);
            }
            catch (JsonException ex)
            {
                throw c.Bad($"recipe_canonical is not a recipe: {JsonErrors.InWords(ex)}");
            }
        }

        if (part["images"] is not null)
        {
            var images = c.Object(part["images"], "images");
            c.Text(images, "mode", "images.mode");
            c.Whole(images, "near_duplicate_distance", 0, 64, "images.near_duplicate_distance");
            c.Whole(images, "checked", 0, long.MaxValue, "images.checked");
            c.Counts(images, "rejected", required: true, "images.rejected");
        }

        c.Whole(part, "image_files", 0, long.MaxValue, required: false);
        if (kind is PartManifest.RewriteKind or PartManifest.SelfInstructKind)
        {
            c.Text(part, "model");
            c.Counts(part, "usage", required: false);
        }

        if (kind == PartManifest.RewriteKind)
        {
            c.Text(part, "prompt_version");
            c.Whole(part, "rewritten_answers", 0);
        }

        if (kind == PartManifest.SelfInstructKind)
        {
            foreach (var k in c.Array(part, "kinds", required: true)!)
            {
                if (k?.GetValueKind() != JsonValueKind.String)
                {
                    throw c.Bad("kinds holds a value that is not text");
                }
            }

            var versions = c.Object(part["prompt_versions"], "prompt_versions");
            foreach (var (key, v) in versions)
            {
                if (v?.GetValueKind() != JsonValueKind.String)
                {
                    throw c.Bad($"prompt_versions.{key} is not text");
                }
            }

            if (part["near_duplicate_threshold"]?.GetValueKind() != JsonValueKind.Number || (double)part["near_duplicate_threshold"]! is < 0 or > 1)
            {
                throw c.Bad("near_duplicate_threshold is not a number from 0 to 1");
            }

            if (part["hallucination"] is not null)
            {
                var h = c.Object(part["hallucination"], "hallucination");
                c.Text(h, "mode", "hallucination.mode");
                var counts = c.Object(h["counts"], "hallucination.counts");
                foreach (var key in new[] { "records", "records_with_hallucination", "mentions", "hallucinated_mentions" })
                {
                    c.Whole(counts, key, 0, long.MaxValue, "hallucination.counts." + key);
                }

                c.Counts(counts, "by_category", required: true, "hallucination.counts.by_category");
            }
        }

        if (!File.Exists(Path.Combine(dir, PartWriter.EventsFile)))
        {
            throw new InputDataException(Path.Combine(dir, PartWriter.EventsFile), "-", Reason, "the part's events file is missing (its part.json is there): run that worker again");
        }
    }

    private InputDataException Bad(string why) => new(_file, "-", Reason, why);

    /// <summary>What a field holds, in words: "is missing", or "is VALUE, not KIND".</summary>
    private static string Shown(JsonNode? value, string kind) => value is null ? "is missing" : $"is {Shorten(value.ToJsonString())}, not {kind}";

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";

    private string Text(JsonObject o, string key, string? name = null) =>
        o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? (string)v! : throw Bad($"{name ?? key} {Shown(o[key], "text")}");

    private long Whole(JsonObject o, string key, long min, long max = long.MaxValue, string? name = null) => Whole(o, key, min, max, required: true, name)!.Value;

    private long? Whole(JsonObject o, string key, long min, long max, bool required, string? name = null)
    {
        var node = o[key];
        if (node is null && !required)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) && n >= min && n <= max)
        {
            return n;
        }

        var range = max == long.MaxValue ? (min == long.MinValue ? "a whole number" : string.Create(CultureInfo.InvariantCulture, $"a whole number from {min}")) : string.Create(CultureInfo.InvariantCulture, $"a whole number from {min} to {max}");
        throw Bad($"{name ?? key} {Shown(node, range)}");
    }

    private void Flag(JsonObject o, string key)
    {
        if (o[key] is { } node && node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw Bad($"{key} {Shown(node, "true or false")}");
        }
    }

    private void Optional(JsonObject o, string key, JsonValueKind kind, string? name = null)
    {
        if (o[key] is { } node && node.GetValueKind() != kind)
        {
            throw Bad($"{name ?? key} {Shown(node, "text")}");
        }
    }

    private JsonObject Object(JsonNode? node, string name) => node as JsonObject ?? throw Bad($"{name} {Shown(node, "an object")}");

    private JsonArray? Array(JsonObject o, string key, bool required) =>
        o[key] is JsonArray a ? a : o[key] is null && !required ? null : throw Bad($"{key} {Shown(o[key], "a list")}");

    /// <summary>An object of whole numbers (counts by reason, usage counters).</summary>
    private void Counts(JsonObject o, string key, bool required, string? name = null)
    {
        if (o[key] is null && !required)
        {
            return;
        }

        foreach (var (k, _) in Object(o[key], name ?? key))
        {
            Whole(o[key]!.AsObject(), k, 0, long.MaxValue, $"{name ?? key}.{k}");
        }
    }
}
