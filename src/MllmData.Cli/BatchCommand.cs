using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using MllmData.Generation;
using MllmData.ModelCalls;
using MllmData.ModelCalls.Batch;
using MllmData.Recipes;
using Serilog;

namespace MllmData.Cli;

/// <summary>The <c>--batch submit</c> flags of rewrite and self-instruct.</summary>
public sealed class BatchOptions
{
    public BatchOptions()
    {
        Mode.AcceptOnlyFromAmong("submit");
    }

    public Option<string?> Mode { get; } = new("--batch")
    {
        Description = "submit: write the requests as Batch API input files, upload them and create batches (half the price); batch.json beside the output names them. Finish later with `mllmdata batch collect DIR`",
    };

    public Option<int?> MaxRequests { get; } = new("--batch-max-requests") { Description = "Requests per batch input file (default and most: OpenAI 50,000; Azure 100,000)" };

    public Option<long?> MaxBytes { get; } = new("--batch-max-bytes") { Description = "Bytes per batch input file (default and most: 200,000,000)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Mode);
        command.Options.Add(MaxRequests);
        command.Options.Add(MaxBytes);
    }

    public bool Submit(ParseResult parse) => parse.GetValue(Mode) == "submit";

    /// <summary>The provider's per-file limits for the endpoint, lowered by the flags; a usage error past them.</summary>
    public BatchLimits Limits(ParseResult parse, string kind) => BatchLimits.For(kind, parse.GetValue(MaxRequests), parse.GetValue(MaxBytes));
}

/// <summary>
/// <c>mllmdata batch status DIR</c> and <c>mllmdata batch collect DIR</c>: follow the batches a <c>--batch submit</c> created,
/// store their answers in the response cache, resubmit failed or expired lines, and finish the build from the cache.
/// </summary>
public static class BatchCommand
{
    /// <summary>Exit code of a collect that could not finish yet (batches running, or lines resubmitted): run it again later.</summary>
    public const int NotFinished = 3;

    private const string LockFile = ".batch.lock";

    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("batch", "Follow and collect Batch API work submitted by rewrite or self-instruct --batch submit");
        var statusDir = new Argument<string>("DIR") { Description = "The --out folder of the submit (it holds batch.json)" };
        var status = new Command("status", "Print each batch's status and request counts") { statusDir };
        status.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, log => Guarded(parse, async () =>
        {
            var dir = parse.GetValue(statusDir)!;
            var state = BatchState.Load(dir);
            var endpoint = Endpoint(state);
            var settings = Settings(state);
            using var api = new BatchApi(endpoint, settings.ToCallSettings());
            var runner = new BatchRunner(endpoint, api, null, settings.ToCallSettings(), PriceTable.Load(settings.PriceTable), log);
            using (Lock(dir))
            {
                if (!state.Finished)
                {
                    await runner.RefreshAsync(state, dir, ct).ConfigureAwait(false);
                }
            }

            await PrintAsync(parse.InvocationConfiguration.Output, state).ConfigureAwait(false);
            return CliApp.Ok;
        })));

        var collectDir = new Argument<string>("DIR") { Description = "The --out folder of the submit (it holds batch.json)" };
        var fallback = new Option<string?>("--fallback") { Description = "sync: send lines that failed or expired through the synchronous path now, instead of resubmitting them" };
        fallback.AcceptOnlyFromAmong("sync");
        var resubmits = new Option<int>("--max-resubmits") { Description = "New rounds of batches for failed or expired lines before they become rejects", DefaultValueFactory = _ => 2 };
        var collect = new Command("collect", $"Download finished batches into the response cache, resubmit failed or expired lines, and write the output once every line is answered (exit {NotFinished}: not finished yet, run again later)")
        {
            collectDir, fallback, resubmits,
        };
        collect.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, log => Guarded(parse, async () =>
        {
            var dir = parse.GetValue(collectDir)!;
            var maxResubmits = parse.GetValue(resubmits);
            if (maxResubmits is < 0 or > 100)
            {
                throw new UsageException($"--max-resubmits must be from 0 to 100, got {maxResubmits}");
            }

            var state = BatchState.Load(dir);
            var o = parse.InvocationConfiguration.Output;
            if (state.Finished)
            {
                log.Information("{Dir} was collected already", dir);
                await o.WriteLineAsync(Path.Combine(dir, "manifest.json")).ConfigureAwait(false);
                return CliApp.Ok;
            }

            EnterWorkingDirectory(state, log);
            var endpoint = Endpoint(state);
            var job = BatchJobs.FromState(state, log);
            var settings = job.Settings.ToCallSettings();
            IChatModel? sync = parse.GetValue(fallback) == "sync"
                ? ModelEndpoints.FromEnvironment(state.Endpoint, state.Model, settings.PerTryTimeout, settings.MaxResponseBytes)
                : null;
            using var gate = Lock(dir);
            using var cache = new ResponseCache(state.Cache);
            using var api = new BatchApi(endpoint, settings);
            var runner = new BatchRunner(endpoint, api, cache, settings, PriceTable.Load(job.Settings.PriceTable), log);
            var limits = new BatchLimits(state.MaxRequestsPerFile, state.MaxBytesPerFile);
            var outcome = await runner.CollectAsync(job.Work, state, dir, limits, new CollectOptions { SyncModel = sync, MaxResubmits = maxResubmits }, ct).ConfigureAwait(false);
            switch (outcome.Status)
            {
                case CollectStatus.Finished:
                    log.Information(
                        "batch collect: {Answers} answers from the batches ({In} tokens in, {Out} tokens out, estimated cost {Cost} at the batch price); {Failed} requests failed for good",
                        state.Usage.Answers, state.Usage.InputTokens, state.Usage.OutputTokens, Cost(state.Usage.EstimatedCost), outcome.FailedForGood);
                    await o.WriteLineAsync(Path.Combine(job.OutDir, "manifest.json")).ConfigureAwait(false);
                    return CliApp.Ok;
                case CollectStatus.Resubmitted:
                    log.Information("batch collect: {Missing} failed or expired requests resubmitted (round {Round}); run collect again later", outcome.Missing, state.Round);
                    break;
                default:
                    log.Information("batch collect: batches still running; run collect again later");
                    break;
            }

            await PrintAsync(o, state).ConfigureAwait(false);
            return NotFinished;
        })));
        command.Subcommands.Add(status);
        command.Subcommands.Add(collect);
        return command;
    }

    /// <summary>
    /// <c>--batch submit</c> (and its dry run): the requests the synchronous command would send go out as Batch input
    /// files; batch.json beside the output records the batches and the command.
    /// </summary>
    public static async Task<int> SubmitAsync(ParseResult parse, ILogger log, BatchOptions options, string command, BatchJobs.Job job, JsonObject describe, bool dryRun, CancellationToken ct) =>
        await Guarded(parse, async () =>
        {
            var s = job.Settings;
            var kind = s.EndpointKind;
            var limits = options.Limits(parse, kind);
            var o = parse.InvocationConfiguration.Output;
            var settings = s.ToCallSettings();
            var prices = PriceTable.Load(s.PriceTable);
            if (dryRun)
            {
                using var known = File.Exists(s.CachePath) ? new ResponseCache(s.CachePath) : null;
                var preview = new BatchRunner(DryRunEndpoint(kind, s.Model), null, known, settings, prices, log);
                var plan = await preview.PlanAsync(job.Work, limits, ct).ConfigureAwait(false);
                await PrintPlanAsync(o, plan, s.Model, prices).ConfigureAwait(false);
                return CliApp.Ok;
            }

            var outDir = job.OutDir;
            if (BatchState.Exists(outDir) && !BatchState.Load(outDir).Finished)
            {
                throw new UsageException($"{outDir} has batches that are not collected yet ({BatchState.FileName}); run `mllmdata batch collect {outDir}` or choose another --out");
            }

            var endpoint = BatchEndpoint.FromEnvironment(kind, s.Model);
            Directory.CreateDirectory(outDir);
            using var gate = Lock(outDir);
            using var cache = new ResponseCache(s.CachePath);
            using var api = new BatchApi(endpoint, settings);
            var state = new BatchState
            {
                Command = command,
                Endpoint = kind,
                Model = s.Model,
                Identity = endpoint.Identity,
                Cache = Path.GetFullPath(s.CachePath),
                WorkingDirectory = Directory.GetCurrentDirectory(),
                MaxRequestsPerFile = limits.MaxRequestsPerFile,
                MaxBytesPerFile = limits.MaxBytesPerFile,
                Job = describe,
            };
            var submitted = await new BatchRunner(endpoint, api, cache, settings, prices, log).SubmitAsync(job.Work, state, outDir, limits, ct).ConfigureAwait(false);
            await PrintPlanAsync(o, submitted, s.Model, prices).ConfigureAwait(false);
            await o.WriteLineAsync(BatchState.PathIn(outDir)).ConfigureAwait(false);
            return CliApp.Ok;
        }).ConfigureAwait(false);

    /// <summary>The Batch API's failures are data errors (exit 2), printed without a stack trace.</summary>
    private static async Task<int> Guarded(ParseResult parse, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is BatchApiException or BatchLineTooLargeException)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return CliApp.DataError;
        }
    }

    /// <summary>The endpoint of a dry run: from the environment when it names one (no key needed), else a stand-in URL; nothing is sent.</summary>
    private static BatchEndpoint DryRunEndpoint(string kind, string model)
    {
        var named = Environment.GetEnvironmentVariable(kind == "azure" ? "AZURE_OPENAI_ENDPOINT" : "OPENAI_BASE_URL");
        var url = named is { Length: > 0 } && Uri.TryCreate(named, UriKind.Absolute, out var uri) ? uri : new Uri(kind == "azure" ? "https://unset.openai.azure.com/" : "https://api.openai.com/v1");
        return new BatchEndpoint(kind, url, model, string.Empty);
    }

    /// <summary>The endpoint the environment names, which must be the one the batches went to (their answers are cached under it).</summary>
    private static BatchEndpoint Endpoint(BatchState state)
    {
        var endpoint = BatchEndpoint.FromEnvironment(state.Endpoint, state.Model);
        return endpoint.Identity == state.Identity
            ? endpoint
            : throw new UsageException($"the batches went to {state.Identity}; the environment names {endpoint.Identity}");
    }

    private static ModelSettings Settings(BatchState state)
    {
        var settings = state.Job["settings"];
        return state.Command == "rewrite"
            ? System.Text.Json.JsonSerializer.Deserialize<RewriteSettings>(settings) ?? new RewriteSettings()
            : System.Text.Json.JsonSerializer.Deserialize<SelfInstructSettings>(settings) ?? (ModelSettings)new SelfInstructSettings();
    }

    /// <summary>Relative paths of the command mean what they meant at submit time: collect reads them from the same folder.</summary>
    private static void EnterWorkingDirectory(BatchState state, ILogger log)
    {
        var here = Directory.GetCurrentDirectory();
        if (state.WorkingDirectory.Length == 0 || state.WorkingDirectory == here)
        {
            return;
        }

        if (!Directory.Exists(state.WorkingDirectory))
        {
            throw new UsageException($"the submit ran in {state.WorkingDirectory}, which does not exist here; collect reads the command's relative paths from it");
        }

        log.Information("reading the command's paths from {Folder}, where the submit ran", state.WorkingDirectory);
        Directory.SetCurrentDirectory(state.WorkingDirectory);
    }

    /// <summary>One submit or collect at a time per output folder: two would resubmit the same lines twice.</summary>
    private static FileStream Lock(string dir)
    {
        try
        {
            return new FileStream(Path.Combine(dir, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException ex)
        {
            throw new UsageException($"another submit or collect is working on {dir} (it holds {LockFile}); wait for it: {ex.Message}");
        }
    }

    private static async Task PrintAsync(TextWriter o, BatchState state)
    {
        foreach (var b in state.Batches)
        {
            await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{b.Id}  {b.Status}  round {b.Round}  requests {b.Requests}  completed {b.Completed}  failed {b.Failed}{(b.Collected ? "  collected" : string.Empty)}")).ConfigureAwait(false);
        }

        var byStatus = string.Join(", ", state.Batches.GroupBy(b => b.Status).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"batches: {state.Batches.Count}{(byStatus.Length > 0 ? $" ({byStatus})" : string.Empty)}; round {state.Round}; {(state.Finished ? "finished" : "not finished")}")).ConfigureAwait(false);
        var counted = state.Usage.EstimatedAnswers > 0
            ? string.Create(CultureInfo.InvariantCulture, $"; {state.Usage.EstimatedAnswers} answers without token usage, counted locally: {state.Usage.EstimatedInputTokens} in, {state.Usage.EstimatedOutputTokens} out")
            : string.Empty;
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"answers: {state.Usage.Answers} ({state.Usage.InputTokens} tokens in, {state.Usage.OutputTokens} tokens out, estimated cost {Cost(state.Usage.EstimatedCost)} at the batch price{counted})")).ConfigureAwait(false);
    }

    private static async Task PrintPlanAsync(TextWriter o, BatchPlan plan, string model, PriceTable prices)
    {
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"batch files: {plan.Files}")).ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"batch requests: {plan.Lines}")).ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"batch bytes: {plan.Bytes}")).ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"cache hits: {plan.CacheHits}")).ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"prompt tokens: {plan.PromptTokens}")).ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"max output tokens: {plan.MaxOutputTokens}")).ConfigureAwait(false);
        await o.WriteLineAsync(plan.BatchCost is { } c
            ? string.Create(CultureInfo.InvariantCulture, $"estimated batch cost: ${c:0.######} ({model}, {prices.BatchFraction * 100:0.##}% of the listed ${plan.ListedCost:0.######}, at most)")
            : $"estimated batch cost: unknown ({model} is not in the price table)").ConfigureAwait(false);
    }

    private static string Cost(decimal? cost) => cost is { } c ? string.Create(CultureInfo.InvariantCulture, $"${c:0.######}") : "unknown";
}
