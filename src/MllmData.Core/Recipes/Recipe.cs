using System.Text.Json.Serialization;

namespace MllmData.Recipes;

/// <summary>A build: one or more sources and the settings that decide the output. Same recipe + seed + inputs = same bytes.</summary>
public sealed class Recipe
{
    private string _format = "llava";

    /// <summary>Dataset name; shards are named <c>&lt;name&gt;-00000-of-00004.jsonl</c>.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "data";

    [JsonPropertyName("seed")]
    public long Seed { get; set; }

    /// <summary>The dataset's licence for the card's front matter (an SPDX-style id such as <c>cc-by-4.0</c>); null = <c>unknown</c>.</summary>
    [JsonPropertyName("license")]
    public string? License { get; set; }

    /// <summary>Hugging Face task categories for the card's front matter, e.g. <c>visual-question-answering</c>.</summary>
    [JsonPropertyName("task_categories")]
    public List<string> TaskCategories { get; set; } = [];

    [JsonPropertyName("format")]
    public string Format
    {
        get => _format;
        set
        {
            _format = value;
            FormatGiven = true;
        }
    }

    /// <summary>Whether the recipe or a flag named the format (an evaluation build refuses a training format).</summary>
    [JsonIgnore]
    public bool FormatGiven { get; private set; }

    /// <summary>
    /// <c>train</c> or <c>eval</c>; eval writes LLaVA question files with the reference answers in <c>answers.jsonl</c>.
    /// Null = train, unless a source builds question-only records (<c>unanswered: eval</c>).
    /// </summary>
    [JsonPropertyName("split_role")]
    public string? SplitRole { get; set; }

    /// <summary>Evaluation sets (a build's folder or manifest, or an answers file) whose images and questions training records must not share.</summary>
    [JsonPropertyName("exclude")]
    public List<string> Exclude { get; set; } = [];

    /// <summary>Whether this build writes an evaluation set rather than training shards.</summary>
    [JsonIgnore]
    public bool IsEvaluation =>
        SplitRole == "eval" || (SplitRole is null && Sources.Any(s => s.Options.TryGetValue("unanswered", out var u) && u == "eval"));

    [JsonPropertyName("shard_records")]
    public long ShardRecords { get; set; } = 100_000;

    /// <summary>0 = no byte bound.</summary>
    [JsonPropertyName("shard_bytes")]
    public long ShardBytes { get; set; }

    [JsonPropertyName("strict")]
    public bool Strict { get; set; }

    /// <summary>Accept a source that yields no records; otherwise such a build fails (exit 2) naming the source.</summary>
    [JsonPropertyName("allow_empty")]
    public bool AllowEmpty { get; set; }

    /// <summary>Write a <c>meta</c> object with provenance in every record; null = the format's default (llava, template: yes).</summary>
    [JsonPropertyName("meta")]
    public bool? Meta { get; set; }

    /// <summary>openai format: image URLs under this prefix instead of embedded base64 data URLs.</summary>
    [JsonPropertyName("image_url_prefix")]
    public string? ImageUrlPrefix { get; set; }

    /// <summary>openai format: a system message put first in every example.</summary>
    [JsonPropertyName("system_prompt")]
    public string? SystemPrompt { get; set; }

    /// <summary>Shard container: <c>jsonl</c>, <c>json</c> (one JSON list per shard, as LLaVA's trainer reads it) or <c>parquet</c>.</summary>
    [JsonPropertyName("container")]
    public string? Container { get; set; }

    /// <summary>parquet: most rows per row group; null = 1000. Left out of the canonical recipe when unset, so other builds keep their hash.</summary>
    [JsonPropertyName("row_group_records")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? RowGroupRecords { get; set; }

    /// <summary>parquet: most string and image bytes per row group; null = 16 MiB.</summary>
    [JsonPropertyName("row_group_bytes")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? RowGroupBytes { get; set; }

    /// <summary>openai format: the <c>detail</c> of image parts (auto, low or high).</summary>
    [JsonPropertyName("image_detail")]
    public string? ImageDetail { get; set; }

    /// <summary>The image stage: verify, copy or embed, resize, deduplicate.</summary>
    [JsonPropertyName("images")]
    public Images.ImageSettings Images { get; set; } = new();

    /// <summary>template format: the frame (whole-record layout), a name in <c>templates/frames/</c> or a YAML file; null = plain (icl with examples).</summary>
    [JsonPropertyName("frame")]
    public string? Frame { get; set; }

    /// <summary>In-context examples (M-ICL): solved examples of the same task put before each query; 0 = none.</summary>
    [JsonPropertyName("icl_shots")]
    public int IclShots { get; set; }

    /// <summary>Order of the in-context examples: <c>seeded</c> or <c>similar-length</c> (the example closest in length last).</summary>
    [JsonPropertyName("icl_order")]
    public string IclOrder { get; set; } = "seeded";

    /// <summary>The orders of in-context examples: by the seed, or the one closest in length to the query last.</summary>
    public static readonly IReadOnlyList<string> IclOrders = ["seeded", "similar-length"];

    /// <summary>Built shards (a file, or a build folder) the in-context examples are drawn from instead of the source itself.</summary>
    [JsonPropertyName("icl_pool")]
    public string? IclPool { get; set; }

    [JsonPropertyName("tokens")]
    public TokenSettings Tokens { get; set; } = new();

    [JsonPropertyName("sources")]
    public List<SourceSpec> Sources { get; set; } = [];

    /// <summary>When present, the sources' records are sampled to targets and interleaved by the seed, instead of written source after source.</summary>
    [JsonPropertyName("mixture")]
    public MixtureSettings? Mixture { get; set; }

    /// <summary>When present, the build goes to <c>&lt;out&gt;/build</c> and its short answers are rewritten into <c>&lt;out&gt;</c>.</summary>
    [JsonPropertyName("rewrite")]
    public RewriteSettings? Rewrite { get; set; }

    /// <summary>When present (and there are no sources), the build generates samples with a model instead.</summary>
    [JsonPropertyName("self_instruct")]
    public SelfInstructSettings? SelfInstruct { get; set; }

    /// <summary>The recipe file's folder (full path); null for a build from flags. Output paths are shown relative to it.</summary>
    [JsonIgnore]
    public string? Folder { get; set; }
}

/// <summary>Special tokens of the flat template form and the image placeholder.</summary>
public sealed class TokenSettings
{
    [JsonPropertyName("bos")]
    public string Bos { get; set; } = "<BOS>";

    [JsonPropertyName("eos")]
    public string Eos { get; set; } = "<EOS>";

    [JsonPropertyName("image")]
    public string Image { get; set; } = "<image>";
}

/// <summary>One source of a recipe: an adapter, its input files and settings.</summary>
public sealed class SourceSpec
{
    /// <summary>Name used in record ids and provenance; defaults to the adapter name.</summary>
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("adapter")]
    public string Adapter { get; set; } = string.Empty;

    /// <summary>The licence of this source's data as the recipe states it, shown in the dataset card.</summary>
    [JsonPropertyName("license")]
    public string? License { get; set; }

    [JsonPropertyName("inputs")]
    public SortedDictionary<string, string> Inputs { get; set; } = new(StringComparer.Ordinal);

    [JsonPropertyName("image_root")]
    public string? ImageRoot { get; set; }

    /// <summary>Prefix put before every image path in the output (e.g. <c>coco/train2014/</c>).</summary>
    [JsonPropertyName("image_prefix")]
    public string? ImagePrefix { get; set; }

    /// <summary>Template pack id or file; defaults to the adapter's pack.</summary>
    [JsonPropertyName("templates")]
    public string? Templates { get; set; }

    /// <summary>Use only templates carrying all of these tags (e.g. <c>brief</c>).</summary>
    [JsonPropertyName("template_tags")]
    public List<string> TemplateTags { get; set; } = [];

    /// <summary>Response-format suffix id of the pack, <c>default</c> or <c>none</c>.</summary>
    [JsonPropertyName("suffix")]
    public string Suffix { get; set; } = "default";

    /// <summary><c>first</c> or <c>every</c> turn.</summary>
    [JsonPropertyName("suffix_turns")]
    public string SuffixTurns { get; set; } = "every";

    /// <summary>A reasoning trigger of the <c>cot</c> pack appended to every templated instruction: its id, or <c>random</c> (seeded per record).</summary>
    [JsonPropertyName("cot_trigger")]
    public string? CotTrigger { get; set; }

    /// <summary>
    /// <c>match</c>: every question turn gets an answer-format constraint suffix its answer satisfies ("Answer yes or no."
    /// only on yes/no answers), seeded per record; <c>off</c> (default): the pack's suffix as usual.
    /// </summary>
    [JsonPropertyName("constraints")]
    public string Constraints { get; set; } = ConstraintsOff;

    public const string ConstraintsMatch = "match";

    public const string ConstraintsOff = "off";

    [JsonPropertyName("options")]
    public SortedDictionary<string, string> Options { get; set; } = new(StringComparer.Ordinal);

    /// <summary>csv/jsonl field mapping: image, question, answer, choices, id → column or key.</summary>
    [JsonPropertyName("map")]
    public SortedDictionary<string, string> Map { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Mixture only: a multiplier on this source's sampling share (default 1).</summary>
    [JsonPropertyName("weight")]
    public double? Weight { get; set; }

    /// <summary>Mixture only: at most this many of the source's records are taken (a seeded sample of them).</summary>
    [JsonPropertyName("max_samples")]
    public long? MaxSamples { get; set; }

    /// <summary>Mixture only: epochs over the source before sampling (default 1); repeats get ids ending <c>-r2</c>, <c>-r3</c>, ...</summary>
    [JsonPropertyName("repeat")]
    public int? Repeat { get; set; }
}

/// <summary>How the sources of a recipe are mixed: the sampling rule and the optional total.</summary>
public sealed class MixtureSettings
{
    /// <summary>The sampling rules: each source's share is its weight times its size, the square root of its size, or 1.</summary>
    public static readonly IReadOnlyList<string> SamplingRules = ["proportional", "sqrt", "uniform"];

    /// <summary><c>proportional</c> (default), <c>sqrt</c> (InstructBLIP's rule) or <c>uniform</c>.</summary>
    [JsonPropertyName("sampling")]
    public string Sampling { get; set; } = "proportional";

    /// <summary>Records in the mixture; null = every source's records once (after max_samples and repeat).</summary>
    [JsonPropertyName("total")]
    public long? Total { get; set; }

    /// <summary>What is wrong with the settings, or null.</summary>
    public string? Problem() =>
        !SamplingRules.Contains(Sampling, StringComparer.Ordinal) ? $"mixture.sampling must be one of {string.Join(", ", SamplingRules)}, got '{Sampling}'"
        : Total is < 1 ? FormattableString.Invariant($"mixture.total must be 1 or more, got {Total}")
        : null;
}

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(Recipe))]
internal sealed partial class RecipeJsonContext : JsonSerializerContext;
