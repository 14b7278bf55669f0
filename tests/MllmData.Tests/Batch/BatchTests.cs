using System.Text;
using System.Text.Json.Nodes;
using MllmData.Generation;
using MllmData.ModelCalls;
using MllmData.ModelCalls.Batch;
using MllmData.Recipes;
using MllmData.Templates;
using Serilog.Core;

namespace MllmData.Tests.Batch;

public class TheBatchPath
{
    private const string Key = "sk-batch-NEVER-SHOW-THIS-4242";

    private static readonly string TemplatesRoot = TemplateLibrary.LocateRoot(null);

    /// <summary>The sample build: 7 short VQA answers in 3 conversations and 5 captions (12 answers in all).</summary>
    private static async Task<string> BuildSamples()
    {
        var dir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", dir);
        Assert.Equal(0, r.ExitCode);
        return dir;
    }

    /// <summary>The user text of the last message of a chat body (text parts joined).</summary>
    private static string UserText(JsonObject body) => body["messages"] is JsonArray m && m[^1] is JsonObject last
        ? last["content"] switch
        {
            JsonValue v => (string)v!,
            JsonArray parts => string.Join("\n", parts.OfType<JsonObject>().Where(p => (string?)p["type"] == "text").Select(p => (string)p["text"]!)),
            _ => string.Empty,
        }
        : string.Empty;

    /// <summary>A faithful rewrite of the prompt's short answer; "How many boxes" is refused (400) every time.</summary>
    private static FakeAnswer Faithful(JsonObject body)
    {
        var text = UserText(body);
        if (text.Contains("How many boxes", StringComparison.Ordinal))
        {
            return FakeAnswer.Error(400);
        }

        var answer = text.Split('\n').FirstOrDefault(l => l.StartsWith("Short answer: ", StringComparison.Ordinal))?["Short answer: ".Length..] ?? "unknown";
        return FakeAnswer.Text($"Looking at the image, the answer is {answer}.");
    }

    private static RewriteSettings Settings(string kind = "openai", params (string Key, string Value)[] extra)
    {
        var s = new RewriteSettings { Endpoint = kind, Model = "gpt-4o-mini", Backoff = 0.01, Cache = Path.Combine(TestPaths.NewTempDir(), "cache.db") };
        foreach (var (k, v) in extra)
        {
            switch (k)
            {
                case "select": s.Select = v; break;
                case "prompt": s.Prompt = v; break;
                case "image_root": s.ImageRoot = v; break;
                case "max_requests": s.MaxRequests = long.Parse(v, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }

        return s;
    }

    private static Uri Url(FakeBatchServer server, string kind) => new(kind == "azure" ? server.AzureEndpoint : server.OpenAiBaseUrl);

    /// <summary>The synchronous rewrite, in process, against the same fake answers.</summary>
    private static async Task<string> SyncRewrite(FakeBatchServer server, RewriteSettings s, string input, string kind = "openai", string? cachePath = null)
    {
        var output = TestPaths.NewTempDir();
        var rewriter = RewriteRunner.Prepare(s, TemplateLibrary.Load(TemplatesRoot), Logger.None, out _);
        var model = kind == "azure"
            ? OpenAiChatModel.Azure(Url(server, kind), s.Model, Key, TimeSpan.FromSeconds(30))
            : OpenAiChatModel.Compatible(Url(server, kind), s.Model, Key, TimeSpan.FromSeconds(30));
        using var cache = new ResponseCache(cachePath ?? Path.Combine(TestPaths.NewTempDir(), "sync.db"));
        using var calls = new ModelCallPath(model, cache, s.ToCallSettings(), PriceTable.Load());
        await rewriter.RunAsync(input, output, calls, CancellationToken.None);
        return output;
    }

    /// <summary>A rewrite submitted as batches into <paramref name="output"/>; batch.json holds the state.</summary>
    private static async Task<BatchPlan> Submit(FakeBatchServer server, RewriteSettings s, string input, string output, string kind = "openai", BatchLimits? limits = null)
    {
        limits ??= BatchLimits.For(kind);
        var job = BatchJobs.Rewrite(s, input, output, TemplatesRoot, Logger.None);
        var endpoint = new BatchEndpoint(kind, Url(server, kind), s.Model, Key);
        var state = new BatchState
        {
            Command = "rewrite",
            Endpoint = kind,
            Model = s.Model,
            Identity = endpoint.Identity,
            Cache = s.CachePath,
            WorkingDirectory = Directory.GetCurrentDirectory(),
            MaxRequestsPerFile = limits.MaxRequestsPerFile,
            MaxBytesPerFile = limits.MaxBytesPerFile,
            Job = BatchJobs.Describe(s, input, output, TemplatesRoot),
        };
        using var cache = new ResponseCache(s.CachePath);
        using var api = new BatchApi(endpoint, s.ToCallSettings());
        return await new BatchRunner(endpoint, api, cache, s.ToCallSettings(), PriceTable.Load(), Logger.None).SubmitAsync(job.Work, state, output, limits, CancellationToken.None);
    }

    /// <summary>One collect as `mllmdata batch collect DIR` runs it: the state and the work read back from batch.json.</summary>
    private static async Task<CollectOutcome> Collect(FakeBatchServer server, string dir, IChatModel? sync = null, int maxResubmits = 2)
    {
        var state = BatchState.Load(dir);
        var job = BatchJobs.FromState(state, Logger.None);
        var settings = job.Settings.ToCallSettings();
        var endpoint = new BatchEndpoint(state.Endpoint, Url(server, state.Endpoint), state.Model, Key);
        Assert.Equal(state.Identity, endpoint.Identity);
        using var cache = new ResponseCache(state.Cache);
        using var api = new BatchApi(endpoint, settings);
        var runner = new BatchRunner(endpoint, api, cache, settings, PriceTable.Load(), Logger.None);
        return await runner.CollectAsync(job.Work, state, dir, new BatchLimits(state.MaxRequestsPerFile, state.MaxBytesPerFile), new CollectOptions { SyncModel = sync, MaxResubmits = maxResubmits }, CancellationToken.None);
    }

    /// <summary>Collects until the build is written; the outcomes on the way.</summary>
    private static async Task<List<CollectStatus>> CollectUntilFinished(FakeBatchServer server, string dir, IChatModel? sync = null, int maxResubmits = 2)
    {
        var seen = new List<CollectStatus>();
        for (var i = 0; i < 20; i++)
        {
            var outcome = await Collect(server, dir, sync, maxResubmits);
            seen.Add(outcome.Status);
            if (outcome.Status == CollectStatus.Finished)
            {
                return seen;
            }
        }

        throw new InvalidOperationException("collect never finished: " + string.Join(", ", seen));
    }

    private static List<JsonObject> InputLines(FakeBatchServer server, FakeBatch batch) =>
        [.. Encoding.UTF8.GetString(server.Files[batch.InputFileId].Bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (JsonObject)JsonNode.Parse(l)!)];

    private static string RawLines(FakeBatchServer server, FakeBatch batch) => Encoding.UTF8.GetString(server.Files[batch.InputFileId].Bytes);

    /// <summary>Every file of an output folder but the manifest and the batch state, by relative path.</summary>
    private static SortedDictionary<string, string> Files(string dir) => new(
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
            .Where(f => f is not ("manifest.json" or "batch.json"))
            .ToDictionary(f => f, f => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, f))))),
        StringComparer.Ordinal);

    /// <summary>The manifest without its usage section (a run from the cache makes no calls of its own).</summary>
    private static string ManifestWithoutUsage(string dir)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!.AsObject();
        manifest.Remove("usage");
        return manifest.ToJsonString();
    }

    private static void AssertSameOutput(string sync, string batch)
    {
        Assert.NotEmpty(TestPaths.Shards(sync));
        Assert.Equal(Files(sync), Files(batch));
        foreach (var shard in TestPaths.Shards(sync))
        {
            Assert.Equal(File.ReadAllBytes(shard), File.ReadAllBytes(Path.Combine(batch, "data", Path.GetFileName(shard))));
        }

        Assert.Equal(ManifestWithoutUsage(sync), ManifestWithoutUsage(batch));
    }

    [Fact]
    public void Should_Start_A_New_File_At_The_Request_Limit_And_Before_The_Byte_Limit_Is_Passed()
    {
        var split = new BatchSplit(new BatchLimits(3, 100));
        Assert.True(split.Place(30));
        Assert.False(split.Place(30));
        Assert.False(split.Place(40)); // 100 bytes exactly: still the first file
        Assert.True(split.Place(1)); // a fourth line: the request limit
        Assert.False(split.Place(99)); // 100 again
        Assert.True(split.Place(1)); // 101 would pass the byte limit
        Assert.Equal(3, split.Files);
        Assert.Equal(6, split.Requests);
        Assert.Equal(201, split.Bytes);
        Assert.False(new BatchSplit(new BatchLimits(3, 100)).Place(100) is false);
        var ex = Assert.Throws<BatchLineTooLargeException>(() => new BatchSplit(new BatchLimits(3, 100)).Place(101));
        Assert.Contains("101 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_Write_Lines_In_Order_Into_Files_Within_Both_Limits()
    {
        var dir = TestPaths.NewTempDir();
        var body = Encoding.UTF8.GetBytes("{\"model\":\"m\",\"messages\":[]}");
        var line = BatchInputWriter.Line(new string('a', 64), "/v1/chat/completions", body);
        Assert.Equal($"{{\"custom_id\":\"{new string('a', 64)}\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{{\"model\":\"m\",\"messages\":[]}}}}\n", Encoding.UTF8.GetString(line));

        // Two lines fit the byte limit exactly; the request limit is 5.
        var limits = new BatchLimits(5, 2L * line.Length);
        var files = new List<BatchInputFile>();
        using (var writer = new BatchInputWriter(dir, "input-r1", "/v1/chat/completions", limits))
        {
            for (var i = 0; i < 5; i++)
            {
                writer.Add(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([(byte)i])), body, 10, 20);
            }

            files.AddRange(writer.Complete());
        }

        Assert.Equal(["input-r1-0001.jsonl", "input-r1-0002.jsonl", "input-r1-0003.jsonl"], files.Select(f => Path.GetFileName(f.Path)));
        Assert.Equal([2, 2, 1], files.Select(f => f.Requests));
        Assert.All(files, f => Assert.Equal(new FileInfo(f.Path).Length, f.Bytes));
        Assert.All(files, f => Assert.True(f.Bytes <= limits.MaxBytesPerFile));
        Assert.Equal([20L, 20, 10], files.Select(f => f.PromptTokens));
        var ids = files.SelectMany(f => File.ReadAllLines(f.Path)).Select(l => (string)JsonNode.Parse(l)!["custom_id"]!).ToList();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([(byte)i]))), ids);
    }

    [Fact]
    public void Should_Use_Each_Providers_Limits_And_Refuse_Flags_Past_Them()
    {
        Assert.Equal(new BatchLimits(50_000, 200_000_000), BatchLimits.For("openai"));
        Assert.Equal(new BatchLimits(100_000, 200_000_000), BatchLimits.For("azure"));
        Assert.Equal(new BatchLimits(50_000, 4096), BatchLimits.For("openai", null, 4096));
        Assert.Equal(new BatchLimits(100_000, 200_000_000), BatchLimits.For("azure", 100_000, 200_000_000));
        Assert.Throws<UsageException>(() => BatchLimits.For("openai", 50_001, null));
        Assert.Throws<UsageException>(() => BatchLimits.For("azure", 0, null));
        Assert.Throws<UsageException>(() => BatchLimits.For("openai", null, 200_000_001));
    }

    [Fact]
    public async Task Should_Refuse_A_Limit_Past_The_Providers_Before_Touching_Any_File()
    {
        var input = await BuildSamples();
        var output = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync("rewrite", "--in", input, "--out", output, "--endpoint", "openai", "--batch", "submit", "--batch-max-requests", "50001");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--batch-max-requests must be from 1 to 50000", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task Should_Print_Batch_Files_Requests_And_The_Batch_Price_In_A_Dry_Run_And_Write_Nothing()
    {
        var input = await BuildSamples();
        var output = Path.Combine(TestPaths.NewTempDir(), "out");
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var sync = await CliRunner.RunAsync("rewrite", "--in", input, "--out", output, "--cache", cache, "--endpoint", "openai", "--select", "all", "--dry-run");
        var batch = await CliRunner.RunAsync("rewrite", "--in", input, "--out", output, "--cache", cache, "--endpoint", "openai", "--select", "all", "--dry-run", "--batch", "submit", "--batch-max-requests", "5");
        Assert.Equal(0, batch.ExitCode);
        var lines = batch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)], l => l[(l.IndexOf(':', StringComparison.Ordinal) + 2)..]);
        Assert.Equal("3", lines["batch files"]); // 12 requests, 5 a file: 5 + 5 + 2
        Assert.Equal("12", lines["batch requests"]);
        var listed = decimal.Parse(sync.Output.Split('\n').Single(l => l.StartsWith("estimated cost: $", StringComparison.Ordinal))["estimated cost: $".Length..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var batchCost = decimal.Parse(lines["estimated batch cost"][1..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(decimal.Round(listed / 2, 6), batchCost);
        Assert.Contains("50% of the listed", lines["estimated batch cost"], StringComparison.Ordinal);
        Assert.Equal(sync.Output.Split('\n').Single(l => l.StartsWith("prompt tokens", StringComparison.Ordinal)).Trim(), "prompt tokens: " + lines["prompt tokens"]);
        Assert.False(Directory.Exists(output));
        Assert.False(File.Exists(cache));
    }

    [Fact]
    public async Task Should_Send_In_Each_Line_Exactly_The_Body_Of_The_Synchronous_Call_Images_Included()
    {
        var input = await BuildSamples();
        var images = Path.Combine(TestPaths.RepoRoot, "samples", "images");
        foreach (var kind in new[] { "openai", "azure" })
        {
            using var server = new FakeBatchServer(Faithful);
            var s = Settings(kind, ("prompt", "with-image"), ("image_root", images));
            await SyncRewrite(server, s, input, kind);
            var output = TestPaths.NewTempDir();
            await Submit(server, s, input, output, kind);
            var lines = InputLines(server, server.Batches.Single());
            // The 7 short answers: 7 synchronous calls, 7 lines, one for one.
            Assert.Equal(7, server.ChatBodies.Count);
            Assert.Equal(7, lines.Count);
            foreach (var line in lines)
            {
                Assert.Equal(kind == "azure" ? "/chat/completions" : "/v1/chat/completions", (string)line["url"]!);
                var body = line["body"]!.AsObject();
                Assert.Equal("gpt-4o-mini", (string)body["model"]!);
                // Both clients put the model (on Azure, the deployment) in the body; the line carries the SDK's own bytes.
                var same = server.ChatBodies.Where(b => JsonNode.DeepEquals(JsonNode.Parse(b), body)).ToList();
                Assert.Single(same);
                Assert.Contains("\"body\":" + Encoding.UTF8.GetString(same[0]) + "}", RawLines(server, server.Batches.Single()), StringComparison.Ordinal);
                Assert.Contains("data:image/jpeg;base64,", body.ToJsonString(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Should_Upload_Create_Follow_And_Collect_A_Rewrite_Into_The_Bytes_Of_The_Synchronous_Run()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful);
        var s = Settings();
        var sync = await SyncRewrite(server, s, input);
        var syncCalls = server.ChatCalls;
        Assert.Equal(7, syncCalls);

        var output = TestPaths.NewTempDir();
        var plan = await Submit(server, s, input, output);
        Assert.Equal((1, 7L), (plan.Files, plan.Lines));

        // Upload: multipart, purpose=batch, the JSONL file; create: the file, the chat endpoint, 24h.
        var upload = server.Files.Values.Single(f => f.Purpose == "batch");
        Assert.Equal("input-r1-0001.jsonl", upload.Name);
        var batch = server.Batches.Single();
        Assert.Equal(("/v1/chat/completions", "24h"), (batch.Endpoint, batch.Window));
        Assert.Equal(server.Files.Single(f => f.Value.Purpose == "batch").Key, batch.InputFileId);
        Assert.All(server.Seen.Where(x => x.Path.Contains("/files", StringComparison.Ordinal) || x.Path.Contains("/batches", StringComparison.Ordinal)), x => Assert.Equal("Bearer " + Key, x.Headers["authorization"]));

        var state = BatchState.Load(output);
        Assert.Equal(batch.Id, state.Batches.Single().Id);
        Assert.Equal(batch.InputFileId, state.Batches.Single().InputFileId);
        Assert.Equal("validating", state.Batches.Single().Status);
        Assert.DoesNotContain(Key, File.ReadAllText(BatchState.PathIn(output)), StringComparison.Ordinal);
        Assert.False(Directory.EnumerateFiles(Path.Combine(output, BatchState.WorkFolder)).Any(), "input files are removed once their batch exists");

        // validating -> in_progress (collect waits) -> completed (collect downloads, stores and finishes).
        var first = await Collect(server, output);
        Assert.Equal(CollectStatus.Waiting, first.Status);
        Assert.Equal("in_progress", BatchState.Load(output).Batches.Single().Status);
        Assert.Empty(TestPaths.Shards(output));
        var second = await Collect(server, output);
        Assert.Equal(CollectStatus.Finished, second.Status);
        Assert.Equal((6L, 1L), (second.Stored, second.FailedForGood));
        var done = BatchState.Load(output);
        Assert.True(done.Finished);
        Assert.Equal(("completed", 6L, 1L), (done.Batches.Single().Status, done.Batches.Single().Completed, done.Batches.Single().Failed));
        Assert.Equal(ModelFailure.ClientError, done.Failed.Values.Single().Kind);
        Assert.Equal((6L, 6L * 50, 6L * 12), (done.Usage.Answers, done.Usage.InputTokens, done.Usage.OutputTokens));
        Assert.Equal((0L, 0L, 0L), (done.Usage.EstimatedAnswers, done.Usage.EstimatedInputTokens, done.Usage.EstimatedOutputTokens));
        Assert.Equal(PriceTable.Load().Cost("gpt-4o-mini", 300, 72) / 2, done.Usage.EstimatedCost);
        Assert.Equal(syncCalls, server.ChatCalls);

        AssertSameOutput(sync, output);
        var reject = JsonNode.Parse(File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Single())!;
        Assert.Equal("model-client-error", (string)reject["reason"]!);
        // The custom ids are the synchronous path's cache keys: the finishing run found all 6 answers there.
        Assert.Equal(6, JsonNode.Parse(File.ReadAllText(Path.Combine(output, "manifest.json")))!["usage"]!["cache_hits"]!.GetValue<long>());
        Assert.False(Directory.Exists(Path.Combine(output, BatchState.WorkFolder)));
    }

    [Fact]
    public async Task Should_Refuse_An_Answer_That_Is_Not_What_The_Files_Or_Batches_Api_Gives()
    {
        // A chat endpoint (or anything else) answering 200 at the files and batches paths: no id of its is taken for a file or a batch.
        var chat = "{\"id\": \"chatcmpl-1\", \"object\": \"chat.completion\", \"choices\": []}";
        using var server = new Models.FakeModelServer(_ => new Models.FakeReply(200, chat));
        var file = Path.Combine(TestPaths.NewTempDir(), "input-1.jsonl");
        File.WriteAllText(file, "{}\n");
        using var api = new BatchApi(new BatchEndpoint("openai", new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", Key), new CallSettings { MaxRetries = 0 });
        var upload = await Assert.ThrowsAsync<BatchApiException>(() => api.UploadAsync(file, CancellationToken.None));
        Assert.Equal("upload of input-1.jsonl: the answer is a \"chat.completion\" object, not a file object; does the endpoint serve the Files API?", upload.Message);
        var create = await Assert.ThrowsAsync<BatchApiException>(() => api.CreateAsync("file-1", CancellationToken.None));
        Assert.Equal("create a batch: the answer is a \"chat.completion\" object, not a batch object; does the endpoint serve the Batches API?", create.Message);
        Assert.StartsWith("read batch b-1: the answer is a \"chat.completion\" object", (await Assert.ThrowsAsync<BatchApiException>(() => api.GetAsync("b-1", CancellationToken.None))).Message, StringComparison.Ordinal);

        // The kind is checked wherever the object says one; a list, a bare value or a kind that is no string is refused too.
        static JsonElementHolder Parse(string json) => new(System.Text.Json.JsonDocument.Parse(json));
        using (var ok = Parse("{\"id\": \"file-9\", \"object\": \"file\"}"))
        {
            Assert.Equal("file-9", BatchApi.Of(ok.Root, "file", "upload").GetProperty("id").GetString());
        }

        using (var noKind = Parse("{\"id\": \"file-9\"}"))
        {
            Assert.Equal("file-9", BatchApi.Of(noKind.Root, "file", "upload").GetProperty("id").GetString());
        }

        foreach (var (json, said) in new[] { ("[]", "the answer is a JSON array, not a file object"), ("\"file\"", "the answer is a JSON string, not a file object"), ("{\"object\": 7}", "the answer is an object of no kind, not a file object"), ("{\"object\": \"batch\"}", "the answer is a \"batch\" object, not a file object") })
        {
            using var doc = Parse(json);
            Assert.Equal("upload: " + said, Refusal(doc));
        }

        static string? Refusal(JsonElementHolder doc)
        {
            try
            {
                BatchApi.Of(doc.Root, "file", "upload");
                return null;
            }
            catch (BatchApiException ex)
            {
                return ex.Message.Split(';')[0];
            }
        }
    }

    private sealed class JsonElementHolder(System.Text.Json.JsonDocument doc) : IDisposable
    {
        public System.Text.Json.JsonElement Root => doc.RootElement;

        public void Dispose() => doc.Dispose();
    }

    [Fact]
    public async Task Should_Report_Status_Transitions_From_Validating_To_Completed()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful) { CapitalisedStatus = true };
        var s = Settings();
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output);
        var endpoint = new BatchEndpoint("openai", Url(server, "openai"), s.Model, Key);
        using var api = new BatchApi(endpoint, s.ToCallSettings());
        var runner = new BatchRunner(endpoint, api, null, s.ToCallSettings(), PriceTable.Load(), Logger.None);
        var state = BatchState.Load(output);
        Assert.Equal("validating", state.Batches.Single().Status);
        var statuses = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var b = (await runner.RefreshAsync(state, output, CancellationToken.None)).Single();
            statuses.Add($"{b.Status} {b.Completed}/{b.Failed}");
        }

        Assert.Equal(["in_progress 0/0", "completed 6/1", "completed 6/1"], statuses);
        Assert.Equal("completed", BatchState.Load(output).Batches.Single().Status);
        Assert.NotNull(BatchState.Load(output).Batches.Single().OutputFileId);
        Assert.NotNull(BatchState.Load(output).Batches.Single().ErrorFileId);
    }

    [Fact]
    public async Task Should_Resubmit_Only_The_Unfinished_Lines_Of_An_Expired_Batch_And_Finish_With_The_Same_Bytes()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful) { Fate = n => n == 0 ? BatchFate.Expire : BatchFate.Complete, AnsweredBeforeExpiry = 3 };
        var s = Settings(extra: ("select", "all"));
        var sync = await SyncRewrite(server, s, input);
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output);
        var first = InputLines(server, server.Batches[0]);
        Assert.Equal(12, first.Count);

        Assert.Equal(CollectStatus.Waiting, (await Collect(server, output)).Status);
        var expired = await Collect(server, output);
        Assert.Equal(CollectStatus.Resubmitted, expired.Status);
        Assert.Equal(2, expired.Stored); // of the first 3 lines, the third ("How many boxes") is refused for good
        Assert.Equal("expired", BatchState.Load(output).Batches[0].Status);

        // The second round holds exactly the 9 lines the first never ran, in the first's order.
        var again = InputLines(server, server.Batches[1]);
        Assert.Equal(first.Skip(3).Select(l => (string)l["custom_id"]!), again.Select(l => (string)l["custom_id"]!));
        Assert.Equal(2, BatchState.Load(output).Round);
        Assert.Equal(
            [CollectStatus.Waiting, CollectStatus.Finished],
            await CollectUntilFinished(server, output));
        AssertSameOutput(sync, output);
    }

    [Theory]
    [InlineData(401, "refused the API key (HTTP 401)")]
    [InlineData(403, "refused access (HTTP 403)")]
    [InlineData(404, "no such model or deployment (HTTP 404)")]
    public async Task Should_Stop_Collecting_On_A_Result_Line_That_Refuses_Access_Keeping_The_Answers_Stored(int status, string words)
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(body => UserText(body).Contains("Is the sky blue?", StringComparison.Ordinal) ? FakeAnswer.Error(status) : Faithful(body));
        var s = Settings();
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output);
        Assert.Equal(CollectStatus.Waiting, (await Collect(server, output)).Status);

        var refused = await Assert.ThrowsAsync<ModelAccessException>(() => Collect(server, output));
        Assert.Equal(status, refused.Status);
        Assert.Contains(words, refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output, "manifest.json")));
        Assert.Single(server.Batches);

        // The lines read before the refusal are answers in the cache: the sample build has six questions, one refused.
        using var cache = new ResponseCache(s.CachePath);
        Assert.InRange(cache.Count(), 1, 5);
    }

    [Fact]
    public async Task Should_Resubmit_Retryable_Failures_And_Keep_Final_Ones_As_The_Synchronous_Rejects()
    {
        static Func<JsonObject, FakeAnswer> Flaky()
        {
            var sky = 0;
            return body => UserText(body).Contains("Is the sky blue?", StringComparison.Ordinal) && Interlocked.Increment(ref sky) == 1
                ? FakeAnswer.Error(500)
                : Faithful(body);
        }

        var input = await BuildSamples();
        using var syncServer = new FakeBatchServer(Flaky());
        var s = Settings();
        var sync = await SyncRewrite(syncServer, s, input);
        using var server = new FakeBatchServer(Flaky());
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output);
        Assert.Equal(CollectStatus.Waiting, (await Collect(server, output)).Status);
        var partial = await Collect(server, output);
        Assert.Equal(CollectStatus.Resubmitted, partial.Status);
        Assert.Equal((5L, 1L, 1L), (partial.Stored, partial.Missing, partial.FailedForGood));
        var state = BatchState.Load(output);
        Assert.Equal((ModelFailure.ClientError, 400), (state.Failed.Values.Single().Kind, state.Failed.Values.Single().Status));
        Assert.Equal(ModelFailure.ServerError, state.Retrying.Values.Single().Kind);

        // Only the 500 goes out again; the 400 is final, as the synchronous path does not retry it either.
        var resent = InputLines(server, server.Batches[1]).Single();
        Assert.Contains("Is the sky blue?", UserText(resent["body"]!.AsObject()), StringComparison.Ordinal);
        await CollectUntilFinished(server, output);
        AssertSameOutput(sync, output);
        Assert.Equal("model-client-error", (string)JsonNode.Parse(File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Single())!["reason"]!);
    }

    [Fact]
    public async Task Should_Run_Lines_Of_An_Expired_Batch_Synchronously_With_Fallback_Sync()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful) { Fate = _ => BatchFate.Expire, AnsweredBeforeExpiry = 2 };
        var s = Settings();
        var sync = await SyncRewrite(server, s, input);
        var before = server.ChatCalls;
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output);
        var model = OpenAiChatModel.Compatible(Url(server, "openai"), s.Model, Key, TimeSpan.FromSeconds(30));
        Assert.Equal([CollectStatus.Waiting, CollectStatus.Finished], await CollectUntilFinished(server, output, model));
        Assert.Single(server.Batches);

        // 7 lines, 2 answered before expiry: 5 synchronous calls (the 400 among them, refused again).
        Assert.Equal(5, server.ChatCalls - before);
        AssertSameOutput(sync, output);
    }

    [Fact]
    public async Task Should_Turn_Lines_Without_An_Answer_After_The_Last_Round_Into_Rejects()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful) { Fate = _ => BatchFate.FailValidation };
        var s = Settings();
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output);
        Assert.Equal([CollectStatus.Resubmitted, CollectStatus.Finished], await CollectUntilFinished(server, output, maxResubmits: 1));
        Assert.Equal(2, server.Batches.Count);
        var reasons = File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Select(l => (string)JsonNode.Parse(l)!["reason"]!).ToList();
        Assert.Equal(3, reasons.Count); // the 3 conversations with short answers
        Assert.All(reasons, r => Assert.Equal("model-timeout", r));
        Assert.Contains("no answer from 2 rounds of batches", File.ReadAllText(Path.Combine(output, "rejects.jsonl")), StringComparison.Ordinal);
        Assert.Equal(0, server.ChatCalls);
    }

    [Fact]
    public async Task Should_Refuse_A_Batch_Past_A_Cap_Before_Uploading_Anything()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful);
        var output = TestPaths.NewTempDir();
        var ex = await Assert.ThrowsAsync<BudgetExceededException>(() => Submit(server, Settings(extra: ("max_requests", "6")), input, output));
        Assert.Contains("would send 7 requests; nothing was submitted", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Seen);
        Assert.False(BatchState.Exists(output));
        Assert.False(Directory.Exists(Path.Combine(output, BatchState.WorkFolder)));
    }

    [Fact]
    public async Task Should_Retry_Creating_A_Batch_Only_When_The_Server_Says_It_Did_Nothing()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful);
        server.CreateFailures.Enqueue(429);
        var output = TestPaths.NewTempDir();
        await Submit(server, Settings(), input, output);
        Assert.Single(server.Batches);
        Assert.Equal(2, server.Seen.Count(x => x.Method == "POST" && x.Path.EndsWith("/batches", StringComparison.Ordinal)));

        using var refusing = new FakeBatchServer(Faithful);
        refusing.CreateFailures.Enqueue(400);
        var other = TestPaths.NewTempDir();
        var ex = await Assert.ThrowsAsync<BatchApiException>(() => Submit(refusing, Settings(), input, other));
        Assert.Equal(400, ex.Status);
        Assert.Empty(refusing.Batches);
        Assert.DoesNotContain(Key, ex.Message, StringComparison.Ordinal);
        Assert.EndsWith(": try again; you sent Bearer [the API key]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Speak_Azures_Endpoint_Shapes_And_Finish_With_The_Bytes_Of_The_Synchronous_Azure_Run()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful) { CapitalisedStatus = true };
        var s = Settings("azure");
        var sync = await SyncRewrite(server, s, input, "azure");
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output, "azure");
        var calls = server.Seen.Where(x => !x.Path.Contains("/deployments/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["POST /openai/files", "POST /openai/batches"], calls.Select(x => $"{x.Method} {x.Path}"));
        Assert.All(calls, x => Assert.Equal("?api-version=2024-10-21", x.Query));
        Assert.All(calls, x => Assert.Equal(Key, x.Headers["api-key"]));
        Assert.All(calls, x => Assert.False(x.Headers.ContainsKey("authorization")));
        Assert.Equal("/chat/completions", server.Batches.Single().Endpoint);
        await CollectUntilFinished(server, output);
        Assert.Contains(server.Seen, x => x.Path == $"/openai/files/{server.Batches.Single().OutputFileId}/content");
        AssertSameOutput(sync, output);
    }

    [Fact]
    public async Task Should_Split_A_Submit_At_The_Byte_Limit_Into_Several_Batches_And_Collect_Them_All()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful);
        var s = Settings(extra: ("select", "all"));
        var sync = await SyncRewrite(server, s, input);
        var output = TestPaths.NewTempDir();
        var limits = new BatchLimits(50_000, 2_000);
        var plan = await Submit(server, s, input, output, limits: limits);

        // Each file as full as the limit allows: a file ends only where the next line would pass 2,000 bytes.
        var files = server.Batches.Select(b => server.Files[b.InputFileId].Bytes).ToList();
        Assert.Equal(plan.Files, files.Count);
        Assert.True(files.Count >= 4, $"{files.Count} files");
        Assert.All(files, f => Assert.InRange(f.Length, 1, 2_000));
        for (var i = 0; i + 1 < files.Count; i++)
        {
            var nextLine = Array.IndexOf(files[i + 1], (byte)'\n') + 1;
            Assert.True(files[i].Length + nextLine > 2_000);
        }

        Assert.Equal(12, files.Sum(f => f.Count(b => b == (byte)'\n')));
        await CollectUntilFinished(server, output);
        Assert.All(BatchState.Load(output).Batches, b => Assert.Equal("completed", b.Status));
        AssertSameOutput(sync, output);
    }

    /// <summary>Self-instruct replies with the shapes the parser takes; the words vary with the prompt so questions do not collide.</summary>
    private static FakeAnswer Generating(JsonObject body)
    {
        var system = (string)body["messages"]![0]!["content"]!;
        var context = UserText(body);
        string Words(string seed, int n) => string.Join(' ', Enumerable.Range(0, n).Select(i =>
            "w" + System.IO.Hashing.XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(seed + "|" + i)).ToString("x", System.Globalization.CultureInfo.InvariantCulture)[..8]));
        if (system.Contains("Write three to five turns", StringComparison.Ordinal))
        {
            return context.Contains("giraffe", StringComparison.OrdinalIgnoreCase)
                ? FakeAnswer.Error(400)
                : FakeAnswer.Text($"Q1: Which {Words(context + "q1", 4)} stand out?\nA1: The {Words(context + "a1", 3)} stand out most clearly here.\nQ2: Is the {Words(context + "q2", 3)} near?\nA2: Yes, it is quite close and fills part of the view.");
        }

        if (system.Contains("reasoning question", StringComparison.Ordinal))
        {
            return FakeAnswer.Text($"Question: Why might the {Words(context + "c", 3)} matter here?\nAnswer: They matter because they shape what happens nearby, and the way everything is arranged suggests a busy, ordinary moment that goes on in the same way for a while, which {Words(context + "d", 4)} show.");
        }

        return FakeAnswer.Text($"The picture shows an everyday scene. {Words(context + "e", 6)} appear in the middle of the frame, while the background stays calm and quiet. Light falls evenly across everything, and the objects sit where one would expect them, which gives the whole image a natural, relaxed feeling that invites a closer look at each part of it.");
    }

    [Fact]
    public async Task Should_Collect_A_Self_Instruct_Run_Split_Into_Batches_Into_The_Bytes_Of_The_Synchronous_Run()
    {
        var captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
        var s = new SelfInstructSettings { Endpoint = "openai", Model = "gpt-4o-mini", Backoff = 0.01, Cache = Path.Combine(TestPaths.NewTempDir(), "c.db") };
        s.Inputs["captions"] = captions;
        var recipe = new Recipe { Name = "self-instruct", Format = "llava", Seed = 5, SelfInstruct = s };
        RecipeLoader.Validate(recipe);
        var library = TemplateLibrary.Load(TemplatesRoot);
        using var server = new FakeBatchServer(Generating);

        var sync = TestPaths.NewTempDir();
        using (var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "sync.db")))
        using (var calls = new ModelCallPath(OpenAiChatModel.Compatible(Url(server, "openai"), s.Model, Key, TimeSpan.FromSeconds(30)), cache, s.ToCallSettings(), PriceTable.Load()))
        {
            await SelfInstructRunner.RunAsync(s, recipe, sync, library, calls, Logger.None, CancellationToken.None);
        }

        Assert.Equal(237, server.ChatCalls);
        var output = TestPaths.NewTempDir();
        var limits = new BatchLimits(100, 200_000_000);
        var job = BatchJobs.SelfInstruct(s, recipe, output, TemplatesRoot, Logger.None);
        var endpoint = new BatchEndpoint("openai", Url(server, "openai"), s.Model, Key);
        var state = new BatchState
        {
            Command = "self-instruct",
            Endpoint = "openai",
            Model = s.Model,
            Identity = endpoint.Identity,
            Cache = s.CachePath,
            WorkingDirectory = Directory.GetCurrentDirectory(),
            MaxRequestsPerFile = limits.MaxRequestsPerFile,
            MaxBytesPerFile = limits.MaxBytesPerFile,
            Job = BatchJobs.Describe(s, recipe, output, TemplatesRoot),
        };
        using (var cache = new ResponseCache(s.CachePath))
        using (var api = new BatchApi(endpoint, s.ToCallSettings()))
        {
            var plan = await new BatchRunner(endpoint, api, cache, s.ToCallSettings(), PriceTable.Load(), Logger.None).SubmitAsync(job.Work, state, output, limits, CancellationToken.None);
            Assert.Equal((3, 237L), (plan.Files, plan.Lines));
        }

        // 237 requests at 100 a file: 100, 100, 37.
        Assert.Equal([100, 100, 37], server.Batches.Select(b => InputLines(server, b).Count));
        await CollectUntilFinished(server, output);
        Assert.Equal(237, server.ChatCalls);
        AssertSameOutput(sync, output);
        Assert.Contains("model-client-error", File.ReadAllText(Path.Combine(output, "rejects.jsonl")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Submit_Follow_And_Collect_From_The_Command_Line_Without_Ever_Printing_The_Key()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful);
        var env = new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = Key };
        string[] Rewrite(string output, string cache, params string[] extra) =>
            ["rewrite", "--in", input, "--out", output, "--cache", cache, "--endpoint", "openai", "--backoff", "0.05", .. extra];
        var runs = new List<MllmData.Tests.Models.ChildCli.Result>();
        async Task<MllmData.Tests.Models.ChildCli.Result> Run(IReadOnlyDictionary<string, string> e, params string[] args)
        {
            var r = await MllmData.Tests.Models.ChildCli.RunAsync(e, args);
            runs.Add(r);
            return r;
        }

        var sync = TestPaths.NewTempDir();
        Assert.Equal(0, (await Run(env, Rewrite(sync, Path.Combine(TestPaths.NewTempDir(), "s.db")))).ExitCode);

        var output = TestPaths.NewTempDir();
        var cache = Path.Combine(TestPaths.NewTempDir(), "b.db");
        var submit = await Run(env, Rewrite(output, cache, "--batch", "submit"));
        Assert.True(submit.ExitCode == 0, submit.Error);
        Assert.Contains("batch files: 1", submit.Output, StringComparison.Ordinal);
        Assert.Contains("batch requests: 7", submit.Output, StringComparison.Ordinal);
        Assert.EndsWith(Path.Combine(output, "batch.json"), submit.Output.Trim(), StringComparison.Ordinal);

        // A second submit into a folder with batches in flight is refused; so is a collect without the endpoint.
        var twice = await Run(env, Rewrite(output, cache, "--batch", "submit"));
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("not collected yet", twice.Error, StringComparison.Ordinal);
        var bare = await Run(new Dictionary<string, string>(), "batch", "collect", output);
        Assert.Equal(1, bare.ExitCode);
        Assert.Contains("set OPENAI_BASE_URL", bare.Error, StringComparison.Ordinal);

        var waiting = await Run(env, "batch", "collect", output);
        Assert.True(waiting.ExitCode == 3, waiting.Error);
        Assert.Contains("in_progress", waiting.Output, StringComparison.Ordinal);
        var status = await Run(env, "batch", "status", output);
        Assert.Equal(0, status.ExitCode);
        Assert.Matches(@"batch_000\s+completed\s+round 1\s+requests 7\s+completed 6\s+failed 1", status.Output);
        var done = await Run(env, "batch", "collect", output);
        Assert.True(done.ExitCode == 0, done.Error);
        Assert.Equal(Path.Combine(output, "manifest.json"), done.Output.Trim());
        var again = await Run(env, "batch", "collect", output);
        Assert.Equal(0, again.ExitCode);

        AssertSameOutput(sync, output);
        Assert.All(runs, r => Assert.DoesNotContain(Key, r.Output + r.Error, StringComparison.Ordinal));
        Assert.DoesNotContain(Key, File.ReadAllText(Path.Combine(output, "batch.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Count_Tokens_The_Provider_Left_Out_As_The_Synchronous_Path_Does()
    {
        var input = await BuildSamples();
        using var server = new FakeBatchServer(Faithful) { OmitUsage = true };
        var s = Settings();
        var syncCache = Path.Combine(TestPaths.NewTempDir(), "sync.db");
        var sync = await SyncRewrite(server, s, input, cachePath: syncCache);
        var output = TestPaths.NewTempDir();
        await Submit(server, s, input, output);
        var keys = InputLines(server, server.Batches.Single()).Select(l => (string)l["custom_id"]!).ToList();
        await CollectUntilFinished(server, output);
        Assert.Empty(BatchState.Load(output).UsageMissing);
        using var expected = new ResponseCache(syncCache);
        using var actual = new ResponseCache(s.CachePath);
        var answered = keys.Where(k => expected.Get(k) is not null).ToList();
        Assert.Equal(6, answered.Count);
        foreach (var key in answered)
        {
            var (want, got) = (expected.Get(key)!, actual.Get(key)!);
            Assert.True(want.InputTokens > 50, $"{want.InputTokens}"); // counted locally, not the fake's 50
            Assert.Equal((want.Text, want.InputTokens, want.OutputTokens), (got.Text, got.InputTokens, got.OutputTokens));
        }

        // The batch usage holds those counts too, priced, and says they are ours: never 0 tokens in for answers that had a prompt.
        var usage = BatchState.Load(output).Usage;
        var (promptTokens, outputTokens) = (answered.Sum(k => (long)expected.Get(k)!.InputTokens), answered.Sum(k => (long)expected.Get(k)!.OutputTokens));
        Assert.Equal((6L, promptTokens, outputTokens), (usage.Answers, usage.InputTokens, usage.OutputTokens));
        Assert.Equal((6L, promptTokens, outputTokens), (usage.EstimatedAnswers, usage.EstimatedInputTokens, usage.EstimatedOutputTokens));
        Assert.Equal(PriceTable.Load().BatchCost("gpt-4o-mini", promptTokens, outputTokens), usage.EstimatedCost);

        AssertSameOutput(sync, output);
    }
}
