using System.Globalization;
using System.Text.Json.Serialization;

namespace MllmData.Recipes;

/// <summary>Which model to call and how: endpoint, limits, retries, caps and cache; shared by rewrite and self-instruct.</summary>
public class ModelSettings
{
    /// <summary><c>azure</c> or <c>openai</c>; null = azure when AZURE_OPENAI_ENDPOINT is set.</summary>
    [JsonPropertyName("endpoint")]
    public string? Endpoint { get; set; }

    /// <summary>Model name, or the deployment name on Azure.</summary>
    [JsonPropertyName("model")]
    public string Model { get; set; } = "gpt-4o-mini";

    [JsonPropertyName("concurrency")]
    public int Concurrency { get; set; } = 8;

    [JsonPropertyName("rpm")]
    public int RequestsPerMinute { get; set; }

    [JsonPropertyName("tpm")]
    public int TokensPerMinute { get; set; }

    [JsonPropertyName("max_retries")]
    public int MaxRetries { get; set; } = 5;

    /// <summary>Seconds per attempt.</summary>
    [JsonPropertyName("timeout")]
    public double Timeout { get; set; } = 60;

    /// <summary>Seconds per request including retries.</summary>
    [JsonPropertyName("deadline")]
    public double Deadline { get; set; } = 600;

    /// <summary>First retry delay in seconds.</summary>
    [JsonPropertyName("backoff")]
    public double Backoff { get; set; } = 1;

    [JsonPropertyName("max_requests")]
    public long? MaxRequests { get; set; }

    [JsonPropertyName("max_tokens")]
    public long? MaxTokens { get; set; }

    [JsonPropertyName("max_cost")]
    public decimal? MaxCost { get; set; }

    [JsonPropertyName("max_output_tokens")]
    public int MaxOutputTokens { get; set; } = 120;

    /// <summary>Response cache; null = MLLMDATA_CACHE or .mllmdata-cache/responses.db.</summary>
    [JsonPropertyName("cache")]
    public string? Cache { get; set; }

    [JsonPropertyName("price_table")]
    public string? PriceTable { get; set; }

    [JsonIgnore]
    public string EndpointKind =>
        Endpoint ?? (Environment.GetEnvironmentVariable("AZURE_OPENAI_ENDPOINT") is { Length: > 0 } ? "azure" : "openai");

    [JsonIgnore]
    public string CachePath =>
        Cache ?? Environment.GetEnvironmentVariable("MLLMDATA_CACHE") ?? Path.Combine(".mllmdata-cache", "responses.db");

    /// <summary>The first setting that cannot be used, naming the flag and the recipe key under <paramref name="section"/>; null when all are fine.</summary>
    public virtual string? Problem(string section)
    {
        string Name(string flag) => $"--{flag} ({section}.{flag.Replace('-', '_')})";
        if (Endpoint is not (null or "azure" or "openai"))
        {
            return $"{Name("endpoint")} must be azure or openai, got '{Endpoint}'";
        }

        return (string.IsNullOrWhiteSpace(Model) ? $"{Name("model")} must not be empty" : null)
            ?? Whole(Name("concurrency"), Concurrency, 1, 1000)
            ?? Whole(Name("rpm"), RequestsPerMinute, 0, 10_000_000)
            ?? Whole(Name("tpm"), TokensPerMinute, 0, 1_000_000_000)
            ?? Whole(Name("max-retries"), MaxRetries, 0, 100)
            ?? Seconds(Name("timeout"), Timeout, 86_400, zero: false)
            ?? Seconds(Name("deadline"), Deadline, 7 * 86_400, zero: false)
            ?? Seconds(Name("backoff"), Backoff, 3_600, zero: true)
            ?? Whole(Name("max-requests"), MaxRequests, 1, long.MaxValue)
            ?? Whole(Name("max-tokens"), MaxTokens, 1, long.MaxValue)
            ?? (MaxCost is null or > 0 ? null : string.Create(CultureInfo.InvariantCulture, $"{Name("max-cost")} must be more than 0, got {MaxCost}"))
            ?? Whole(Name("max-output-tokens"), MaxOutputTokens, 1, 1_000_000);
    }

    /// <summary>A whole number within bounds, or the message saying it is not.</summary>
    protected static string? Whole(string what, long? value, long min, long max) =>
        value is not { } v || (v >= min && v <= max)
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{what} must be from {min} to {max}, got {v}");

    private static string? Seconds(string what, double value, double max, bool zero) =>
        double.IsFinite(value) && (zero ? value >= 0 : value > 0) && value <= max
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{what} must be {(zero ? "from 0 to" : "more than 0 and at most")} {max} seconds, got {value}");

    public ModelCalls.CallSettings ToCallSettings() => new()
    {
        Concurrency = Concurrency,
        RequestsPerMinute = RequestsPerMinute,
        TokensPerMinute = TokensPerMinute,
        MaxRetries = MaxRetries,
        PerTryTimeout = TimeSpan.FromSeconds(Timeout),
        Deadline = TimeSpan.FromSeconds(Deadline),
        BaseDelay = TimeSpan.FromSeconds(Backoff),
        MaxRequests = MaxRequests,
        MaxTokens = MaxTokens,
        MaxCost = MaxCost,
    };
}

/// <summary>How to rewrite answers: the <c>rewrite</c> section of a recipe, or the flags of <c>mllmdata rewrite</c>.</summary>
public sealed class RewriteSettings : ModelSettings
{
    /// <summary><c>question-only</c>, <c>with-captions</c>, <c>with-image</c>, or a prompt pack file.</summary>
    [JsonPropertyName("prompt")]
    public string Prompt { get; set; } = "question-only";

    [JsonPropertyName("captions")]
    public string? Captions { get; set; }

    [JsonPropertyName("image_root")]
    public string? ImageRoot { get; set; }

    [JsonPropertyName("select")]
    public string Select { get; set; } = "short";

    [JsonPropertyName("max_answer_words")]
    public int MaxAnswerWords { get; set; } = 3;

    [JsonPropertyName("keep_raw_on_failure")]
    public bool KeepRawOnFailure { get; set; }

    /// <summary>COCO instances file: the annotated objects of each image, for the hallucination check.</summary>
    [JsonPropertyName("instances")]
    public string? Instances { get; set; }

    /// <summary>
    /// Template packs the build used that are files of the user's own (<c>--templates my.yaml</c>): their response-format
    /// suffixes are taken off rewritten questions as the library's are. Pack ids are accepted too.
    /// </summary>
    [JsonPropertyName("templates")]
    public List<string>? TemplatePacks { get; set; }

    /// <summary><c>flag</c> (default: count object mentions the image does not hold), <c>reject</c> (reject such rewrites) or <c>off</c>.</summary>
    [JsonPropertyName("hallucination")]
    public string Hallucination { get; set; } = "flag";

    public override string? Problem(string section) =>
        base.Problem(section)
        ?? (Hallucination is "reject" or "flag" or "off" ? null : $"--hallucination ({section}.hallucination) must be reject, flag or off, got '{Hallucination}'")
        ?? (Select is "short" or "all" ? null : $"--select ({section}.select) must be short or all, got '{Select}'")
        ?? (string.IsNullOrWhiteSpace(Prompt) ? $"--prompt ({section}.prompt) must not be empty" : null)
        ?? Whole($"--max-answer-words ({section}.max_answer_words)", MaxAnswerWords, 1, 1000);
}

/// <summary>Self-instruct generation: the <c>self_instruct</c> section of a recipe, or the flags of <c>mllmdata self-instruct</c>.</summary>
public sealed class SelfInstructSettings : ModelSettings
{
    public SelfInstructSettings()
    {
        MaxOutputTokens = 700;
    }

    /// <summary>A caption adapter; <c>coco-captions</c> also takes an <c>instances</c> input for object boxes.</summary>
    [JsonPropertyName("adapter")]
    public string Adapter { get; set; } = "coco-captions";

    [JsonPropertyName("inputs")]
    public SortedDictionary<string, string> Inputs { get; set; } = new(StringComparer.Ordinal);

    [JsonPropertyName("kinds")]
    public List<string> Kinds { get; set; } = ["conversation", "detail", "complex"];

    [JsonPropertyName("per_image")]
    public int PerImage { get; set; } = 1;

    [JsonPropertyName("few_shot")]
    public int FewShot { get; set; } = 2;

    [JsonPropertyName("temperature")]
    public float Temperature { get; set; } = 0.7f;

    /// <summary>The tool catalogue of the tool-use kind: a YAML file, or a catalogue's name in <c>templates/tools/</c>; null for <c>vision-tools</c>.</summary>
    [JsonPropertyName("tools")]
    public string? Tools { get; set; }

    /// <summary>
    /// Template packs the build used that are files of the user's own (<c>--templates my.yaml</c>): their response-format
    /// suffixes are taken off rewritten questions as the library's are. Pack ids are accepted too.
    /// </summary>
    [JsonPropertyName("templates")]
    public List<string>? TemplatePacks { get; set; }

    /// <summary><c>flag</c> (default: count object mentions the image does not hold), <c>reject</c> (reject such samples) or <c>off</c>.</summary>
    [JsonPropertyName("hallucination")]
    public string Hallucination { get; set; } = "flag";

    /// <summary>The kinds of sample self-instruct generates.</summary>
    public static IReadOnlyList<string> KnownKinds { get; } = ["conversation", "detail", "complex", "tool-use"];

    public override string? Problem(string section)
    {
        if (base.Problem(section) is { } problem)
        {
            return problem;
        }

        if (Hallucination is not ("reject" or "flag" or "off"))
        {
            return $"--hallucination ({section}.hallucination) must be reject, flag or off, got '{Hallucination}'";
        }

        if (Kinds.Count == 0 || Kinds.Any(k => !KnownKinds.Contains(k, StringComparer.Ordinal)))
        {
            return $"--kinds ({section}.kinds) takes a list of {string.Join(", ", KnownKinds)}, got '{string.Join(",", Kinds)}'";
        }

        if (Tools is not null && !Kinds.Contains("tool-use", StringComparer.Ordinal))
        {
            return $"--tools ({section}.tools) is the tool catalogue of the tool-use kind; add tool-use to --kinds ({section}.kinds)";
        }

        return Whole($"--per-image ({section}.per_image)", PerImage, 1, 100)
            ?? Whole($"--few-shot ({section}.few_shot)", FewShot, 0, 20)
            ?? (float.IsFinite(Temperature) && Temperature is >= 0 and <= 2
                ? null
                : string.Create(CultureInfo.InvariantCulture, $"--temperature ({section}.temperature) must be from 0 to 2, got {Temperature}"));
    }
}
