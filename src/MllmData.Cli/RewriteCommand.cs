using System.CommandLine;
using System.Globalization;
using MllmData.Generation;
using MllmData.Recipes;
using MllmData.Templates;

namespace MllmData.Cli;

/// <summary><c>mllmdata rewrite --in DIR --out DIR</c>: lengthen short answers through a chat model, cached and budgeted.</summary>
public static class RewriteCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var input = new Option<string>("--in") { Description = "Output folder of `mllmdata build` (llava, sharegpt, swift, openai or m3it)", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for the rewritten shards", Required = true };
        var endpoint = new Option<string?>("--endpoint") { Description = "azure (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY) or openai (OPENAI_BASE_URL, OPENAI_API_KEY); default: azure when AZURE_OPENAI_ENDPOINT is set" };
        endpoint.AcceptOnlyFromAmong("azure", "openai");
        var model = new Option<string>("--model") { Description = "Model name, or the deployment name on Azure", DefaultValueFactory = _ => "gpt-4o-mini" };
        var prompt = new Option<string>("--prompt") { Description = "question-only, with-captions, with-image, or a prompt pack file", DefaultValueFactory = _ => "question-only" };
        var captions = new Option<string?>("--captions") { Description = "COCO captions file for the with-captions prompt" };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder of the images for the with-image prompt" };
        var select = new Option<string>("--select") { Description = "short = answers of at most --max-answer-words words; all = every answer", DefaultValueFactory = _ => "short" };
        select.AcceptOnlyFromAmong("short", "all");
        var maxWords = new Option<int>("--max-answer-words") { DefaultValueFactory = _ => 3, Description = "Longest answer counted as short" };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 8, Description = "Requests in flight at once" };
        var rpm = new Option<int>("--rpm") { Description = "Client-side requests per minute (0 = unlimited)" };
        var tpm = new Option<int>("--tpm") { Description = "Client-side tokens per minute (0 = unlimited)" };
        var retries = new Option<int>("--max-retries") { DefaultValueFactory = _ => 5, Description = "Retries per request (429, 5xx, timeouts, malformed bodies)" };
        var timeout = new Option<double>("--timeout") { DefaultValueFactory = _ => 60, Description = "Seconds per attempt" };
        var deadline = new Option<double>("--deadline") { DefaultValueFactory = _ => 600, Description = "Seconds per request including retries" };
        var backoff = new Option<double>("--backoff") { DefaultValueFactory = _ => 1, Description = "First retry delay in seconds (doubles, with jitter), unless the server says how long to wait" };
        var maxRequests = new Option<long?>("--max-requests") { Description = "Stop cleanly after this many paid requests" };
        var maxTokens = new Option<long?>("--max-tokens") { Description = "Stop cleanly before passing this many tokens (prompt + max output)" };
        var maxCost = new Option<decimal?>("--max-cost") { Description = "Stop cleanly before passing this estimated cost in US dollars" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count requests, tokens and cost; call nothing, write nothing" };
        var cache = new Option<string?>("--cache") { Description = "Response cache (SQLite); default MLLMDATA_CACHE or .mllmdata-cache/responses.db" };
        var prices = new Option<string?>("--price-table") { Description = "Price table JSON (default: the one shipped with the tool)" };
        var keepRaw = new Option<bool>("--keep-raw-on-failure") { Description = "Keep the raw answer when a rewrite fails or is rejected, instead of rejecting the record" };
        var maxOut = new Option<int>("--max-output-tokens") { DefaultValueFactory = _ => 120, Description = "Token limit of each answer" };
        var command = new Command("rewrite", "Lengthen short answers faithfully with a chat model (Azure OpenAI or OpenAI-compatible)")
        {
            input, output, endpoint, model, prompt, captions, imageRoot, select, maxWords, concurrency, rpm, tpm, retries, timeout, deadline, backoff,
            maxRequests, maxTokens, maxCost, dryRun, cache, prices, keepRaw, maxOut,
        };
        command.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async log =>
        {
            var library = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            var settings = new RewriteSettings
            {
                Endpoint = parse.GetValue(endpoint),
                Model = parse.GetValue(model)!,
                Prompt = parse.GetValue(prompt)!,
                Captions = parse.GetValue(captions),
                ImageRoot = parse.GetValue(imageRoot),
                Select = parse.GetValue(select)!,
                MaxAnswerWords = parse.GetValue(maxWords),
                Concurrency = parse.GetValue(concurrency),
                RequestsPerMinute = parse.GetValue(rpm),
                TokensPerMinute = parse.GetValue(tpm),
                MaxRetries = parse.GetValue(retries),
                Timeout = parse.GetValue(timeout),
                Deadline = parse.GetValue(deadline),
                Backoff = parse.GetValue(backoff),
                MaxRequests = parse.GetValue(maxRequests),
                MaxTokens = parse.GetValue(maxTokens),
                MaxCost = parse.GetValue(maxCost),
                MaxOutputTokens = parse.GetValue(maxOut),
                KeepRawOnFailure = parse.GetValue(keepRaw),
                Cache = parse.GetValue(cache),
                PriceTable = parse.GetValue(prices),
            };
            var inDir = parse.GetValue(input)!;
            var outDir = parse.GetValue(output)!;
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(dryRun))
            {
                var totals = RewriteRunner.DryRun(settings, inDir, library, log);
                await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"requests: {totals.Requests}")).ConfigureAwait(false);
                await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"cache hits: {totals.CacheHits}")).ConfigureAwait(false);
                await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"prompt tokens: {totals.PromptTokens}")).ConfigureAwait(false);
                await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"max output tokens: {totals.MaxOutputTokens}")).ConfigureAwait(false);
                await o.WriteLineAsync(totals.EstimatedCost is { } c
                    ? string.Create(CultureInfo.InvariantCulture, $"estimated cost: ${c:0.######} ({settings.Model}, at most)")
                    : $"estimated cost: unknown ({settings.Model} is not in the price table)").ConfigureAwait(false);
                return CliApp.Ok;
            }

            await RewriteRunner.RunAsync(settings, inDir, outDir, library, log, ct).ConfigureAwait(false);
            await o.WriteLineAsync(Path.Combine(outDir, "manifest.json")).ConfigureAwait(false);
            return CliApp.Ok;
        }));
        return command;
    }
}
