using System.Text;
using System.Text.Json;
using MllmData.Generation;
using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

public class TheRewriter
{
    private const string Key = "sk-test-NEVER-SHOW-THIS-4242";

    /// <summary>The sample build: 7 short VQA answers in 3 conversations and 5 captions.</summary>
    private static async Task<string> BuildSamples()
    {
        var dir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", dir);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Error}");
        return dir;
    }

    private static Dictionary<string, string> OpenAi(FakeModelServer server) => new() { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = Key };

    private static string[] Rewrite(string input, string output, string cache, params string[] extra) =>
        ["rewrite", "--in", input, "--out", output, "--cache", cache, "--backoff", "0.05", .. extra];

    private static string Shards(string dir) => string.Concat(TestPaths.Shards(dir).Order(StringComparer.Ordinal).Select(File.ReadAllText));

    /// <summary>The reasons of a run's rejects, sorted.</summary>
    private static List<string?> Reasons(string dir) =>
        [.. File.ReadAllLines(Path.Combine(dir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()).Order(StringComparer.Ordinal)];

    private static JsonElement Manifest(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json"))).RootElement;

    /// <summary>A Parquet build is rewritten into Parquet, to the same records as its JSONL build's rewrite.</summary>
    [Fact]
    public async Task Should_Rewrite_A_Parquet_Build_To_The_Records_Of_The_Jsonl_Rewrite()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var recipe = Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml");
        var jsonlIn = await BuildSamples();
        var parquetIn = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", recipe, "--container", "parquet", "--row-group-records", "4", "--out", parquetIn)).ExitCode);
        var cache = Path.Combine(TestPaths.NewTempDir(), "cache.db");
        var (jsonlOut, parquetOut) = (TestPaths.NewTempDir(), TestPaths.NewTempDir());
        Assert.Equal(0, (await ChildCli.RunAsync(OpenAi(server), Rewrite(jsonlIn, jsonlOut, cache))).ExitCode);
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(parquetIn, parquetOut, cache));
        Assert.True(run.ExitCode == 0, run.Error);

        var shard = TestPaths.Shards(parquetOut).Single();
        Assert.EndsWith(".parquet", shard, StringComparison.Ordinal);
        var expected = File.ReadAllLines(TestPaths.Shards(jsonlOut).Single()).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        var actual = MllmData.Formats.ShardReader.Records(shard).Select(r => (System.Text.Json.Nodes.JsonNode)r.Record).ToList();
        Assert.Equal(expected.Count, actual.Count);
        Assert.All(expected.Zip(actual), p => Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(p.First, p.Second), $"{p.First.ToJsonString()}\n{p.Second.ToJsonString()}"));
        Assert.Contains("Looking at the image, the answer is red.", string.Concat(actual.Select(a => a.ToJsonString())), StringComparison.Ordinal);

        // The rewritten shards keep the input's row groups.
        var manifest = Manifest(parquetOut);
        Assert.Equal("parquet", manifest.GetProperty("container").GetString());
        Assert.Equal(4, manifest.GetProperty("parquet").GetProperty("row_group_records").GetInt64());
    }

    [Fact]
    public async Task Should_Refuse_To_Rewrite_A_Parquet_Build_With_Embedded_Images()
    {
        var input = await MllmData.Tests.Conformance.Consumers.CocoAsync("sharegpt", "--per-image", "--images", "embed", "--container", "parquet");
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, TestPaths.NewTempDir(), Path.Combine(TestPaths.NewTempDir(), "cache.db")));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("Parquet build with the images' bytes in its rows", run.Error, StringComparison.Ordinal);
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public async Task Should_Rewrite_Short_Answers_Keep_The_Raw_Ones_And_Make_No_Calls_When_Repeated()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var input = await BuildSamples();
        var cache = Path.Combine(TestPaths.NewTempDir(), "cache.db");
        var first = TestPaths.NewTempDir();
        var run1 = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, first, cache));
        Assert.True(run1.ExitCode == 0, run1.Error);
        Assert.Equal(7, server.Requests);

        var lines = File.ReadAllLines(TestPaths.Shards(first).Single()).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var img101 = lines.Single(l => l.GetProperty("id").GetString() == "vqav2-sample-img101");
        Assert.Equal("Looking at the image, the answer is red.", img101.GetProperty("conversations")[1].GetProperty("value").GetString());
        Assert.Equal(["red", "yes", "1"], img101.GetProperty("meta").GetProperty("rewrite").GetProperty("raw_answers").EnumerateArray().Select(x => x.GetString()));

        // Captions are long answers: left as they were.
        Assert.Equal("A white rectangle lies on green grass under a pale blue sky.", lines.Single(l => l.GetProperty("id").GetString() == "coco-sample-c9001").GetProperty("conversations")[1].GetProperty("value").GetString());
        var usage = Manifest(first).GetProperty("usage");
        Assert.Equal(7, usage.GetProperty("requests").GetInt64());
        Assert.Equal(7 * 50, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(7 * 12, usage.GetProperty("output_tokens").GetInt64());
        Assert.True(usage.GetProperty("estimated_cost_usd").GetDecimal() > 0);
        Assert.Contains("7 requests, 0 cache hits", run1.Error, StringComparison.Ordinal);

        var second = TestPaths.NewTempDir();
        var run2 = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, second, cache));
        Assert.Equal(0, run2.ExitCode);
        Assert.Equal(7, server.Requests);
        Assert.Equal(7, Manifest(second).GetProperty("usage").GetProperty("cache_hits").GetInt64());
        Assert.Equal(Shards(first), Shards(second));
    }

    [Fact]
    public async Task Should_Resume_A_Killed_Run_Paying_Only_For_Missing_Calls_With_Identical_Output()
    {
        var input = await BuildSamples();
        var delay = TimeSpan.FromMilliseconds(250);

        // The reference: one uninterrupted run.
        using var reference = new FakeModelServer(r => FakeModelServer.Faithful(r, delay));
        var whole = TestPaths.NewTempDir();
        var full = await ChildCli.RunAsync(OpenAi(reference), Rewrite(input, whole, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--select", "all", "--concurrency", "1"));
        Assert.Equal(0, full.ExitCode);
        var total = reference.Requests;
        Assert.Equal(12, total);

        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r, delay));
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var killedOut = TestPaths.NewTempDir();
        var killed = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, killedOut, cache, "--select", "all", "--concurrency", "1"), killWhen: () => server.Served >= 5);
        Assert.True(killed.Killed);
        Assert.Empty(TestPaths.Shards(killedOut));
        long cached;
        using (var c = new ResponseCache(cache))
        {
            cached = c.Count();
        }

        Assert.InRange(cached, 4, 6);
        var before = server.Requests;
        var resumedOut = TestPaths.NewTempDir();
        var resumed = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, resumedOut, cache, "--select", "all", "--concurrency", "1"));
        Assert.Equal(0, resumed.ExitCode);
        Assert.Equal(total - cached, server.Requests - before);
        Assert.Equal(Shards(whole), Shards(resumedOut));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "rejects.jsonl")), File.ReadAllBytes(Path.Combine(resumedOut, "rejects.jsonl")));
    }

    [Fact]
    public async Task Should_Wait_Out_Retry_After_And_Reject_After_The_Retry_Cap_While_The_Run_Goes_On()
    {
        var firstSky = 0;
        using var server = new FakeModelServer(r =>
        {
            if (r.UserText.Contains("How many boxes", StringComparison.Ordinal))
            {
                return FakeReply.Error(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "0" });
            }

            if (r.UserText.Contains("Is the sky blue?", StringComparison.Ordinal) && Interlocked.Increment(ref firstSky) == 1)
            {
                return FakeReply.Error(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "2" });
            }

            return FakeModelServer.Faithful(r);
        });
        var input = await BuildSamples();
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--max-retries", "2"));
        Assert.Equal(0, run.ExitCode);

        var sky = server.Seen.Where(s => s.UserText.Contains("Is the sky blue?", StringComparison.Ordinal)).OrderBy(s => s.AtSeconds).ToList();
        Assert.Equal(2, sky.Count);
        // The server stamps arrivals on its own clock, the client times its wait on another: a millisecond either way is
        // noise (1.999 s was seen). Our own backoff for a first retry is 0.5 to 1 s, so 1.9 s still tells the two apart.
        Assert.True(sky[1].AtSeconds - sky[0].AtSeconds >= 1.9, $"retried after {sky[1].AtSeconds - sky[0].AtSeconds:0.000} s");

        // The always-429 question: 1 try + 2 retries, then a reject; the other records are written.
        Assert.Equal(3, server.Seen.Count(s => s.UserText.Contains("How many boxes", StringComparison.Ordinal)));
        var reject = JsonDocument.Parse(File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal("model-rate-limited", reject.GetProperty("reason").GetString());
        Assert.Equal(7, Manifest(output).GetProperty("records").GetInt64());
        var usage = Manifest(output).GetProperty("usage");
        Assert.Equal(3, usage.GetProperty("retries").GetInt64());
        Assert.Equal(4, usage.GetProperty("rate_limited").GetInt64());
    }

    [Fact]
    public async Task Should_Honour_Retry_After_Ms_And_Recover_From_500s_Stalls_And_Malformed_Bodies()
    {
        var tries = new Dictionary<string, int>();
        using var server = new FakeModelServer(r =>
        {
            int n;
            lock (tries)
            {
                tries[r.UserText] = n = tries.GetValueOrDefault(r.UserText) + 1;
            }

            if (n > 1)
            {
                return FakeModelServer.Faithful(r);
            }

            return r.UserText switch
            {
                var t when t.Contains("color is the box", StringComparison.Ordinal) => FakeReply.Error(429, "wait", new Dictionary<string, string> { ["retry-after-ms"] = "700" }),
                var t when t.Contains("sky blue", StringComparison.Ordinal) => FakeReply.Error(500, "oops"),
                var t when t.Contains("How many boxes", StringComparison.Ordinal) => FakeReply.Chat("late", TimeSpan.FromSeconds(8)),
                var t when t.Contains("tall shape", StringComparison.Ordinal) => new FakeReply(200, "{\"choices\": [ {\"message\": "),
                _ => FakeModelServer.Faithful(r),
            };
        });
        var input = await BuildSamples();
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--timeout", "2.5"));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Empty(File.ReadAllText(Path.Combine(output, "rejects.jsonl")));
        var box = server.Seen.Where(s => s.UserText.Contains("color is the box", StringComparison.Ordinal)).OrderBy(s => s.AtSeconds).ToList();
        Assert.True(box[1].AtSeconds - box[0].AtSeconds >= 0.7);
        Assert.Equal(4, Manifest(output).GetProperty("usage").GetProperty("retries").GetInt64());
        Assert.Contains("the answer is 1.", Shards(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Reject_Model_Text_That_Holds_A_Placeholder_Or_Invisible_Characters()
    {
        using var server = new FakeModelServer(r => r.UserText switch
        {
            var t when t.Contains("Is the sky blue?", StringComparison.Ordinal) => FakeReply.Chat("<image>\nYes, the sky is blue."),
            var t when t.Contains("How many boxes", StringComparison.Ordinal) => FakeReply.Chat("There is 1 box.\u202e"),
            _ => FakeModelServer.Faithful(r),
        });
        var input = await BuildSamples();
        var output = TestPaths.NewTempDir();

        Assert.Equal(0, (await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, Path.Combine(TestPaths.NewTempDir(), "c.db")))).ExitCode);

        var reasons = Reasons(output);
        // Both turns are of one record (img101), which is rejected for the first.
        Assert.Equal(["rewrite-literal-token"], reasons);
        Assert.DoesNotContain("<image>\nYes", Shards(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Stop_With_One_Line_On_A_Cache_File_That_Is_No_Database()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var input = await BuildSamples();
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        File.WriteAllBytes(cache, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 37 % 251))]);
        var before = File.ReadAllBytes(cache);
        var output = Path.Combine(TestPaths.NewTempDir(), "out");

        var r = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, cache));

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{cache}: -: bad-cache: the response cache cannot be used (", r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(cache));
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public async Task Should_Reject_Rewrites_That_Drop_Or_Contradict_The_Answer()
    {
        using var server = new FakeModelServer(r => r.UserText switch
        {
            var t when t.Contains("Is the sky blue?", StringComparison.Ordinal) => FakeReply.Chat("No, the sky is not blue."),
            var t when t.Contains("How many boxes", StringComparison.Ordinal) => FakeReply.Chat("There are 2 boxes."),
            var t when t.Contains("color is the tall shape", StringComparison.Ordinal) => FakeReply.Chat("The tall shape is green."),
            _ => FakeModelServer.Faithful(r),
        });
        var input = await BuildSamples();
        var output = TestPaths.NewTempDir();
        Assert.Equal(0, (await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, Path.Combine(TestPaths.NewTempDir(), "c.db")))).ExitCode);
        var reasons = Reasons(output);
        Assert.Equal(["rewrite-answer-missing", "rewrite-polarity-flipped"], reasons);
        Assert.Equal(6, Manifest(output).GetProperty("records").GetInt64());

        // With the fallback, the records stay, with their raw answers where the rewrite failed.
        var kept = TestPaths.NewTempDir();
        Assert.Equal(0, (await ChildCli.RunAsync(OpenAi(server), Rewrite(input, kept, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--keep-raw-on-failure"))).ExitCode);
        var img101 = File.ReadLines(TestPaths.Shards(kept).Single()).Select(l => JsonDocument.Parse(l).RootElement).First();
        Assert.Equal(["Looking at the image, the answer is red.", "yes", "1"], img101.GetProperty("conversations").EnumerateArray().Where(t => t.GetProperty("from").GetString() == "gpt").Select(t => t.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task Should_Never_Write_The_Key_Anywhere_Even_On_Failures()
    {
        using var server = new FakeModelServer(r => r.UserText switch
        {
            var t when t.Contains("sky", StringComparison.Ordinal) => FakeReply.Error(400, "Bad request for key " + r.Headers.GetValueOrDefault("authorization")),
            var t when t.Contains("boxes", StringComparison.Ordinal) => FakeReply.Error(500, "server trouble"),
            var t when t.Contains("night", StringComparison.Ordinal) => new FakeReply(200, "not json at all"),
            _ => FakeModelServer.Faithful(r),
        });
        var input = await BuildSamples();
        var output = TestPaths.NewTempDir();
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, cache, "--max-retries", "1", "-v", "diagnostic"));
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(server.Seen, s => s.Headers.GetValueOrDefault("authorization") == "Bearer " + Key);
        Assert.NotEmpty(File.ReadAllText(Path.Combine(output, "rejects.jsonl")));

        var bad = await ChildCli.RunAsync(new Dictionary<string, string> { ["OPENAI_BASE_URL"] = "not a url", ["OPENAI_API_KEY"] = Key }, Rewrite(input, TestPaths.NewTempDir(), cache));
        Assert.Equal(1, bad.ExitCode);

        // A key the endpoint refuses (its reply echoes the key back) stops the run at once: exit 1, nothing written.
        using var refusing = new FakeModelServer(r => FakeReply.Error(401, "Incorrect API key provided: " + r.Headers.GetValueOrDefault("authorization")));
        var refusedOut = TestPaths.NewTempDir();
        var refused = await ChildCli.RunAsync(OpenAi(refusing), Rewrite(input, refusedOut, Path.Combine(TestPaths.NewTempDir(), "c.db"), "-v", "diagnostic"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error: the model endpoint refused the API key (HTTP 401): check OPENAI_API_KEY or AZURE_OPENAI_API_KEY and the endpoint; the run stopped", refused.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(refusedOut, "manifest.json")));
        Assert.InRange(refusing.Seen.Count, 1, 8);

        var everything = new StringBuilder(run.Output + run.Error + bad.Output + bad.Error + refused.Output + refused.Error);
        foreach (var file in Directory.GetFiles(output, "*", SearchOption.AllDirectories).Concat(Directory.GetFiles(Path.GetDirectoryName(cache)!)))
        {
            everything.Append(Encoding.Latin1.GetString(File.ReadAllBytes(file)));
        }

        Assert.DoesNotContain(Key, everything.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("NEVER-SHOW", everything.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Use_The_Azure_Route_With_Api_Version_And_Api_Key_Header()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var input = await BuildSamples();
        var run = await ChildCli.RunAsync(
            new Dictionary<string, string> { ["AZURE_OPENAI_ENDPOINT"] = server.AzureEndpoint, ["AZURE_OPENAI_API_KEY"] = Key },
            Rewrite(input, TestPaths.NewTempDir(), Path.Combine(TestPaths.NewTempDir(), "c.db"), "--model", "my-gpt4o-mini"));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(7, server.Requests);
        Assert.All(server.Seen, s =>
        {
            Assert.Equal("/openai/deployments/my-gpt4o-mini/chat/completions", s.Path);
            Assert.Contains("api-version=2024-10-21", s.Query, StringComparison.Ordinal);
            Assert.Equal(Key, s.Headers["api-key"]);
            Assert.False(s.Headers.ContainsKey("authorization"));
            Assert.NotNull(s.Body?["max_tokens"]);
        });
    }

    [Fact]
    public async Task Should_Use_The_OpenAi_Route_With_A_Bearer_Key_And_Max_Completion_Tokens()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var input = await BuildSamples();
        Assert.Equal(0, (await ChildCli.RunAsync(OpenAi(server), Rewrite(input, TestPaths.NewTempDir(), Path.Combine(TestPaths.NewTempDir(), "c.db")))).ExitCode);
        Assert.All(server.Seen, s =>
        {
            Assert.Equal("/v1/chat/completions", s.Path);
            Assert.Equal("Bearer " + Key, s.Headers["authorization"]);
            Assert.Equal("system", (string?)s.Body!["messages"]![0]!["role"]);
        });
    }

    [Fact]
    public async Task Should_Stop_Cleanly_At_The_Request_Cap_And_Finish_Later()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var input = await BuildSamples();
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var capped = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, capped, cache, "--max-requests", "4", "--concurrency", "1"));
        Assert.Equal(0, run.ExitCode);
        Assert.True(server.Requests <= 4);
        var manifest = Manifest(capped);
        Assert.True(manifest.GetProperty("rewrite").GetProperty("capped").GetBoolean());
        Assert.Equal("--max-requests 4 reached", manifest.GetProperty("rewrite").GetProperty("cap").GetString());
        var written = manifest.GetProperty("records").GetInt64();
        Assert.InRange(written, 1, 7);
        Assert.Equal(written, File.ReadAllLines(TestPaths.Shards(capped).Single()).Length);

        var rest = TestPaths.NewTempDir();
        Assert.Equal(0, (await ChildCli.RunAsync(OpenAi(server), Rewrite(input, rest, cache))).ExitCode);
        Assert.Equal(7, server.Requests);
        Assert.False(Manifest(rest).GetProperty("rewrite").GetProperty("capped").GetBoolean());
        Assert.Equal(8, Manifest(rest).GetProperty("records").GetInt64());
    }

    [Fact]
    public async Task Should_Count_Retries_Against_The_Request_Cap_So_It_Never_Sends_More_Than_The_Cap()
    {
        var tries = new Dictionary<string, int>();
        using var server = new FakeModelServer(r =>
        {
            lock (tries)
            {
                tries[r.UserText] = tries.GetValueOrDefault(r.UserText) + 1;
                return tries[r.UserText] == 1 ? FakeReply.Error(500, "oops") : FakeModelServer.Faithful(r);
            }
        });
        var input = await BuildSamples();
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--max-requests", "5", "--concurrency", "1"));
        Assert.True(run.ExitCode == 0, run.Error);

        // 500 then an answer, 500 then an answer, then a 500 whose retry the cap refuses: 5 HTTP requests for 3 prompts.
        Assert.Equal(5, server.Requests);
        var manifest = Manifest(output);
        Assert.Equal("--max-requests 5 reached", manifest.GetProperty("rewrite").GetProperty("cap").GetString());
        var usage = manifest.GetProperty("usage");
        Assert.Equal((3L, 5L, 2L), (usage.GetProperty("requests").GetInt64(), usage.GetProperty("http_attempts").GetInt64(), usage.GetProperty("retries").GetInt64()));
        Assert.Contains("3 requests, 0 cache hits, 5 HTTP attempts, 2 retries", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Reject_A_200_Mb_Reply_Never_Cache_It_And_Ask_Again_Next_Run()
    {
        var boxes = 0;
        using var server = new FakeModelServer(r =>
            r.UserText.Contains("How many boxes", StringComparison.Ordinal) && Interlocked.Increment(ref boxes) == 1
                ? FakeReply.Sized(200L * 1024 * 1024, declareLength: false)
                : FakeModelServer.Faithful(r));
        var input = await BuildSamples();
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var first = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, first, cache));
        Assert.True(run.ExitCode == 0, run.Error);
        var reject = JsonDocument.Parse(File.ReadAllLines(Path.Combine(first, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal("model-malformed-response", reject.GetProperty("reason").GetString());
        Assert.Contains("1048576-byte cap", reject.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(7, Manifest(first).GetProperty("records").GetInt64());
        Assert.Equal(7, server.Requests);

        // Not cached: the rerun asks that one question again, and only that one.
        var second = TestPaths.NewTempDir();
        var rerun = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, second, cache));
        Assert.True(rerun.ExitCode == 0, rerun.Error);
        Assert.Equal(8, server.Requests);
        Assert.Equal(2, boxes);
        Assert.Empty(File.ReadAllText(Path.Combine(second, "rejects.jsonl")));
        Assert.Equal(8, Manifest(second).GetProperty("records").GetInt64());
    }

    [Fact]
    public async Task Should_Reject_Only_The_Record_Whose_Image_Is_Missing_Under_The_With_Image_Prompt()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var input = await BuildSamples();
        var images = TestPaths.NewTempDir();
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "samples", "images")))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }

        File.Delete(Path.Combine(images, "COCO_train2014_000000000101.jpg"));
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(input, output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--prompt", "with-image", "--image-root", images));
        Assert.True(run.ExitCode == 0, run.Error);

        var reject = JsonDocument.Parse(File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal("missing-image", reject.GetProperty("reason").GetString());
        Assert.Contains("COCO_train2014_000000000101.jpg", reject.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The other records were asked, with their images, and written.
        Assert.Equal(4, server.Requests);
        Assert.All(server.Seen, s => Assert.Contains("image_url", s.Body!.ToJsonString(), StringComparison.Ordinal));
        Assert.Equal(7, Manifest(output).GetProperty("records").GetInt64());
        Assert.DoesNotContain("vqav2-sample-img101", Shards(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Build_And_Rewrite_From_A_Recipe_With_A_Rewrite_Section()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var output = TestPaths.NewTempDir();
        var env = OpenAi(server);
        env["MLLMDATA_CACHE"] = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var run = await ChildCli.RunAsync(env, ["build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe-rewrite.yaml"), "--out", output]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(7, server.Requests);
        Assert.Equal(3, Manifest(Path.Combine(output, "build")).GetProperty("records").GetInt64());
        var manifest = Manifest(output);
        Assert.Equal(3, manifest.GetProperty("records").GetInt64());
        Assert.Equal(7, manifest.GetProperty("rewrite").GetProperty("rewritten_answers").GetInt64());
        Assert.Contains("the answer is moon.", Shards(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Take_The_Brief_Suffix_Of_A_Sources_Own_Pack_File_Off_In_A_Recipe_With_A_Rewrite_Section()
    {
        // The build's sources name a pack file of their own: the rewrite that follows takes its brief suffix off as well.
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "mine.yaml"), """
            id: mine
            task: vqa
            placeholders: [question]
            default_suffix: bare
            templates:
              - id: mine-01
                text: "My question: {question}"
            suffixes:
              - id: bare
                text: "One word only, please."
                tags: [brief]
            """);
        var samples = Path.Combine(TestPaths.RepoRoot, "samples", "vqav2");
        File.WriteAllText(Path.Combine(dir, "recipe.yaml"), $"""
            name: own-pack
            format: llava
            sources:
              - name: vqa
                adapter: vqav2
                inputs:
                  questions: {Path.Combine(samples, "v2_OpenEnded_mscoco_train2014_questions.json")}
                  annotations: {Path.Combine(samples, "v2_mscoco_train2014_annotations.json")}
                templates: mine.yaml
            rewrite:
              model: gpt-4o-mini
            """);
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var output = TestPaths.NewTempDir();
        var env = OpenAi(server);
        env["MLLMDATA_CACHE"] = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var run = await ChildCli.RunAsync(env, ["build", "--recipe", Path.Combine(dir, "recipe.yaml"), "--out", output]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("My question: ", Shards(Path.Combine(output, "build")), StringComparison.Ordinal);
        Assert.Contains("\\nOne word only, please.", Shards(Path.Combine(output, "build")), StringComparison.Ordinal);
        Assert.Contains("My question: ", Shards(output), StringComparison.Ordinal);
        Assert.DoesNotContain("One word only", Shards(output), StringComparison.Ordinal);
        Assert.DoesNotContain("no pack here knows", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Count_Requests_Tokens_And_Cost_Of_The_Coco_Mini_Build_Without_Calling()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var build = TestPaths.NewTempDir();
        var images = TestPaths.RealFile("coco-mini", "val2017");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json")}", "--image-root", images, "--format", "llava", "--out", build)).ExitCode);
        var output = Path.Combine(TestPaths.NewTempDir(), "never");
        var run = await ChildCli.RunAsync(OpenAi(server), Rewrite(build, output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--dry-run", "--select", "all", "--prompt", "with-image", "--image-root", images));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("requests: 395", run.Output, StringComparison.Ordinal);
        var prompt = long.Parse(run.Output.Split('\n').Single(l => l.StartsWith("prompt tokens: ", StringComparison.Ordinal))["prompt tokens: ".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);

        // Each request carries one image at 85 tokens besides its text.
        Assert.True(prompt > 395 * 85, $"{prompt} prompt tokens");
        Assert.Contains("estimated cost: $", run.Output, StringComparison.Ordinal);
        Assert.Equal(0, server.Requests);
        Assert.False(Directory.Exists(output));
    }
}

public class TheRewriteCheck
{
    [Theory]
    [InlineData("yes", "Yes, the sky is clear and blue.", null)]
    [InlineData("yes", "No, it isn't.", "rewrite-polarity-flipped")]
    [InlineData("no", "No, nobody is on the bench.", null)]
    [InlineData("no", "There is a man on the bench.", "rewrite-polarity-flipped")]
    [InlineData("2", "There are two dogs on the couch.", null)]
    [InlineData("2", "There are three dogs.", "rewrite-number-missing")]
    [InlineData("red", "The car in the picture is red.", null)]
    [InlineData("fire hydrant", "A fire hydrant stands at the corner.", null)]
    [InlineData("fire hydrant", "A hydrant for fire stands there.", "rewrite-answer-missing")]
    [InlineData("red", "", "rewrite-empty")]

    // A second probe's flipped answers: a "no" said beside a "yes", and an answer present only where it is denied.
    [InlineData("no", "Yes, it is night time; it is not day.", "rewrite-polarity-flipped")]
    [InlineData("no", "Yes, it isn't day.", "rewrite-polarity-flipped")]
    [InlineData("no", "Nope, no way... yes it is.", "rewrite-polarity-flipped")]
    [InlineData("no", "No, that is not correct.", null)]
    [InlineData("1", "There are 2 boxes, not 1.", "rewrite-answer-negated")]
    [InlineData("1", "There is 1 box, not 2.", null)]
    [InlineData("red", "The box is not red; it is blue.", "rewrite-answer-negated")]
    [InlineData("red", "It is not blue but red.", null)]
    [InlineData("moon", "There is no moon in the dark sky.", "rewrite-answer-negated")]
    [InlineData("moon", "There isn't a moon, though the moon is drawn on the wall.", null)]
    public void Should_Keep_Only_Rewrites_That_Say_The_Answer(string raw, string rewrite, string? expected) =>
        Assert.Equal(expected, RewriteCheck.Check(raw, rewrite));

    [Theory]
    [InlineData("The answer is red.\u0000", "control-characters")]
    [InlineData("The answer is \u202ered.", "rewrite-invisible-characters")]
    [InlineData("The answer is r\u200bed.", "rewrite-invisible-characters")]
    [InlineData("<image>\nThe answer is red.", "rewrite-literal-token")]
    [InlineData("The answer is red. <video>", "rewrite-literal-token")]
    [InlineData("The family 👨\u200d👩\u200d👧 is red.", null)]
    [InlineData("The answer is red.", null)]
    public void Should_Refuse_Model_Text_No_Dataset_May_Hold(string text, string? reason)
    {
        string[] tokens = ["<image>", "<video>", "<audio>"];
        Assert.Equal(reason, RewriteCheck.TextProblem(text, tokens)?.Reason);
    }
}

public class TheTokenCounter
{
    [Fact]
    public void Should_Count_Images_By_The_Providers_Rule()
    {
        Assert.Equal(85, TokenCounter.Image(4000, 3000, lowDetail: true));

        // 1024x1024 -> 768x768 -> 2x2 tiles; 2048x4096 -> 1024x2048 -> 768x1536 -> 2x3 tiles.
        Assert.Equal(85 + (170 * 4), TokenCounter.Image(1024, 1024, lowDetail: false));
        Assert.Equal(85 + (170 * 6), TokenCounter.Image(2048, 4096, lowDetail: false));
        Assert.Equal(85 + 170, TokenCounter.Image(300, 200, lowDetail: false));
    }

    [Fact]
    public void Should_Count_Text_With_O200k()
    {
        Assert.Equal(2, TokenCounter.Text("Hello world"));
        var request = new ChatRequest([new MllmData.ModelCalls.ChatMessage("user", "Hello world")], 10, 0, "v");
        Assert.Equal(3 + 3 + TokenCounter.Text("user") + 2, TokenCounter.Prompt(request));
    }

    [Fact]
    public void Should_Price_By_The_Longest_Model_Prefix()
    {
        var prices = PriceTable.Load();
        Assert.Equal(0.15m + 0.60m, prices.Cost("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000));
        Assert.Equal(2.50m, prices.Cost("gpt-4o", 1_000_000, 0));
        Assert.Null(prices.Cost("llama-3", 1000, 1000));
    }
}
