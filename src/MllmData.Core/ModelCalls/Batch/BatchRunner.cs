using System.Globalization;
using System.Text.Json;
using MllmData.Adapters;
using Serilog;

namespace MllmData.ModelCalls.Batch;

/// <summary>The model work of one command as the Batch path sees it: its requests, and how it finishes the build.</summary>
public interface IBatchWork
{
    /// <summary>Every request the synchronous run would make, in its order (the same request may come twice).</summary>
    IEnumerable<ChatRequest> Requests();

    /// <summary>Runs the synchronous path through <paramref name="calls"/> and writes the output.</summary>
    Task FinishAsync(ModelCallPath calls, CancellationToken ct);
}

/// <summary>What a pass over the requests found: distinct requests, cache hits, failed for good, and lines to send.</summary>
public sealed record BatchPlan(long Requests, long CacheHits, long FailedForGood, long Lines, int Files, long Bytes, long PromptTokens, long MaxOutputTokens)
{
    /// <summary>The estimated cost of the lines at the batch price (prompt + the full output allowance); null when the model has no price.</summary>
    public decimal? BatchCost { get; init; }

    /// <summary>The same at the listed (synchronous) price.</summary>
    public decimal? ListedCost { get; init; }
}

/// <summary>Where a collect left the build.</summary>
public enum CollectStatus
{
    /// <summary>The output is written.</summary>
    Finished,

    /// <summary>Batches are still running; nothing is lost, collect again later.</summary>
    Waiting,

    /// <summary>Failed or expired lines went out in a new round of batches; collect again later.</summary>
    Resubmitted,
}

/// <summary>The result of a collect.</summary>
public sealed record CollectOutcome(CollectStatus Status, long Stored, long Missing, long FailedForGood);

/// <summary>How collect ends lines that got no answer.</summary>
public sealed record CollectOptions
{
    /// <summary><c>--fallback sync</c>: lines without an answer are sent through the synchronous path by this model.</summary>
    public IChatModel? SyncModel { get; init; }

    /// <summary>New rounds of batches for failed or expired lines before they count as failed for good.</summary>
    public int MaxResubmits { get; init; } = 2;
}

/// <summary>
/// Submits a command's model requests as Batch input files, follows the batches, stores their answers in the response
/// cache keyed by the same request key the synchronous path uses (the lines' <c>custom_id</c>), resubmits what failed or
/// expired, and finishes the build through the synchronous path, which then finds every answer in the cache.
/// </summary>
public sealed class BatchRunner(BatchEndpoint endpoint, BatchApi? api, ResponseCache? cache, CallSettings settings, PriceTable prices, ILogger log)
{
    /// <summary>Counts what a submit would send: files, lines and bytes at the given limits, and the batch price. Writes nothing.</summary>
    public async Task<BatchPlan> PlanAsync(IBatchWork work, BatchLimits limits, CancellationToken ct)
    {
        var split = new BatchSplit(limits);
        using var bodies = new RequestBodies(endpoint);
        var plan = await WalkAsync(work, state: null, async (key, request) =>
        {
            var body = await bodies.BodyAsync(request, ct).ConfigureAwait(false);
            split.Place(BatchInputWriter.Line(key, endpoint.ChatPath, body).Length);
        }, ct).ConfigureAwait(false);
        return Priced(plan with { Files = split.Files, Bytes = split.Bytes });
    }

    /// <summary>
    /// Writes the input files of a new round into <c>DIR/.batch</c>, checks the caps, uploads each file, creates its
    /// batch and records it in <c>batch.json</c> as it goes.
    /// </summary>
    public async Task<BatchPlan> SubmitAsync(IBatchWork work, BatchState state, string dir, BatchLimits limits, CancellationToken ct)
    {
        var files = RequireApi();
        state.Round++;
        var folder = Path.Combine(dir, BatchState.WorkFolder);
        Directory.CreateDirectory(folder);
        foreach (var stale in Directory.EnumerateFiles(folder, "input-*.jsonl"))
        {
            File.Delete(stale);
        }

        IReadOnlyList<BatchInputFile> written;
        BatchPlan plan;
        using (var bodies = new RequestBodies(endpoint))
        using (var writer = new BatchInputWriter(folder, string.Create(CultureInfo.InvariantCulture, $"input-r{state.Round}"), endpoint.ChatPath, limits))
        {
            plan = await WalkAsync(work, state, async (key, request) =>
            {
                var body = await bodies.BodyAsync(request, ct).ConfigureAwait(false);
                writer.Add(key, body, TokenCounter.Prompt(request), request.MaxOutputTokens);
            }, ct).ConfigureAwait(false);
            written = writer.Complete();
        }

        plan = Priced(plan with { Files = written.Count, Bytes = written.Sum(f => f.Bytes) });
        if (state.Round == 1)
        {
            try
            {
                CheckCaps(plan);
            }
            catch (BudgetExceededException)
            {
                Directory.Delete(folder, recursive: true);
                throw;
            }

            state.Requests = plan.Requests;
            state.Usage.EstimatedCost = prices.BatchCost(state.Model, 0, 0);
        }

        state.Save(dir);
        foreach (var file in written)
        {
            var fileId = await files.UploadAsync(file.Path, ct).ConfigureAwait(false);
            var batch = await files.CreateAsync(fileId, ct).ConfigureAwait(false);
            state.Batches.Add(new BatchRecord
            {
                Id = batch.Id,
                Round = state.Round,
                InputFile = Path.GetFileName(file.Path),
                InputFileId = fileId,
                Requests = file.Requests,
                Bytes = file.Bytes,
                Status = batch.Status,
            });
            state.Save(dir);
            File.Delete(file.Path);
            log.Information("batch {Batch}: {File} ({Requests} requests, {Bytes} bytes) uploaded as {FileId}; status {Status}", batch.Id, Path.GetFileName(file.Path), file.Requests, file.Bytes, fileId, batch.Status);
        }

        return plan;
    }

    /// <summary>Reads every batch not yet collected from the Batches API and records its status and counts.</summary>
    public async Task<IReadOnlyList<BatchRecord>> RefreshAsync(BatchState state, string dir, CancellationToken ct)
    {
        var batches = RequireApi();
        foreach (var record in state.Batches.Where(b => !b.Collected))
        {
            var info = await batches.GetAsync(record.Id, ct).ConfigureAwait(false);
            record.Status = info.Status;
            record.Completed = info.Completed;
            record.Failed = info.Failed;
            record.OutputFileId = info.OutputFileId;
            record.ErrorFileId = info.ErrorFileId;
            if (info.Errors.Count > 0)
            {
                log.Warning("batch {Batch} {Status}: {Errors}", record.Id, info.Status, string.Join("; ", info.Errors));
            }
        }

        state.Save(dir);
        return state.Batches;
    }

    /// <summary>
    /// Downloads the output and error files of every finished batch into the cache; when no batch is running any more,
    /// resubmits the lines still without an answer (or, with a sync model, leaves them to it), then finishes the build.
    /// </summary>
    public async Task<CollectOutcome> CollectAsync(IBatchWork work, BatchState state, string dir, BatchLimits limits, CollectOptions options, CancellationToken ct)
    {
        var files = RequireApi();
        var store = RequireCache();
        await RefreshAsync(state, dir, ct).ConfigureAwait(false);
        var folder = Path.Combine(dir, BatchState.WorkFolder);
        Directory.CreateDirectory(folder);
        long stored = 0;
        foreach (var record in state.Batches.Where(b => !b.Collected && BatchInfoTerminal(b.Status)))
        {
            foreach (var fileId in new[] { record.OutputFileId, record.ErrorFileId }.OfType<string>())
            {
                var local = Path.Combine(folder, "result-" + string.Concat(fileId.Where(char.IsAsciiLetterOrDigit)) + ".jsonl");
                await files.DownloadAsync(fileId, local, ct).ConfigureAwait(false);
                stored += Store(local, state, store);
                File.Delete(local);
            }

            record.Collected = true;
            state.Usage.EstimatedCost = prices.BatchCost(state.Model, state.Usage.InputTokens, state.Usage.OutputTokens);
            state.Save(dir);
            log.Information("batch {Batch} {Status}: {Completed} completed, {Failed} failed; answers stored in the cache", record.Id, record.Status, record.Completed, record.Failed);
        }

        if (state.Batches.Any(b => !b.Collected))
        {
            return new CollectOutcome(CollectStatus.Waiting, stored, 0, state.Failed.Count);
        }

        // Every batch is done: count what is still without an answer (fixing token counts the provider left out).
        var pass = await WalkAsync(work, state, (_, _) => Task.CompletedTask, ct).ConfigureAwait(false);
        state.UsageMissing.Clear();
        state.Usage.EstimatedCost = prices.BatchCost(state.Model, state.Usage.InputTokens, state.Usage.OutputTokens);
        if (pass.Lines > 0 && options.SyncModel is null)
        {
            if (state.Round - 1 < options.MaxResubmits)
            {
                var again = await SubmitAsync(work, state, dir, limits, ct).ConfigureAwait(false);
                log.Information("round {Round}: {Lines} failed or expired requests resubmitted in {Files} batches", state.Round, again.Lines, again.Files);
                return new CollectOutcome(CollectStatus.Resubmitted, stored, again.Lines, state.Failed.Count);
            }

            // Out of rounds: the last failure of each line stands, as the synchronous path's would after its retries.
            await WalkAsync(work, state, (key, _) =>
            {
                state.Failed[key] = state.Retrying.TryGetValue(key, out var last)
                    ? last
                    : new BatchFailure { Kind = ModelFailure.Timeout, Message = $"no answer from {state.Round} rounds of batches (expired, cancelled or failed)" };
                return Task.CompletedTask;
            }, ct).ConfigureAwait(false);
            log.Warning("{Lines} requests got no answer in {Rounds} rounds; they are rejects now", pass.Lines, state.Round);
        }

        state.Retrying.Clear();
        state.Save(dir);
        IChatModel model = options.SyncModel is { } sync ? new FailedOrSync(state, sync) : new FailedOrSync(state, null);
        var finish = options.SyncModel is null
            ? settings with { MaxRetries = 0, MaxRequests = null, MaxTokens = null, MaxCost = null }
            : settings;
        using (var calls = new ModelCallPath(model, store, finish, prices))
        {
            await work.FinishAsync(calls, ct).ConfigureAwait(false);
        }

        state.Finished = true;
        state.Save(dir);
        if (state.Usage.EstimatedAnswers > 0)
        {
            log.Warning(
                "batch collect: {Answers} answers gave no token usage (or only part of it); their tokens were counted with the o200k tokenizer ({In} in, {Out} out) and priced, so the batch usage and estimated cost are partly estimates (usage.estimated_answers in {State})",
                state.Usage.EstimatedAnswers, state.Usage.EstimatedInputTokens, state.Usage.EstimatedOutputTokens, BatchState.FileName);
        }

        Directory.Delete(folder, recursive: true);
        return new CollectOutcome(CollectStatus.Finished, stored, pass.Lines, state.Failed.Count);
    }

    private static bool BatchInfoTerminal(string status) => status is "completed" or "failed" or "expired" or "cancelled";

    /// <summary>
    /// One pass over the work's requests in order: each distinct request key once; cached answers and requests failed for
    /// good are skipped; every other one goes to <paramref name="missing"/>.
    /// </summary>
    private async Task<BatchPlan> WalkAsync(IBatchWork work, BatchState? state, Func<string, ChatRequest, Task> missing, CancellationToken ct)
    {
        var seen = new HashSet<UInt128>();
        long requests = 0, hits = 0, failed = 0, lines = 0, prompt = 0, output = 0;
        foreach (var request in work.Requests())
        {
            ct.ThrowIfCancellationRequested();
            var key = ResponseCache.Key(endpoint.Identity, request);
            if (!seen.Add(UInt128.Parse(key.AsSpan(0, 32), NumberStyles.HexNumber, CultureInfo.InvariantCulture)))
            {
                continue;
            }

            requests++;
            if (cache?.Get(key, settings.MaxResponseBytes) is { } answer)
            {
                hits++;
                if (state is not null && state.UsageMissing.Remove(key))
                {
                    // Counted here, once: the answer's prompt tokens join the batch usage as an estimate of ours.
                    var counted = TokenCounter.Prompt(request);
                    cache.Put(key, answer with { InputTokens = counted });
                    state.Usage.InputTokens += counted;
                    state.Usage.EstimatedInputTokens += counted;
                }

                continue;
            }

            if (state is not null && state.Failed.ContainsKey(key))
            {
                failed++;
                continue;
            }

            lines++;
            var tokens = TokenCounter.Prompt(request);
            prompt += tokens;
            output += request.MaxOutputTokens;
            await missing(key, request).ConfigureAwait(false);
        }

        return new BatchPlan(requests, hits, failed, lines, 0, 0, prompt, output);
    }

    private BatchPlan Priced(BatchPlan plan) => plan with
    {
        BatchCost = prices.BatchCost(endpoint.Model, plan.PromptTokens, plan.MaxOutputTokens),
        ListedCost = prices.Cost(endpoint.Model, plan.PromptTokens, plan.MaxOutputTokens),
    };

    /// <summary>The caps hold for the whole batch, before anything is uploaded: a batch cannot stop halfway.</summary>
    private void CheckCaps(BatchPlan plan)
    {
        if (settings.MaxRequests is { } maxRequests && plan.Lines > maxRequests)
        {
            throw new BudgetExceededException($"--max-requests {maxRequests}: the batch would send {plan.Lines} requests; nothing was submitted");
        }

        if (settings.MaxTokens is { } maxTokens && plan.PromptTokens + plan.MaxOutputTokens > maxTokens)
        {
            throw new BudgetExceededException($"--max-tokens {maxTokens}: the batch would use up to {plan.PromptTokens + plan.MaxOutputTokens} tokens; nothing was submitted");
        }

        if (settings.MaxCost is { } maxCost && plan.BatchCost is { } cost && cost > maxCost)
        {
            throw new BudgetExceededException(string.Create(CultureInfo.InvariantCulture, $"--max-cost {maxCost}: the batch would cost up to ${cost:0.######} at the batch price; nothing was submitted"));
        }
    }

    /// <summary>Reads one output or error file into the cache (answers) and the state (failures); the number of answers stored.</summary>
    private long Store(string path, BatchState state, ResponseCache store)
    {
        long answers = 0;
        using var stream = File.OpenRead(path);
        using var reader = new BoundedLineReader(stream, (int)Math.Min(int.MaxValue - 2, settings.MaxResponseBytes + (4L << 20)));
        while (reader.TryRead(out var line))
        {
            if (line.TooLong)
            {
                log.Warning("{File} line {Line}: {Bytes} bytes, too long to be an answer; its request is asked again", Path.GetFileName(path), line.Number, line.TooLongBytes);
                continue;
            }

            if (line.Bytes.Span.Trim(" \r\t"u8).IsEmpty)
            {
                continue;
            }

            BatchLine parsed;
            try
            {
                parsed = BatchLine.Parse(line.Bytes, settings.MaxResponseBytes);
            }
            catch (JsonException ex)
            {
                log.Warning("{File} line {Line}: not a batch result ({Message}); skipped", Path.GetFileName(path), line.Number, ex.Message);
                continue;
            }

            if (parsed.CustomId is null)
            {
                log.Warning("{File} line {Line}: no request key (custom_id) of this tool; skipped", Path.GetFileName(path), line.Number);
                continue;
            }

            var key = parsed.CustomId;
            if (parsed.Answer is { } result)
            {
                var earlier = store.Get(key, settings.MaxResponseBytes);
                var fresh = earlier is null;
                var output = result.OutputTokens > 0 ? result.OutputTokens : TokenCounter.Text(result.Text);

                // An answer already stored keeps its prompt count where the line gives none; a fresh one without a count
                // is counted on the next pass over the requests (only they say what the prompt was).
                var input = result.InputTokens > 0 ? result.InputTokens : earlier?.InputTokens ?? 0;
                store.Put(key, result with { InputTokens = input, OutputTokens = output, FromCache = false });
                if (input <= 0)
                {
                    state.UsageMissing.Add(key);
                }

                state.Retrying.Remove(key);
                state.Failed.Remove(key);
                if (fresh)
                {
                    answers++;
                    state.Usage.Answers++;
                    state.Usage.InputTokens += Math.Max(0, result.InputTokens);
                    state.Usage.OutputTokens += output;
                    if (result.InputTokens <= 0 || result.OutputTokens <= 0)
                    {
                        state.Usage.EstimatedAnswers++;
                        state.Usage.EstimatedOutputTokens += result.OutputTokens > 0 ? 0 : output;
                    }
                }

                continue;
            }

            var failure = parsed.Failure!;

            // A refused key, a forbidden model or a missing deployment fails every line alike, as it stops a synchronous run;
            // the answers stored so far stay in the cache for the next collect.
            if (ModelAccessException.For(failure) is { } refused)
            {
                throw refused;
            }

            var record = new BatchFailure { Kind = failure.Kind, Status = failure.Status, Message = failure.Message };
            if (failure.Retryable || parsed.Unanswered)
            {
                state.Retrying[key] = record;
            }
            else
            {
                state.Failed[key] = record;
            }
        }

        return answers;
    }

    /// <summary>
    /// The model behind the finishing run: a request that failed for good fails again with the same failure (the same
    /// reject the synchronous path writes); any other miss goes to the synchronous model, or, without one, is a failure.
    /// </summary>
    private sealed class FailedOrSync(BatchState state, IChatModel? sync) : IChatModel
    {
        public string Identity => sync?.Identity ?? state.Identity;

        public string Model => sync?.Model ?? state.Model;

        public Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
        {
            var key = ResponseCache.Key(Identity, request);
            if (state.Failed.TryGetValue(key, out var failure))
            {
                throw failure.ToException();
            }

            return sync is not null
                ? sync.CompleteAsync(request, cancellationToken)
                : throw new ModelCallException(ModelFailure.Timeout, "no answer from the batches");
        }
    }

    private BatchApi RequireApi() => api ?? throw new InvalidOperationException("this operation needs the Batch API client");

    private ResponseCache RequireCache() => cache ?? throw new InvalidOperationException("this operation needs the response cache");
}
