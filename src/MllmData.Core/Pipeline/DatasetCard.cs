using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Output;
using MllmData.Recipes;
using MllmData.Stats;

namespace MllmData.Pipeline;

/// <summary>
/// The build's <c>README.md</c>: a Hugging Face Hub dataset card. YAML front matter (<c>configs</c> with <c>data_files</c>
/// under <c>data/</c>, <c>license</c>, <c>task_categories</c>, <c>size_categories</c>), then the sources with their counts and
/// licences, the main figures, and the recipe. Every value comes from the recipe, the manifest and the shards, so the same
/// build gives the same bytes.
/// </summary>
public static class DatasetCard
{
    public const string FileName = "README.md";

    // Text as written (no \u escapes for quotes or non-ASCII): the card is read by people.
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions RelaxedIndented = new(Relaxed) { WriteIndented = true };

    /// <summary>The Hub's size buckets: n&lt;1K, 1K&lt;n&lt;10K, ... n&gt;1T (a count on a boundary goes to the bucket above it).</summary>
    public static string SizeCategory(long n)
    {
        string[] names = ["1K", "10K", "100K", "1M", "10M", "100M", "1B", "10B", "100B", "1T"];
        long bound = 1000;
        if (n < bound)
        {
            return "n<1K";
        }

        for (var i = 0; i + 1 < names.Length; i++)
        {
            if (n < bound * 10)
            {
                return $"{names[i]}<n<{names[i + 1]}";
            }

            bound *= 10;
        }

        return "n>1T";
    }

    public static string Render(Recipe recipe, JsonObject manifest, DatasetStats stats, IReadOnlyList<SourceOutcome> sources, bool evaluation, byte[]? canonical = null)
    {
        var container = (string?)manifest["container"] ?? "jsonl";
        var records = stats.Overall.Records;
        var sb = new StringBuilder();
        FrontMatter(sb, recipe.Name, container, evaluation, recipe.License, recipe.TaskCategories, records);
        sb.Append("# ").Append(Md(recipe.Name)).Append("\n\n");
        sb.Append(I($"Built by mllmdata {manifest["tool_version"]} in the `{manifest["format"]}` format ({container} shards under `data/`), seed {recipe.Seed}, recipe sha256 `{manifest["recipe_sha256"]}`. "));
        sb.Append(I($"{records} records, {manifest["rejects"]} rejects (`rejects.jsonl`); `manifest.json` lists every shard with its sha256.\n\n"));

        sb.Append("## Sources\n\n| source | adapter | records | licence |\n|---|---|---:|---|\n");
        var licences = recipe.Sources.Select(s => (Name: s.Name ?? s.Adapter, s.License)).ToList();
        foreach (var s in sources)
        {
            var licence = licences.FirstOrDefault(l => l.Name == s.Name).License ?? "not stated in the recipe";
            sb.Append("| ").Append(Md(s.Name)).Append(" | ").Append(Md(s.Adapter)).Append(" | ").Append(records == 0 && s.Records == 0 ? "0" : Count(stats, s.Name, s.Records)).Append(" | ").Append(Md(licence)).Append(" |\n");
        }

        sb.Append("\nCheck each source's own terms before you use or share this data.\n\n");

        Statistics(sb, stats, manifest);
        sb.Append("\n## Recipe\n\nThe canonical recipe (paths relative to the recipe's folder); its sha256 is the manifest's `recipe_sha256`.\n\n");
        var shown = JsonNode.Parse(canonical ?? RecipeLoader.Canonical(recipe))!.ToJsonString(RelaxedIndented);
        var fence = new string('`', Math.Max(3, LongestRun(shown, '`') + 1));
        sb.Append(fence).Append("json\n").Append(shown).Append('\n').Append(fence).Append('\n');
        return sb.ToString();
    }

    /// <summary>The card of a rewrite or self-instruct output: the same front matter and figures, with the run's settings (from its manifest) in place of a recipe.</summary>
    public static string RenderDerived(JsonObject manifest, DatasetStats stats, string kind)
    {
        var name = (string?)manifest["name"] ?? "data";
        var container = (string?)manifest["container"] ?? "jsonl";
        var section = manifest[kind == "rewrite" ? "rewrite" : "self_instruct"] as JsonObject ?? [];
        var sb = new StringBuilder();
        FrontMatter(sb, name, container, evaluation: false, license: null, [], stats.Overall.Records);
        sb.Append("# ").Append(Md(name)).Append("\n\n");
        sb.Append(I($"Made by `mllmdata {kind}` {manifest["tool_version"]} with the model `{Md((string?)section["model"] ?? "?")}` in the `{manifest["format"]}` format ({container} shards under `data/`), settings sha256 `{manifest["recipe_sha256"]}`. "));
        sb.Append(I($"{stats.Overall.Records} records, {manifest["rejects"]} rejects (`rejects.jsonl`); `manifest.json` lists every shard with its sha256.\n\n"));
        sb.Append(kind == "rewrite"
            ? "The records are an earlier build's, with answers lengthened by the model; the questions, images and ids are the build's own. Its licence and its sources' terms carry over, and so do the model provider's terms for generated text.\n\n"
            : "The records were written by the model from seed examples and the images' annotations. The terms of the sources and of the model provider apply.\n\n");
        Statistics(sb, stats, manifest);
        sb.Append("\n## Settings\n\nAs the manifest gives them.\n\n| setting | value |\n|---|---|\n");
        foreach (var (key, value) in section)
        {
            Row(sb, Md(key), Md(value?.ToJsonString(Relaxed) ?? "null"));
        }

        // Model usage and cost stay in the manifest: they differ between a synchronous run, a batch collect and a resumed
        // run that finish with the same records, and the card is the same bytes for the same records.
        sb.Append("\nModel usage and estimated cost: `usage` in `manifest.json`.\n");
        return sb.ToString();
    }

    /// <summary>
    /// Writes the card of a finished rewrite or self-instruct output (single run or merge) into its staging folder, from the
    /// staged shards and the manifest without its card entry, and returns the manifest listing it.
    /// </summary>
    public static Manifest WriteDerived(string staging, Manifest manifest, string kind, Templates.TemplateLibrary? templates, string imageToken) =>
        WriteCard(staging, manifest, node => RenderDerived(node, StatsReader.Read(staging, node, new QuestionFinder(templates), imageToken), kind));

    /// <summary>The card rendered from the manifest without its card entry, written into staging; the manifest that lists it.</summary>
    private static Manifest WriteCard(string staging, Manifest manifest, Func<JsonObject, string> render)
    {
        var draft = new MemoryStream();
        manifest.WriteTo(draft);
        var card = Encoding.UTF8.GetBytes(render((JsonObject)JsonNode.Parse(draft.ToArray())!));
        AtomicFile.Write(Path.Combine(staging, FileName), s => s.Write(card));
        return manifest.WithCard(new CardInfo(FileName, card.LongLength, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(card))));
    }

    private static void FrontMatter(StringBuilder sb, string name, string container, bool evaluation, string? license, List<string> taskCategories, long records)
    {
        sb.Append("---\n");
        sb.Append("configs:\n- config_name: default\n  data_files:\n");
        sb.Append("  - split: ").Append(evaluation ? "test" : "train").Append('\n');
        sb.Append("    path: ").Append(Q($"data/{name}-*.{container}")).Append('\n');
        sb.Append("license: ").Append(Q(license ?? "unknown")).Append('\n');
        if (taskCategories.Count > 0)
        {
            sb.Append("task_categories:\n");
            foreach (var t in taskCategories)
            {
                sb.Append("- ").Append(Q(t)).Append('\n');
            }
        }

        sb.Append("size_categories:\n- ").Append(Q(SizeCategory(records))).Append('\n');
        sb.Append("pretty_name: ").Append(Q(name)).Append('\n');
        sb.Append("tags:\n- \"mllmdata\"\n- \"multimodal\"\n");
        sb.Append("---\n\n");
    }

    private static void Statistics(StringBuilder sb, DatasetStats stats, JsonObject manifest)
    {
        var o = stats.Overall;
        sb.Append("## Statistics\n\n");
        sb.Append("Lengths in o200k tokens; percentiles by nearest rank. `mllmdata stats` on this folder gives the full figures.");
        sb.Append(stats.TokensSampled && o.TextKnown
            ? I($" Token lengths are counted on {stats.TokenRecords} of the {o.Records} records, those with the smallest hash of their id (the same records in one run, a merge of parts and `mllmdata stats`); every other figure counts every record.\n\n")
            : "\n\n");
        if (!stats.Overall.TextKnown)
        {
            sb.Append(I($"{manifest["format"]} lines cannot be read back into turns: the turn and text figures are left out (-).\n\n"));
        }
        else if (!o.UnrecoveredKnown)
        {
            sb.Append("No turn names the template that wrote it (`meta.templates`), so the question cannot be told apart from the rest of the instruction: question tokens are left out (-).\n\n");
        }

        sb.Append("| figure | value |\n|---|---|\n");
        Row(sb, "records", I($"{o.Records}"));
        Row(sb, "turns per record", Dist(o.TurnsPerRecord));
        Row(sb, "images per record", Dist(o.ImagesPerRecord));
        Row(sb, "instruction tokens", Dist(o.InstructionTokens));
        Row(sb, "question tokens", Dist(o.QuestionTokens));
        Row(sb, "answer tokens", Dist(o.AnswerTokens));
        Row(sb, "answers of ≤3 words", o.ShortText);
        Row(sb, "answer kinds", o.KindsText);
        Row(sb, "yes share of yes/no answers", o.YesPercent);
        Row(sb, "rejects by reason", manifest["rejects_by_reason"] is JsonObject { Count: > 0 } reasons ? string.Join(", ", reasons.Select(kv => I($"{kv.Key} {kv.Value}"))) : "none");
        if (stats.ByTask.Count == 0)
        {
            sb.Append("\nNo records: the build is empty.\n");
            return;
        }

        sb.Append("\n| task | records | answer tokens p50 | answers of ≤3 words |\n|---|---:|---:|---:|\n");
        foreach (var (task, g) in stats.ByTask)
        {
            sb.Append("| ").Append(Md(task)).Append(I($" | {g.Records} | {GroupStats.Percentile(g.AnswerTokens, 50)} | {g.ShortPercent} |\n"));
        }
    }

    /// <summary>
    /// Writes the card into the staging folder of a finished build (single run or merge) and returns the manifest listing
    /// it: the card is made from the staged shards and the manifest without its card entry.
    /// </summary>
    /// <remarks>
    /// With <paramref name="gathered"/> (the figures a <see cref="StatsWorker"/> took from the lines as the build wrote them)
    /// the shards are not read again: the worker saw the same bytes in the same order.
    /// </remarks>
    public static Manifest WriteInto(string staging, Manifest manifest, Recipe recipe, Templates.TemplateLibrary templates, IReadOnlyList<SourceOutcome> sources, bool evaluation, byte[]? canonical = null, DatasetStats? gathered = null) =>
        WriteCard(staging, manifest, node =>
        {
            var stats = gathered ?? StatsReader.Read(staging, node, new QuestionFinder(templates), recipe.Tokens.Image);
            stats.Folder = Path.GetFullPath(staging);
            stats.Manifest = node;
            return Render(recipe, node, stats, sources, evaluation, canonical);
        });

    /// <summary>Records of a source as read back from the shards (meta.source), or as the build counted them when records carry no meta.</summary>
    private static string Count(DatasetStats stats, string source, long built) =>
        (stats.BySource.TryGetValue(source, out var g) ? g.Records : built).ToString(CultureInfo.InvariantCulture);

    private static int LongestRun(string s, char c)
    {
        int best = 0, run = 0;
        foreach (var ch in s)
        {
            run = ch == c ? run + 1 : 0;
            best = Math.Max(best, run);
        }

        return best;
    }

    private static void Row(StringBuilder sb, string name, string value) => sb.Append("| ").Append(name).Append(" | ").Append(value).Append(" |\n");

    private static string Dist(ValueCounts v) => v.N == 0 ? "-" : I($"mean {v.Mean:0.##}, p50 {v.Percentile(50)}, p90 {v.Percentile(90)}, max {v.Max}");

    /// <summary>A YAML double-quoted scalar (JSON string syntax is valid YAML).</summary>
    private static string Q(string s)
    {
        var sb = new StringBuilder("\"", s.Length + 2);
        foreach (var ch in s)
        {
            _ = ch switch
            {
                '"' => sb.Append("\\\""),
                '\\' => sb.Append("\\\\"),
                _ when char.IsControl(ch) => sb.Append(I($"\\u{(int)ch:X4}")),
                _ => sb.Append(ch),
            };
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Text for a Markdown table cell: no line breaks, pipes and markup characters escaped.</summary>
    private static string Md(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var ch in s)
        {
            if (char.IsControl(ch))
            {
                sb.Append(' ');
            }
            else if (ch is '<' or '>' or '&')
            {
                sb.Append(ch switch { '<' => "&lt;", '>' => "&gt;", _ => "&amp;" });
            }
            else if ("\\`*_[]|".Contains(ch, StringComparison.Ordinal))
            {
                sb.Append('\\').Append(ch);
            }
            else
            {
                sb.Append(ch);
            }
        }

        return sb.ToString();
    }

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
