using System.Threading.RateLimiting;
using MllmData.Json;

namespace MllmData.ModelCalls;

/// <summary>Settings of the one call path.</summary>
public sealed record CallSettings
{
    /// <summary>1 MiB: far above any chat answer we ask for, far below what could hurt memory or the cache.</summary>
    public const long DefaultMaxResponseBytes = 1024 * 1024;

    public int Concurrency { get; init; } = 8;

    /// <summary>Client-side requests per minute; 0 = unlimited.</summary>
    public int RequestsPerMinute { get; init; }

    /// <summary>Client-side tokens per minute (prompt + max output); 0 = unlimited.</summary>
    public int TokensPerMinute { get; init; }

    public int MaxRetries { get; init; } = 5;

    /// <summary>The first retry's backoff; it doubles with each retry (with jitter), up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest backoff of our own; a server's Retry-After is bounded by the deadline instead.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan PerTryTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Overall deadline for one request including retries and waits.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Cap on HTTP requests sent (<c>--max-requests</c>): every attempt counts, retries included, so a cap of N never
    /// sends more than N requests. Cache hits are free.
    /// </summary>
    public long? MaxRequests { get; init; }

    public long? MaxTokens { get; init; }

    public decimal? MaxCost { get; init; }

    /// <summary>A reply body larger than this is a <c>model-malformed-response</c> and is never cached.</summary>
    public long MaxResponseBytes { get; init; } = DefaultMaxResponseBytes;
}

/// <summary>Counters of a run, for the summary on stderr and in the manifest.</summary>
public sealed class UsageCounters
{
    private long _requests;
    private long _attempts;
    private long _cacheHits;
    private long _retries;
    private long _rateLimited;
    private long _inputTokens;
    private long _outputTokens;
    private long _failures;
    private long _estimatedReplies;
    private long _estimatedInputTokens;
    private long _estimatedOutputTokens;

    /// <summary>Logical requests: prompts that went to the model (not answered from the cache), however many tries each took.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>HTTP requests sent, retries included; what <c>--max-requests</c> caps.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    public long CacheHits => Interlocked.Read(ref _cacheHits);

    public long Retries => Interlocked.Read(ref _retries);

    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public long InputTokens => Interlocked.Read(ref _inputTokens);

    public long OutputTokens => Interlocked.Read(ref _outputTokens);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>
    /// Replies that said nothing, or only part, of what they spent (no <c>usage</c> section, or one without its prompt or
    /// completion count): the missing counts are our own o200k counts, included in <see cref="InputTokens"/> and
    /// <see cref="OutputTokens"/> and priced with them.
    /// </summary>
    public long EstimatedReplies => Interlocked.Read(ref _estimatedReplies);

    /// <summary>The part of <see cref="InputTokens"/> that is our own count, not the provider's.</summary>
    public long EstimatedInputTokens => Interlocked.Read(ref _estimatedInputTokens);

    /// <summary>The part of <see cref="OutputTokens"/> that is our own count, not the provider's.</summary>
    public long EstimatedOutputTokens => Interlocked.Read(ref _estimatedOutputTokens);

    internal void Request() => Interlocked.Increment(ref _requests);

    internal void Attempt() => Interlocked.Increment(ref _attempts);

    internal void CacheHit() => Interlocked.Increment(ref _cacheHits);

    internal void Retry(bool rateLimited)
    {
        Interlocked.Increment(ref _retries);
        if (rateLimited)
        {
            Interlocked.Increment(ref _rateLimited);
        }
    }

    internal void RateLimitedFinal() => Interlocked.Increment(ref _rateLimited);

    internal void Failure() => Interlocked.Increment(ref _failures);

    internal void Tokens(long input, long output)
    {
        Interlocked.Add(ref _inputTokens, input);
        Interlocked.Add(ref _outputTokens, output);
    }

    /// <summary>One reply whose token counts are (in part) ours: the counted tokens, already in <see cref="Tokens"/>.</summary>
    internal void Estimated(long input, long output)
    {
        Interlocked.Increment(ref _estimatedReplies);
        Interlocked.Add(ref _estimatedInputTokens, input);
        Interlocked.Add(ref _estimatedOutputTokens, output);
    }

    /// <summary>
    /// The run's one warning that its token and cost figures are partly our own counts (nothing when every reply said what
    /// it spent): a cost understated without a word is what a user of an endpoint that leaves <c>usage</c> out must not get.
    /// </summary>
    public void WarnIfEstimated(Serilog.ILogger log, string command)
    {
        if (EstimatedReplies > 0)
        {
            log.Warning(
                "{Command}: {Replies} model replies gave no token usage (or only part of it); their tokens were counted with the o200k tokenizer ({In} in, {Out} out) and priced, so the usage and estimated cost are partly estimates (estimated_replies in the manifest's usage)",
                command, EstimatedReplies, EstimatedInputTokens, EstimatedOutputTokens);
        }
    }

    /// <summary>The counters as a part of a job array records them (<c>mllmdata merge</c> sums them).</summary>
    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["requests"] = Requests,
        ["http_attempts"] = Attempts,
        ["cache_hits"] = CacheHits,
        ["retries"] = Retries,
        ["rate_limited"] = RateLimited,
        ["failures"] = Failures,
        ["input_tokens"] = InputTokens,
        ["output_tokens"] = OutputTokens,
        ["estimated_replies"] = EstimatedReplies,
        ["estimated_input_tokens"] = EstimatedInputTokens,
        ["estimated_output_tokens"] = EstimatedOutputTokens,
    };

    /// <summary>Adds a part's counters (as <see cref="ToJson"/> wrote them).</summary>
    public void Add(System.Text.Json.Nodes.JsonObject part)
    {
        long N(string key) => (long?)part[key] ?? 0;
        Interlocked.Add(ref _requests, N("requests"));
        Interlocked.Add(ref _attempts, N("http_attempts"));
        Interlocked.Add(ref _cacheHits, N("cache_hits"));
        Interlocked.Add(ref _retries, N("retries"));
        Interlocked.Add(ref _rateLimited, N("rate_limited"));
        Interlocked.Add(ref _failures, N("failures"));
        Interlocked.Add(ref _inputTokens, N("input_tokens"));
        Interlocked.Add(ref _outputTokens, N("output_tokens"));
        Interlocked.Add(ref _estimatedReplies, N("estimated_replies"));
        Interlocked.Add(ref _estimatedInputTokens, N("estimated_input_tokens"));
        Interlocked.Add(ref _estimatedOutputTokens, N("estimated_output_tokens"));
    }

    /// <summary>The <c>usage</c> section of a manifest.</summary>
    public void WriteTo(System.Text.Json.Utf8JsonWriter w, decimal? estimatedCost)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("requests", Requests);
        w.WriteNumber("http_attempts", Attempts);
        w.WriteNumber("cache_hits", CacheHits);
        w.WriteNumber("retries", Retries);
        w.WriteNumber("rate_limited", RateLimited);
        w.WriteNumber("failures", Failures);
        w.WriteNumber("input_tokens", InputTokens);
        w.WriteNumber("output_tokens", OutputTokens);
        w.WriteNumber("estimated_replies", EstimatedReplies);
        w.WriteNumber("estimated_input_tokens", EstimatedInputTokens);
        w.WriteNumber("estimated_output_tokens", EstimatedOutputTokens);
        if (estimatedCost is { } cost)
        {
            w.WriteNumber("estimated_cost_usd", decimal.Round(cost, 6));
        }
        else
        {
            w.WriteNull("estimated_cost_usd");
        }

        w.WriteEndObject();
    }
}

/// <summary>
/// Every model call goes through here: cache, budget caps, client-side rate limits, bounded concurrency,
/// retries with exponential backoff and jitter that honour Retry-After / retry-after-ms within the deadline,
/// a per-try timeout and an overall deadline. Good answers are cached as soon as they arrive; failures,
/// empty and oversized replies never are.
/// </summary>
public sealed class ModelCallPath : IDisposable
{
    private readonly IChatModel _model;
    private readonly ResponseCache _cache;
    private readonly CallSettings _settings;
    private readonly PriceTable _prices;
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan, CancellationToken, Task> _wait;
    private readonly SemaphoreSlim _slots;
    private readonly RateLimiter? _requestLimiter;
    private readonly RateLimiter? _tokenLimiter;
    private readonly Lock _budgetGate = new();
    private ModelCallException? _refused;
    private long _reservedRequests;
    private long _reservedTokens;
    private decimal _reservedCost;

    public ModelCallPath(IChatModel model, ResponseCache cache, CallSettings settings, PriceTable prices)
        : this(model, cache, settings, prices, TimeProvider.System, wait: null)
    {
    }

    /// <summary>
    /// With a clock and a wait of the caller's (tests pass a fake clock whose waits return at once), and the rate limiters'
    /// maker (given the limit per minute; tests pass one that records what each call takes).
    /// </summary>
    internal ModelCallPath(
        IChatModel model, ResponseCache cache, CallSettings settings, PriceTable prices, TimeProvider time, Func<TimeSpan, CancellationToken, Task>? wait,
        Func<int, RateLimiter>? bucket = null)
    {
        bucket ??= perMinute => new TokenBucketRateLimiter(BucketOptions(perMinute));
        _model = model;
        _cache = cache;
        _settings = settings;
        _prices = prices;
        _time = time;
        _wait = wait ?? ((delay, ct) => Task.Delay(delay, time, ct));
        _slots = new SemaphoreSlim(Math.Max(1, settings.Concurrency));
        if (settings.RequestsPerMinute > 0)
        {
            _requestLimiter = bucket(settings.RequestsPerMinute);
        }

        if (settings.TokensPerMinute > 0)
        {
            _tokenLimiter = bucket(settings.TokensPerMinute);
        }
    }

    public UsageCounters Usage { get; } = new();

    public string ModelName => _model.Model;

    public decimal? EstimatedCost => _prices.Cost(_model.Model, Usage.InputTokens, Usage.OutputTokens);

    /// <summary>
    /// The cached answer, or a new call. Throws <see cref="ModelCallException"/> after the retries,
    /// <see cref="BudgetExceededException"/> when a cap would be passed (also by a retry).
    /// </summary>
    /// <summary>Calls answered by the endpoint in this run (a failure to reach it stops the run only while this is 0).</summary>
    private int _reached;

    public async Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var key = ResponseCache.Key(_model.Identity, request);
        if (_cache.Get(key, _settings.MaxResponseBytes) is { } cached)
        {
            Usage.CacheHit();
            return cached;
        }

        if (Volatile.Read(ref _refused) is { } earlier)
        {
            throw (ModelAccessException.For(earlier) ?? ModelAccessException.Unreachable(earlier))!;
        }

        var promptTokens = TokenCounter.Prompt(request);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _refused) is { } refusedWhileQueued)
            {
                throw (ModelAccessException.For(refusedWhileQueued) ?? ModelAccessException.Unreachable(refusedWhileQueued))!;
            }

            // Reserved when the call can go, not while it queues: queued calls must not take the cap's last
            // requests from the retries of calls already running.
            var hold = Reserve(promptTokens, request.MaxOutputTokens);
            await Acquire(_requestLimiter, 1, _settings.RequestsPerMinute, cancellationToken).ConfigureAwait(false);
            await Acquire(_tokenLimiter, promptTokens + request.MaxOutputTokens, _settings.TokensPerMinute, cancellationToken).ConfigureAwait(false);
            Usage.Request();
            ChatResult result;
            try
            {
                result = await WithRetries(request, promptTokens, hold, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelCallException ex)
            {
                Usage.Failure();
                if (ex.Kind == ModelFailure.RateLimited)
                {
                    Usage.RateLimitedFinal();
                }

                // An endpoint that no call has reached, and that cannot be reached at all, ends the run as a refusal does.
                if ((ModelAccessException.For(ex) ?? (Volatile.Read(ref _reached) == 0 ? ModelAccessException.Unreachable(ex) : null)) is { } refused)
                {
                    // The first refusal of the tool itself ends every later call at once, without asking again.
                    Volatile.Write(ref _refused, ex);
                    throw refused;
                }

                throw;
            }

            Interlocked.Increment(ref _reached);
            _cache.Put(key, result);
            return result;
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Tries until an answer, a failure that is not retryable, the retry limit, or the deadline. A wait (ours or the
    /// server's) that would end past the deadline is not waited: the request fails at once with its last failure.
    /// </summary>
    private async Task<ChatResult> WithRetries(ChatRequest request, int promptTokens, Hold hold, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        using var deadline = new CancellationTokenSource(_settings.Deadline, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        for (var attempt = 0; ; attempt++)
        {
            ModelCallException failure;
            using (var perTry = new CancellationTokenSource(_settings.PerTryTimeout, _time))
            using (var tryToken = CancellationTokenSource.CreateLinkedTokenSource(linked.Token, perTry.Token))
            {
                Usage.Attempt();
                try
                {
                    var reply = await _model.CompleteAsync(request, tryToken.Token).ConfigureAwait(false);

                    // What the reply says it spent (our own count where it says nothing, marked as estimated), held
                    // against the caps and counted in the usage whether or not the text is then usable: the provider
                    // bills it either way.
                    var countedInput = reply.InputTokens > 0 ? 0 : promptTokens;
                    var countedOutput = reply.OutputTokens > 0 ? 0 : TokenCounter.Text(reply.Text);
                    var (input, output) = (reply.InputTokens > 0 ? reply.InputTokens : countedInput, reply.OutputTokens > 0 ? reply.OutputTokens : countedOutput);
                    Spent(hold, input, output);
                    if (reply.InputTokens <= 0 || reply.OutputTokens <= 0)
                    {
                        Usage.Estimated(countedInput, countedOutput);
                    }

                    return Checked(reply with { InputTokens = input, OutputTokens = output, FromCache = false });
                }
                catch (Exception ex) when (ex is OperationCanceledException or ModelCallException && !cancellationToken.IsCancellationRequested && deadline.IsCancellationRequested)
                {
                    Settle(hold, ex);
                    throw new ModelCallException(ModelFailure.Timeout, $"no answer within the {_settings.Deadline.TotalSeconds:0.#} s deadline ({attempt + 1} tries)");
                }
                catch (ModelCallException ex)
                {
                    Settle(hold, ex);
                    failure = ex;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = new ModelCallException(ModelFailure.Timeout, $"no answer within {_settings.PerTryTimeout.TotalSeconds:0.#} s");
                }
            }

            if (!failure.Retryable || attempt >= _settings.MaxRetries)
            {
                throw failure;
            }

            var wait = failure.RetryAfter is { } asked && asked > TimeSpan.Zero ? asked : Backoff(attempt);
            var left = _settings.Deadline - _time.GetElapsedTime(started);
            if (wait >= left)
            {
                throw new ModelCallException(failure.Kind, $"{failure.Message}; a retry after {wait.TotalSeconds:0.###} s would pass the {_settings.Deadline.TotalSeconds:0.#} s deadline", failure.RetryAfter, failure.Status, failure);
            }

            hold = Reserve(promptTokens, request.MaxOutputTokens);
            Usage.Retry(failure.Kind == ModelFailure.RateLimited);
            try
            {
                await _wait(wait, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ModelCallException(ModelFailure.Timeout, $"no answer within the {_settings.Deadline.TotalSeconds:0.#} s deadline ({attempt + 1} tries)");
            }
        }
    }

    /// <summary>Exponential backoff with jitter: between half and all of BaseDelay * 2^attempt, at most MaxDelay.</summary>
    internal TimeSpan Backoff(int attempt)
    {
        var full = Math.Min(_settings.MaxDelay.TotalSeconds, _settings.BaseDelay.TotalSeconds * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromSeconds(full * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    /// <summary>What the model said, held to the same rules whatever the model behind: some text, within the size cap.</summary>
    private ChatResult Checked(ChatResult result)
    {
        if (TextCheck.IsBlank(result.Text))
        {
            throw new ModelCallException(ModelFailure.EmptyAnswer, "the model returned no text");
        }

        return System.Text.Encoding.UTF8.GetByteCount(result.Text) > _settings.MaxResponseBytes
            ? throw new ModelCallException(ModelFailure.TooLarge, $"the reply is larger than the {_settings.MaxResponseBytes}-byte cap")
            : result;
    }

    /// <summary>What one HTTP attempt holds against the caps until its reply says what it spent, and its prompt's own count.</summary>
    private readonly record struct Hold(long Tokens, decimal Cost, int PromptTokens);

    /// <summary>
    /// Counts one HTTP attempt (a first try or a retry) against the caps before it is sent, at its worst case: its prompt
    /// and all of its output allowance, each at its own price. Refuses it if a cap would be passed.
    /// </summary>
    private Hold Reserve(int promptTokens, int maxOutputTokens)
    {
        lock (_budgetGate)
        {
            var hold = new Hold(promptTokens + (long)maxOutputTokens, _prices.Cost(_model.Model, promptTokens, maxOutputTokens) ?? 0m, promptTokens);
            if (_settings.MaxRequests is { } maxRequests && _reservedRequests + 1 > maxRequests)
            {
                throw new BudgetExceededException($"--max-requests {maxRequests} reached");
            }

            if (_settings.MaxTokens is { } maxTokens && _reservedTokens + hold.Tokens > maxTokens)
            {
                throw new BudgetExceededException($"--max-tokens {maxTokens} reached");
            }

            if (_settings.MaxCost is { } maxCost && _reservedCost + hold.Cost > maxCost)
            {
                throw new BudgetExceededException($"--max-cost {maxCost} reached");
            }

            _reservedRequests++;
            _reservedTokens += hold.Tokens;
            _reservedCost += hold.Cost;
            return hold;
        }
    }

    /// <summary>An attempt's reply said what it spent: that replaces its worst case in the caps, and counts in the usage.</summary>
    private void Spent(Hold hold, long input, long output)
    {
        Usage.Tokens(input, output);
        lock (_budgetGate)
        {
            _reservedTokens += input + output - hold.Tokens;
            _reservedCost += (_prices.Cost(_model.Model, input, output) ?? 0m) - hold.Cost;
        }
    }

    /// <summary>
    /// A failed attempt: a reply that still reports tokens spent them; a reply that says nothing of its prompt (an answer
    /// without text, an empty <c>choices</c> list, no <c>usage</c>) was billed for it all the same, so the prompt's own count
    /// stands in, marked as estimated; an error status with no such report spent none; a try that timed out or lost its
    /// connection may have been billed, so it keeps its worst case in the caps.
    /// </summary>
    private void Settle(Hold hold, Exception failure)
    {
        if (failure is ModelCallException { Billed: { } billed })
        {
            Spent(hold, billed.Input > 0 ? billed.Input : hold.PromptTokens, billed.Output);
            if (billed.Input <= 0)
            {
                Usage.Estimated(hold.PromptTokens, 0);
            }
        }
        else if (failure is ModelCallException { Replied: true })
        {
            Spent(hold, hold.PromptTokens, 0);
            Usage.Estimated(hold.PromptTokens, 0);
        }
        else if (failure is ModelCallException { Status: not null })
        {
            Spent(hold, 0, 0);
        }
    }

    /// <summary>The bucket for a limit per minute.</summary>
    internal static TokenBucketRateLimiterOptions BucketOptions(int perMinute) => new()
    {
        // About ten seconds' worth may go at once; the bucket refills every second.
        TokenLimit = Math.Max(1, perMinute / 6),
        TokensPerPeriod = Math.Max(1, perMinute / 60),
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    };

    /// <summary>Waits for permits; a request larger than the bucket takes the whole bucket rather than failing.</summary>
    private static async Task Acquire(RateLimiter? limiter, int permits, int perMinute, CancellationToken ct)
    {
        if (limiter is null)
        {
            return;
        }

        using var lease = await limiter.AcquireAsync(Math.Clamp(permits, 1, Math.Max(1, perMinute / 6)), ct).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _slots.Dispose();
        _requestLimiter?.Dispose();
        _tokenLimiter?.Dispose();
    }
}
