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

    public string EndpointKind =>
        Endpoint ?? (Environment.GetEnvironmentVariable("AZURE_OPENAI_ENDPOINT") is { Length: > 0 } ? "azure" : "openai");

    public string CachePath =>
        Cache ?? Environment.GetEnvironmentVariable("MLLMDATA_CACHE") ?? Path.Combine(".mllmdata-cache", "responses.db");

    public Models.CallSettings ToCallSettings() => new()
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
}
