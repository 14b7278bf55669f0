using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Generation;
using MllmData.ModelCalls;
using MllmData.Recipes;
using MllmData.Templates;

namespace MllmData.Tests.Models;

/// <summary>
/// An OpenAI-compatible endpoint may leave <c>usage</c> out of its replies, or give only part of it: the tokens are then
/// counted with the tool's own o200k counter, priced, and said to be estimates (in the manifest and once in the log),
/// never recorded as 0 tokens and $0. Replies with usage keep the provider's figures.
/// </summary>
public class TheUsageOfRepliesWithoutUsage
{
    private static readonly string Templates = Path.Combine(TestPaths.RepoRoot, "templates");

    /// <summary>What the fake sent: each answer's text, for our own count of the output.</summary>
    private sealed class Answers
    {
        private readonly ConcurrentBag<string> _texts = [];

        public long OutputTokens => _texts.Sum(t => (long)TokenCounter.Text(t));

        public int Count => _texts.Count;

        /// <summary>A chat completion of <paramref name="text"/> whose usage section is <paramref name="usage"/> (none when null).</summary>
        public FakeReply Reply(string text, JsonObject? usage)
        {
            _texts.Add(text);
            var body = LoopbackServer.ChatCompletion(text);
            body.Remove("usage");
            if (usage is not null)
            {
                body["usage"] = usage;
            }

            return new FakeReply(200, body.ToJsonString());
        }
    }

    private sealed class Warnings : Serilog.Core.ILogEventSink
    {
        public ConcurrentQueue<string> Seen { get; } = new();

        public void Emit(Serilog.Events.LogEvent logEvent)
        {
            if (logEvent.Level == Serilog.Events.LogEventLevel.Warning)
            {
                Seen.Enqueue(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    private static async Task<string> BuildSamples()
    {
        var dir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", dir);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Error}");
        return dir;
    }

    private static ModelCallPath Calls(FakeModelServer server, ResponseCache cache) =>
        new(OpenAiChatModel.Compatible(new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", "sk-test", TimeSpan.FromSeconds(20)), cache, new CallSettings { BaseDelay = TimeSpan.FromMilliseconds(10) }, PriceTable.Load());

    /// <summary>Rewrites the sample build in process; the manifest's usage section and the warnings of the run.</summary>
    private static async Task<(JsonElement Usage, List<string> Warnings, long PromptTokens, string Output)> Rewrite(Func<string, FakeReply> reply)
    {
        var input = await BuildSamples();
        using var server = new FakeModelServer(r =>
        {
            var answer = r.UserText.Split('\n').FirstOrDefault(l => l.StartsWith("Short answer: ", StringComparison.Ordinal))?["Short answer: ".Length..] ?? "unknown";
            return reply($"Looking at the image, the answer is {answer}.");
        });
        var warnings = new Warnings();
        using var log = new Serilog.LoggerConfiguration().WriteTo.Sink(warnings).CreateLogger();
        var rewriter = RewriteRunner.Prepare(new RewriteSettings(), TemplateLibrary.Load(Templates), log, out _);
        var output = Path.Combine(TestPaths.NewTempDir(), "long");
        using (var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db")))
        using (var calls = Calls(server, cache))
        {
            await rewriter.RunAsync(input, output, calls, CancellationToken.None);
        }

        Assert.Equal(7, server.Requests);
        var usage = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "manifest.json"))).RootElement.GetProperty("usage").Clone();
        return (usage, [.. warnings.Seen], rewriter.Requests(input).Sum(r => (long)TokenCounter.Prompt(r)), output);
    }

    private static (long In, long Out, long Replies, long EstimatedIn, long EstimatedOut) Figures(JsonElement usage) =>
        (usage.GetProperty("input_tokens").GetInt64(), usage.GetProperty("output_tokens").GetInt64(), usage.GetProperty("estimated_replies").GetInt64(),
         usage.GetProperty("estimated_input_tokens").GetInt64(), usage.GetProperty("estimated_output_tokens").GetInt64());

    private static decimal Priced(long input, long output) => decimal.Round(PriceTable.Load().Cost("gpt-4o-mini", input, output)!.Value, 6);

    [Fact]
    public async Task A_Rewrite_Counts_And_Prices_Replies_Without_Usage_And_Says_So_Once()
    {
        var answers = new Answers();
        var (usage, warnings, prompt, output) = await Rewrite(text => answers.Reply(text, usage: null));
        Assert.True(prompt > 7 * 50, $"{prompt}");
        Assert.Equal((prompt, answers.OutputTokens, 7L, prompt, answers.OutputTokens), Figures(usage));
        Assert.True(answers.OutputTokens > 7 * 5, $"{answers.OutputTokens}");
        Assert.Equal(Priced(prompt, answers.OutputTokens), usage.GetProperty("estimated_cost_usd").GetDecimal());
        Assert.True(usage.GetProperty("estimated_cost_usd").GetDecimal() > 0);

        var warning = Assert.Single(warnings, w => w.Contains("usage", StringComparison.Ordinal));
        Assert.StartsWith("\"rewrite\": 7 model replies gave no token usage (or only part of it)", warning, StringComparison.Ordinal);
        Assert.Contains($"({prompt} in, {answers.OutputTokens} out) and priced", warning, StringComparison.Ordinal);

        // The stats report says which part of the figures is the tool's own count.
        var stats = await CliRunner.RunAsync("stats", output);
        Assert.Equal(0, stats.ExitCode);
        Assert.Contains($"{prompt} tokens in, {answers.OutputTokens} tokens out, estimated cost ${usage.GetProperty("estimated_cost_usd").GetDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture)} (of which {prompt} in and {answers.OutputTokens} out counted by the tool for 7 replies without usage)", stats.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Rewrite_Keeps_The_Providers_Figures_When_Every_Reply_Has_Its_Usage()
    {
        var answers = new Answers();
        var (usage, warnings, _, output) = await Rewrite(text => answers.Reply(text, new JsonObject { ["prompt_tokens"] = 50, ["completion_tokens"] = 12, ["total_tokens"] = 62 }));
        Assert.Equal((350L, 84L, 0L, 0L, 0L), Figures(usage));
        var stats = await CliRunner.RunAsync("stats", output);
        Assert.Contains("350 tokens in, 84 tokens out, estimated cost $", stats.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("counted by the tool", stats.Output, StringComparison.Ordinal);
        Assert.Equal(Priced(350, 84), usage.GetProperty("estimated_cost_usd").GetDecimal());
        Assert.DoesNotContain(warnings, w => w.Contains("usage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Rewrite_Counts_Only_The_Part_A_Reply_Leaves_Out()
    {
        // The prompt count is given, the completion count is not: the output is ours, the input the provider's.
        var answers = new Answers();
        var (usage, warnings, _, _) = await Rewrite(text => answers.Reply(text, new JsonObject { ["prompt_tokens"] = 50 }));
        Assert.Equal((350L, answers.OutputTokens, 7L, 0L, answers.OutputTokens), Figures(usage));
        Assert.Equal(Priced(350, answers.OutputTokens), usage.GetProperty("estimated_cost_usd").GetDecimal());
        Assert.Single(warnings, w => w.StartsWith("\"rewrite\": 7 model replies gave no token usage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Self_Instruct_Run_Counts_And_Prices_Replies_Without_Usage_And_Says_So_Once()
    {
        var s = new SelfInstructSettings { Endpoint = "openai", Model = "gpt-4o-mini", Kinds = ["detail"] };
        s.Inputs["captions"] = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
        var recipe = new Recipe { Name = "self-instruct", Format = "llava", Seed = 5, SelfInstruct = s };
        RecipeLoader.Validate(recipe);
        var library = TemplateLibrary.Load(Templates);
        var answers = new Answers();
        using var server = new FakeModelServer(r =>
        {
            var seed = System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(r.UserText)).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
            return answers.Reply($"The picture shows an everyday scene marked {seed}. People and things sit where one would expect them, the light falls evenly across the frame, and the background stays calm, which gives the whole image a natural and relaxed feeling.", usage: null);
        });
        var warnings = new Warnings();
        using var log = new Serilog.LoggerConfiguration().WriteTo.Sink(warnings).CreateLogger();
        var output = TestPaths.NewTempDir();
        using (var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db")))
        using (var calls = Calls(server, cache))
        {
            await SelfInstructRunner.RunAsync(s, recipe, output, library, calls, log, CancellationToken.None);
        }

        var requests = (await SelfInstructRunner.RequestsAsync(s, library, Serilog.Core.Logger.None, recipe.Seed, CancellationToken.None)).ToList();
        Assert.Equal(requests.Count, server.Requests);
        var prompt = requests.Sum(r => (long)TokenCounter.Prompt(r));
        var usage = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "manifest.json"))).RootElement.GetProperty("usage");
        Assert.Equal((prompt, answers.OutputTokens, (long)requests.Count, prompt, answers.OutputTokens), Figures(usage));
        Assert.Equal(Priced(prompt, answers.OutputTokens), usage.GetProperty("estimated_cost_usd").GetDecimal());
        Assert.Single(warnings.Seen, w => w.StartsWith($"\"self-instruct\": {requests.Count} model replies gave no token usage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_Unusable_Reply_Without_Usage_Counts_Its_Prompt_As_An_Estimate()
    {
        // An answer without text and an empty choices list, neither saying what they spent: both billed for the prompt.
        var request = new ChatRequest([new ChatMessage("user", "What colour is the box?")], 20, 0, "v1");
        foreach (var reply in new[] { FakeReply.NullContent(), FakeReply.EmptyChoices() })
        {
            using var server = new FakeModelServer(_ => reply);
            using var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
            using var calls = new ModelCallPath(OpenAiChatModel.Compatible(new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", "sk-test", TimeSpan.FromSeconds(20)), cache, new CallSettings { MaxRetries = 0 }, PriceTable.Load());
            await Assert.ThrowsAsync<ModelCallException>(() => calls.CompleteAsync(request, CancellationToken.None));
            var prompt = TokenCounter.Prompt(request);
            Assert.Equal((prompt, 0L, 1L, prompt, 0L), (calls.Usage.InputTokens, calls.Usage.OutputTokens, calls.Usage.EstimatedReplies, calls.Usage.EstimatedInputTokens, calls.Usage.EstimatedOutputTokens));
            Assert.Equal(PriceTable.Load().Cost("gpt-4o-mini", prompt, 0), calls.EstimatedCost);
        }

        // A gateway's error page with a 200 is no chat completion: nothing is counted.
        using (var server = new FakeModelServer(_ => new FakeReply(200, "{\"error\": \"upstream unavailable\"}")))
        using (var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db")))
        using (var calls = new ModelCallPath(OpenAiChatModel.Compatible(new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", "sk-test", TimeSpan.FromSeconds(20)), cache, new CallSettings { MaxRetries = 0 }, PriceTable.Load()))
        {
            await Assert.ThrowsAsync<ModelCallException>(() => calls.CompleteAsync(request, CancellationToken.None));
            Assert.Equal((0L, 0L, 0L), (calls.Usage.InputTokens, calls.Usage.OutputTokens, calls.Usage.EstimatedReplies));
        }
    }
}
