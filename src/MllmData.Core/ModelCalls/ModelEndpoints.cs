
namespace MllmData.ModelCalls;

/// <summary>Endpoints and keys come from the environment only; a key is never printed, not even its length.</summary>
public static class ModelEndpoints
{
    /// <summary>The endpoint identity used in cache keys (host, port, path and model; never the key).</summary>
    public static string Identity(string kind, string model)
    {
        var endpoint = Environment.GetEnvironmentVariable(kind == "azure" ? "AZURE_OPENAI_ENDPOINT" : "OPENAI_BASE_URL");
        return endpoint is { Length: > 0 } && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            ? kind == "azure" ? $"azure|{uri.Host}:{uri.Port}|{model}" : $"openai|{uri.Host}:{uri.Port}{uri.AbsolutePath}|{model}"
            : $"{kind}|unset|{model}";
    }

    /// <summary>The model named by the environment, with a per-try network timeout and a cap on reply bodies.</summary>
    public static OpenAiChatModel FromEnvironment(string kind, string model, TimeSpan timeout, long maxResponseBytes = CallSettings.DefaultMaxResponseBytes)
    {
        static string Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v
            ? v
            : throw new UsageException($"set {name} in the environment (keys are never taken from the command line)");
        static Uri Url(string name)
        {
            var value = Env(name);
            return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new UsageException($"{name} is not an http(s) URL");
        }

        return kind switch
        {
            "azure" => OpenAiChatModel.Azure(Url("AZURE_OPENAI_ENDPOINT"), model, Env("AZURE_OPENAI_API_KEY"), timeout, maxResponseBytes),
            "openai" => OpenAiChatModel.Compatible(Url("OPENAI_BASE_URL"), model, Env("OPENAI_API_KEY"), timeout, maxResponseBytes),
            _ => throw new UsageException($"endpoint must be azure or openai, got '{kind}'"),
        };
    }
}
