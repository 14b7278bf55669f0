using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MllmData.Json;
using MllmData.Output;

namespace MllmData.ModelCalls.Batch;

/// <summary>
/// <c>batch.json</c> beside the output: what was submitted (batch and file ids), to which endpoint, and everything
/// <c>mllmdata batch collect</c> needs to finish the build later, from another job: the command and its settings, the
/// cache, the working folder. Written atomically after every change, so a killed submit or collect leaves a state that
/// names every batch it created.
/// </summary>
public sealed class BatchState
{
    public const string FileName = "batch.json";

    /// <summary>Folder (inside the output) for input files waiting to be uploaded and downloaded results.</summary>
    public const string WorkFolder = ".batch";

    [JsonPropertyName("version")]
    public int Version { get; set; } = 1;

    /// <summary><c>rewrite</c> or <c>self-instruct</c>.</summary>
    [JsonPropertyName("command")]
    public string Command { get; set; } = string.Empty;

    /// <summary><c>openai</c> or <c>azure</c>.</summary>
    [JsonPropertyName("endpoint")]
    public string Endpoint { get; set; } = string.Empty;

    /// <summary>The model, or the Azure global-batch deployment.</summary>
    [JsonPropertyName("model")]
    public string Model { get; set; } = string.Empty;

    /// <summary>The cache identity of the endpoint and model; collect refuses an environment that names another.</summary>
    [JsonPropertyName("identity")]
    public string Identity { get; set; } = string.Empty;

    [JsonPropertyName("cache")]
    public string Cache { get; set; } = string.Empty;

    /// <summary>The folder the submit ran in: relative paths of the command are read from it.</summary>
    [JsonPropertyName("working_directory")]
    public string WorkingDirectory { get; set; } = string.Empty;

    [JsonPropertyName("max_requests_per_file")]
    public int MaxRequestsPerFile { get; set; }

    [JsonPropertyName("max_bytes_per_file")]
    public long MaxBytesPerFile { get; set; }

    /// <summary>The command's own settings, for rebuilding its work at collect time.</summary>
    [JsonPropertyName("job")]
    public JsonObject Job { get; set; } = [];

    /// <summary>Submission rounds: 1 for the first, one more for each resubmission of failed or expired lines.</summary>
    [JsonPropertyName("round")]
    public int Round { get; set; }

    /// <summary>Requests the build makes, duplicates counted once, cached ones included.</summary>
    [JsonPropertyName("requests")]
    public long Requests { get; set; }

    [JsonPropertyName("batches")]
    public List<BatchRecord> Batches { get; set; } = [];

    /// <summary>Tokens and estimated cost (at the batch price) of the answers collected so far.</summary>
    [JsonPropertyName("usage")]
    public BatchUsage Usage { get; set; } = new();

    /// <summary>Requests that failed for good (not retryable, or out of resubmissions), by request key.</summary>
    [JsonPropertyName("failed")]
    public SortedDictionary<string, BatchFailure> Failed { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The last retryable failure of requests waiting for another round, by request key.</summary>
    [JsonPropertyName("retrying")]
    public SortedDictionary<string, BatchFailure> Retrying { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Answers stored without a prompt token count from the provider; counted locally on the next pass over the requests.</summary>
    [JsonPropertyName("usage_missing")]
    public SortedSet<string> UsageMissing { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Set when collect has written the output.</summary>
    [JsonPropertyName("finished")]
    public bool Finished { get; set; }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string PathIn(string dir) => Path.Combine(dir, FileName);

    public static bool Exists(string dir) => File.Exists(PathIn(dir));

    public static BatchState Load(string dir)
    {
        var path = PathIn(dir);
        if (!File.Exists(path))
        {
            throw new InputDataException(Path.Combine(dir, FileName), "-", "no-batch", "not the --out folder of a `--batch submit` run");
        }

        try
        {
            var state = JsonSerializer.Deserialize<BatchState>(File.ReadAllBytes(path), Options) ?? throw new JsonException("null");
            return state.Version == 1 && state.Command.Length > 0
                ? state
                : throw new InputDataException(path, "-", "unknown-layout", $"not a batch state of this tool (version {state.Version}, command '{state.Command}')");
        }
        catch (JsonException ex)
        {
            throw new InputDataException(path, "-", "invalid-json", Json.JsonErrors.InWords(ex));
        }
    }

    public void Save(string dir) => AtomicFile.Write(PathIn(dir), s => JsonSerializer.Serialize(s, this, Options));
}

/// <summary>One batch: its input file (local name, uploaded id), the batch id, and what is known of its status.</summary>
public sealed class BatchRecord
{
    [JsonPropertyName("id")]
    public string Id { get; set; } = string.Empty;

    [JsonPropertyName("round")]
    public int Round { get; set; }

    [JsonPropertyName("input_file")]
    public string InputFile { get; set; } = string.Empty;

    [JsonPropertyName("input_file_id")]
    public string InputFileId { get; set; } = string.Empty;

    [JsonPropertyName("requests")]
    public int Requests { get; set; }

    [JsonPropertyName("bytes")]
    public long Bytes { get; set; }

    [JsonPropertyName("status")]
    public string Status { get; set; } = string.Empty;

    [JsonPropertyName("completed")]
    public long Completed { get; set; }

    [JsonPropertyName("failed")]
    public long Failed { get; set; }

    [JsonPropertyName("output_file_id")]
    public string? OutputFileId { get; set; }

    [JsonPropertyName("error_file_id")]
    public string? ErrorFileId { get; set; }

    /// <summary>Its output and error files are read and stored in the cache.</summary>
    [JsonPropertyName("collected")]
    public bool Collected { get; set; }
}

/// <summary>A request that failed for good: the reason code the synchronous path would give, and the message.</summary>
public sealed class BatchFailure
{
    [JsonPropertyName("kind")]
    [JsonConverter(typeof(JsonStringEnumConverter<ModelFailure>))]
    public ModelFailure Kind { get; set; }

    [JsonPropertyName("status")]
    public int? Status { get; set; }

    [JsonPropertyName("message")]
    public string Message { get; set; } = string.Empty;

    public ModelCallException ToException() => new(Kind, Message, null, Status);
}

/// <summary>Tokens of the collected answers and their cost at the batch price.</summary>
public sealed class BatchUsage
{
    [JsonPropertyName("answers")]
    public long Answers { get; set; }

    [JsonPropertyName("input_tokens")]
    public long InputTokens { get; set; }

    [JsonPropertyName("output_tokens")]
    public long OutputTokens { get; set; }

    /// <summary>Answers whose lines gave no token usage, or only part of it: their missing counts are our own o200k counts.</summary>
    [JsonPropertyName("estimated_answers")]
    public long EstimatedAnswers { get; set; }

    /// <summary>The part of <see cref="InputTokens"/> that is our own count.</summary>
    [JsonPropertyName("estimated_input_tokens")]
    public long EstimatedInputTokens { get; set; }

    /// <summary>The part of <see cref="OutputTokens"/> that is our own count.</summary>
    [JsonPropertyName("estimated_output_tokens")]
    public long EstimatedOutputTokens { get; set; }

    [JsonPropertyName("estimated_cost_usd")]
    public decimal? EstimatedCost { get; set; }
}
