using System.CommandLine;
using MllmData.Recipes;

namespace MllmData.Cli;

/// <summary>The model-call flags that rewrite and self-instruct share, read into <see cref="ModelSettings"/>.</summary>
public sealed class ModelOptions
{
    public ModelOptions(int defaultMaxOutputTokens)
    {
        Endpoint.AcceptOnlyFromAmong("azure", "openai");
        MaxOutputTokens.DefaultValueFactory = _ => defaultMaxOutputTokens;
    }

    public Option<string?> Endpoint { get; } = new("--endpoint") { Description = "azure (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY) or openai (OPENAI_BASE_URL, OPENAI_API_KEY); default: azure when AZURE_OPENAI_ENDPOINT is set" };

    public Option<string> Model { get; } = new("--model") { Description = "Model name, or the deployment name on Azure", DefaultValueFactory = _ => "gpt-4o-mini" };

    public Option<int> Concurrency { get; } = new("--concurrency") { DefaultValueFactory = _ => 8, Description = "Requests in flight at once" };

    public Option<int> Rpm { get; } = new("--rpm") { Description = "Client-side requests per minute (0 = unlimited)" };

    public Option<int> Tpm { get; } = new("--tpm") { Description = "Client-side tokens per minute (0 = unlimited)" };

    public Option<int> Retries { get; } = new("--max-retries") { DefaultValueFactory = _ => 5, Description = "Retries per request (429, 5xx, timeouts, malformed bodies)" };

    public Option<double> Timeout { get; } = new("--timeout") { DefaultValueFactory = _ => 60, Description = "Seconds per attempt" };

    public Option<double> Deadline { get; } = new("--deadline") { DefaultValueFactory = _ => 600, Description = "Seconds per request including retries" };

    public Option<double> Backoff { get; } = new("--backoff") { DefaultValueFactory = _ => 1, Description = "First retry delay in seconds (doubles, with jitter), unless the server says how long to wait" };

    public Option<long?> MaxRequests { get; } = new("--max-requests") { Description = "Stop cleanly before sending more than this many HTTP requests (retries count; cache hits are free)" };

    public Option<long?> MaxTokens { get; } = new("--max-tokens") { Description = "Stop cleanly before passing this many tokens (prompt + max output)" };

    public Option<decimal?> MaxCost { get; } = new("--max-cost") { Description = "Stop cleanly before passing this estimated cost in US dollars" };

    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Count requests, tokens and cost; call nothing, write nothing" };

    public Option<string?> Cache { get; } = new("--cache") { Description = "Response cache (SQLite); default MLLMDATA_CACHE or .mllmdata-cache/responses.db" };

    public Option<string?> Prices { get; } = new("--price-table") { Description = "Price table JSON (default: the one shipped with the tool)" };

    public Option<int> MaxOutputTokens { get; } = new("--max-output-tokens") { Description = "Token limit of each answer" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Endpoint, Model, Concurrency, Rpm, Tpm, Retries, Timeout, Deadline, Backoff, MaxRequests, MaxTokens, MaxCost, DryRun, Cache, Prices, MaxOutputTokens })
        {
            command.Options.Add(o);
        }
    }

    public T Read<T>(ParseResult parse, T settings)
        where T : ModelSettings
    {
        settings.Endpoint = parse.GetValue(Endpoint);
        settings.Model = parse.GetValue(Model)!;
        settings.Concurrency = parse.GetValue(Concurrency);
        settings.RequestsPerMinute = parse.GetValue(Rpm);
        settings.TokensPerMinute = parse.GetValue(Tpm);
        settings.MaxRetries = parse.GetValue(Retries);
        settings.Timeout = parse.GetValue(Timeout);
        settings.Deadline = parse.GetValue(Deadline);
        settings.Backoff = parse.GetValue(Backoff);
        settings.MaxRequests = parse.GetValue(MaxRequests);
        settings.MaxTokens = parse.GetValue(MaxTokens);
        settings.MaxCost = parse.GetValue(MaxCost);
        settings.MaxOutputTokens = parse.GetValue(MaxOutputTokens);
        settings.Cache = parse.GetValue(Cache);
        settings.PriceTable = parse.GetValue(Prices);
        return settings;
    }

    /// <summary>The dry-run report, the same for every generator.</summary>
    public static async Task PrintDryRun(TextWriter o, Generation.DryRunTotals totals, string model)
    {
        await o.WriteLineAsync(FormattableString.Invariant($"requests: {totals.Requests}")).ConfigureAwait(false);
        await o.WriteLineAsync(FormattableString.Invariant($"cache hits: {totals.CacheHits}")).ConfigureAwait(false);
        await o.WriteLineAsync(FormattableString.Invariant($"prompt tokens: {totals.PromptTokens}")).ConfigureAwait(false);
        await o.WriteLineAsync(FormattableString.Invariant($"max output tokens: {totals.MaxOutputTokens}")).ConfigureAwait(false);
        await o.WriteLineAsync(totals.EstimatedCost is { } c
            ? FormattableString.Invariant($"estimated cost: ${c:0.######} ({model}, at most)")
            : $"estimated cost: unknown ({model} is not in the price table)").ConfigureAwait(false);
    }
}
