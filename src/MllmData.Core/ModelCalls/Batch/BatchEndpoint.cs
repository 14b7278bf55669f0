namespace MllmData.ModelCalls.Batch;

/// <summary>
/// Where the Files and Batches endpoints are and how to authenticate: OpenAI (<c>{base}/files</c>, <c>{base}/batches</c>,
/// Bearer key) or Azure OpenAI (<c>{endpoint}/openai/files?api-version=…</c>, <c>{endpoint}/openai/batches?api-version=…</c>,
/// <c>api-key</c> header). A class, not a record, so the key never shows in a printed value.
/// </summary>
public sealed class BatchEndpoint
{
    /// <summary>The Azure API version the chat path uses (Azure.AI.OpenAI 2.1.0, ServiceVersion V2024_10_21); it serves files and batches too.</summary>
    public const string AzureApiVersion = "2024-10-21";

    public BatchEndpoint(string kind, Uri url, string model, string apiKey)
    {
        if (kind is not ("azure" or "openai"))
        {
            throw new UsageException($"endpoint must be azure or openai, got '{kind}'");
        }

        Kind = kind;
        Url = url;
        Model = model;
        ApiKey = apiKey;
    }

    /// <summary><c>azure</c> or <c>openai</c>.</summary>
    public string Kind { get; }

    /// <summary>The OpenAI base URL (ending in /v1) or the Azure resource endpoint.</summary>
    public Uri Url { get; }

    /// <summary>The model, or the Azure (global batch) deployment name.</summary>
    public string Model { get; }

    internal string ApiKey { get; }

    public bool IsAzure => Kind == "azure";

    /// <summary>The request URL each batch line names, and the batch's <c>endpoint</c>.</summary>
    public string ChatPath => IsAzure ? "/chat/completions" : "/v1/chat/completions";

    /// <summary>The cache identity of the chat path for this endpoint and model (never the key).</summary>
    public string Identity => IsAzure ? $"azure|{Url.Host}:{Url.Port}|{Model}" : $"openai|{Url.Host}:{Url.Port}{Url.AbsolutePath}|{Model}";

    /// <summary>The endpoint named by the environment (the same variables as the synchronous path); keys never come from the command line.</summary>
    public static BatchEndpoint FromEnvironment(string kind, string model)
    {
        var (urlVar, keyVar) = kind == "azure" ? ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY") : ("OPENAI_BASE_URL", "OPENAI_API_KEY");
        if (kind is not ("azure" or "openai"))
        {
            throw new UsageException($"endpoint must be azure or openai, got '{kind}'");
        }

        var url = Environment.GetEnvironmentVariable(urlVar) is { Length: > 0 } u
            ? u
            : throw new UsageException($"set {urlVar} in the environment (keys are never taken from the command line)");
        var key = Environment.GetEnvironmentVariable(keyVar) is { Length: > 0 } k
            ? k
            : throw new UsageException($"set {keyVar} in the environment (keys are never taken from the command line)");
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? new BatchEndpoint(kind, uri, model, key)
            : throw new UsageException($"{urlVar} is not an http(s) URL");
    }

    /// <summary>The URL of a Files or Batches resource, e.g. <c>files</c>, <c>batches/batch_1</c>, <c>files/file-1/content</c>.</summary>
    public Uri Resource(string path)
    {
        var root = Url.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return IsAzure
            ? new Uri($"{root}/openai/{path}?api-version={AzureApiVersion}")
            : new Uri($"{root}/{path}");
    }

    public override string ToString() => $"{Kind} {Url.GetLeftPart(UriPartial.Path)} ({Model})";
}

/// <summary>
/// How big one Batch input file may be. OpenAI: 50,000 requests and 200 MB per file. Azure OpenAI global batch:
/// 100,000 requests and 200 MB per file (and 500 files per resource), per Microsoft's "Global batch limits" table
/// (MicrosoftDocs/azure-ai-docs, articles/ai-services/openai/includes/global-batch-limits.md). A megabyte is taken as
/// 10^6 bytes, the smaller reading, so a file is never refused for size.
/// </summary>
public sealed record BatchLimits(int MaxRequestsPerFile, long MaxBytesPerFile)
{
    public static readonly BatchLimits OpenAi = new(50_000, 200_000_000);

    public static readonly BatchLimits Azure = new(100_000, 200_000_000);

    public static BatchLimits For(string kind) => kind == "azure" ? Azure : OpenAi;

    /// <summary>The provider's limits, lowered by the caller's (never raised past them).</summary>
    public static BatchLimits For(string kind, int? maxRequests, long? maxBytes)
    {
        var provider = For(kind);
        if (maxRequests is { } r && (r < 1 || r > provider.MaxRequestsPerFile))
        {
            throw new UsageException($"--batch-max-requests must be from 1 to {provider.MaxRequestsPerFile} ({kind}), got {r}");
        }

        if (maxBytes is { } b && (b < 1024 || b > provider.MaxBytesPerFile))
        {
            throw new UsageException($"--batch-max-bytes must be from 1024 to {provider.MaxBytesPerFile} ({kind}), got {b}");
        }

        return new BatchLimits(maxRequests ?? provider.MaxRequestsPerFile, maxBytes ?? provider.MaxBytesPerFile);
    }
}
