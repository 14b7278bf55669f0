using System.Threading.RateLimiting;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MllmData.Models;

/// <summary>Settings of the one call path.</summary>
public sealed record CallSettings
{
    public int Concurrency { get; init; } = 8;

    /// <summary>Client-side requests per minute; 0 = unlimited.</summary>
    public int RequestsPerMinute { get; init; }

    /// <summary>Client-side tokens per minute (prompt + max output); 0 = unlimited.</summary>
    public int TokensPerMinute { get; init; }

    public int MaxRetries { get; init; } = 5;

    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan PerTryTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Overall deadline for one request including retries.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(10);

    public long? MaxRequests { get; init; }

    public long? MaxTokens { get; init; }

    public decimal? MaxCost { get; init; }
}

/// <summary>Counters of a run, for the summary on stderr and in the manifest.</summary>
public sealed class UsageCounters
{
    private long _requests;
    private long _cacheHits;
    private long _retries;
    private long _rateLimited;
    private long _inputTokens;
    private long _outputTokens;
    private long _failures;

    public long Requests => Interlocked.Read(ref _requests);

    public long CacheHits => Interlocked.Read(ref _cacheHits);

    public long Retries => Interlocked.Read(ref _retries);

    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public long InputTokens => Interlocked.Read(ref _inputTokens);

    public long OutputTokens => Interlocked.Read(ref _outputTokens);

    public long Failures => Interlocked.Read(ref _failures);

    internal void Request() => Interlocked.Increment(ref _requests);

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

    /// <summary>The <c>usage</c> section of a manifest.</summary>
    public void WriteTo(System.Text.Json.Utf8JsonWriter w, decimal? estimatedCost)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("requests", Requests);
        w.WriteNumber("cache_hits", CacheHits);
        w.WriteNumber("retries", Retries);
        w.WriteNumber("rate_limited", RateLimited);
        w.WriteNumber("failures", Failures);
        w.WriteNumber("input_tokens", InputTokens);
        w.WriteNumber("output_tokens", OutputTokens);
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
/// retries with exponential backoff and jitter that honour Retry-After / retry-after-ms, a per-try timeout
/// and an overall deadline. Responses are cached as soon as they arrive.
/// </summary>
public sealed class ModelCallPath : IDisposable
{
    private readonly IChatModel _model;
    private readonly ResponseCache _cache;
    private readonly CallSettings _settings;
    private readonly PriceTable _prices;
    private readonly SemaphoreSlim _slots;
    private readonly RateLimiter? _requestLimiter;
    private readonly RateLimiter? _tokenLimiter;
    private readonly ResiliencePipeline<ChatResult> _pipeline;
    private readonly Lock _budgetGate = new();
    private long _reservedRequests;
    private long _reservedTokens;
    private decimal _reservedCost;

    public ModelCallPath(IChatModel model, ResponseCache cache, CallSettings settings, PriceTable prices)
    {
        _model = model;
        _cache = cache;
        _settings = settings;
        _prices = prices;
        _slots = new SemaphoreSlim(Math.Max(1, settings.Concurrency));
        if (settings.RequestsPerMinute > 0)
        {
            _requestLimiter = Bucket(settings.RequestsPerMinute);
        }

        if (settings.TokensPerMinute > 0)
        {
            _tokenLimiter = Bucket(settings.TokensPerMinute);
        }

        var builder = new ResiliencePipelineBuilder<ChatResult>();
        if (settings.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<ChatResult>
            {
                ShouldHandle = new PredicateBuilder<ChatResult>().Handle<ModelCallException>(e => e.Retryable).Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = settings.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.BaseDelay,
                MaxDelay = TimeSpan.FromSeconds(60),

                // The server's own wait wins over our backoff (Retry-After, retry-after-ms).
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception is ModelCallException { RetryAfter: { } wait } && wait > TimeSpan.Zero ? wait : null),
                OnRetry = args =>
                {
                    Usage.Retry(args.Outcome.Exception is ModelCallException { Kind: ModelFailure.RateLimited });
                    return ValueTask.CompletedTask;
                },
            });
        }

        _pipeline = builder.AddTimeout(settings.PerTryTimeout).Build();
    }

    public UsageCounters Usage { get; } = new();

    public string ModelName => _model.Model;

    public decimal? EstimatedCost => _prices.Cost(_model.Model, Usage.InputTokens, Usage.OutputTokens);

    /// <summary>
    /// The cached answer, or a new call. Throws <see cref="ModelCallException"/> after the retries,
    /// <see cref="BudgetExceededException"/> when a cap would be passed.
    /// </summary>
    public async Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var key = ResponseCache.Key(_model.Identity, request);
        if (_cache.Get(key) is { } cached)
        {
            Usage.CacheHit();
            return cached;
        }

        var promptTokens = TokenCounter.Prompt(request);
        Reserve(promptTokens + request.MaxOutputTokens);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Acquire(_requestLimiter, 1, _settings.RequestsPerMinute, cancellationToken).ConfigureAwait(false);
            await Acquire(_tokenLimiter, promptTokens + request.MaxOutputTokens, _settings.TokensPerMinute, cancellationToken).ConfigureAwait(false);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_settings.Deadline);
            ChatResult result;
            try
            {
                result = await _pipeline.ExecuteAsync(
                    async ct =>
                    {
                        Usage.Request();
                        return await _model.CompleteAsync(request, ct).ConfigureAwait(false);
                    },
                    deadline.Token).ConfigureAwait(false);
            }
            catch (TimeoutRejectedException)
            {
                Usage.Failure();
                throw new ModelCallException(ModelFailure.Timeout, $"no answer within {_settings.PerTryTimeout.TotalSeconds:0.#} s, {_settings.MaxRetries} retries");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Usage.Failure();
                throw new ModelCallException(ModelFailure.Timeout, $"no answer within the {_settings.Deadline.TotalSeconds:0.#} s deadline");
            }
            catch (ModelCallException ex)
            {
                Usage.Failure();
                if (ex.Kind == ModelFailure.RateLimited)
                {
                    Usage.RateLimitedFinal();
                }

                throw;
            }

            var inputTokens = result.InputTokens > 0 ? result.InputTokens : promptTokens;
            var outputTokens = result.OutputTokens > 0 ? result.OutputTokens : TokenCounter.Text(result.Text);
            result = result with { InputTokens = inputTokens, OutputTokens = outputTokens };
            Usage.Tokens(inputTokens, outputTokens);
            _cache.Put(key, result);
            return result;
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>Counts a call against the caps before it is made; refuses it if a cap would be passed.</summary>
    private void Reserve(int tokens)
    {
        lock (_budgetGate)
        {
            var cost = _prices.Cost(_model.Model, tokens, 0) ?? 0m;
            if (_settings.MaxRequests is { } maxRequests && _reservedRequests + 1 > maxRequests)
            {
                throw new BudgetExceededException($"--max-requests {maxRequests} reached");
            }

            if (_settings.MaxTokens is { } maxTokens && _reservedTokens + tokens > maxTokens)
            {
                throw new BudgetExceededException($"--max-tokens {maxTokens} reached");
            }

            if (_settings.MaxCost is { } maxCost && _reservedCost + cost > maxCost)
            {
                throw new BudgetExceededException($"--max-cost {maxCost} reached");
            }

            _reservedRequests++;
            _reservedTokens += tokens;
            _reservedCost += cost;
        }
    }

    private static TokenBucketRateLimiter Bucket(int perMinute) => new(new TokenBucketRateLimiterOptions
    {
        // About ten seconds' worth may go at once; the bucket refills every second.
        TokenLimit = Math.Max(1, perMinute / 6),
        TokensPerPeriod = Math.Max(1, perMinute / 60),
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    });

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
