using System.Text.Json;
using System.Threading.RateLimiting;
using MllmData.ModelCalls;
using MllmData.Tests.Models;

namespace MllmData.Tests.Mutation;

/// <summary>The call path's counters, caps at their exact boundaries, token fallbacks and timeout wording, on a fake clock.</summary>
public class ModelCallPathMutationTests
{
    /// <summary>A job-array part writes its counters under these names, and the merge adds them back, each to its own counter.</summary>
    [Fact]
    public void Usage_Counters_Travel_Through_A_Part_Under_Their_Names_And_Add_Up()
    {
        // As the merge reads it: parsed from the part's file.
        var part = System.Text.Json.Nodes.JsonNode.Parse("""{"requests":1,"http_attempts":2,"cache_hits":3,"retries":4,"rate_limited":5,"failures":6,"input_tokens":7,"output_tokens":8,"estimated_replies":9,"estimated_input_tokens":10,"estimated_output_tokens":11}""")!.AsObject();
        var usage = new UsageCounters();
        usage.Add(part);
        Assert.Equal((1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), (usage.Requests, usage.Attempts, usage.CacheHits, usage.Retries, usage.RateLimited, usage.Failures, usage.InputTokens, usage.OutputTokens));
        Assert.Equal((9L, 10L, 11L), (usage.EstimatedReplies, usage.EstimatedInputTokens, usage.EstimatedOutputTokens));
        Assert.Equal(part.ToJsonString(), usage.ToJson().ToJsonString());

        // A second part adds to each; a part that leaves a counter out adds nothing to it.
        usage.Add(part);
        usage.Add(System.Text.Json.Nodes.JsonNode.Parse("""{"requests":100}""")!.AsObject());
        Assert.Equal("""{"requests":102,"http_attempts":4,"cache_hits":6,"retries":8,"rate_limited":10,"failures":12,"input_tokens":14,"output_tokens":16,"estimated_replies":18,"estimated_input_tokens":20,"estimated_output_tokens":22}""", usage.ToJson().ToJsonString());
    }

    /// <summary>No test here should take long; a hang (a slot never released) fails instead of blocking the run.</summary>
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(60);

    private sealed class Scripted(Func<int, CancellationToken, Task<ChatResult>> attempt, string model = "gpt-4o-mini") : IChatModel
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public string Identity => "fake|" + model;

        public string Model => model;

        public Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken) =>
            attempt(Interlocked.Increment(ref _calls), cancellationToken);
    }

    private sealed class Rig : IDisposable
    {
        public Rig(Scripted model, CallSettings settings, Func<TimeSpan, CancellationToken, FakeClock, Task>? wait = null, Func<int, RateLimiter>? bucket = null)
        {
            Model = model;
            Cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
            Calls = new ModelCallPath(model, Cache, settings, PriceTable.Load(), Clock, (d, ct) =>
            {
                lock (Waits)
                {
                    Waits.Add(d);
                }

                if (wait is not null)
                {
                    return wait(d, ct, Clock);
                }

                Clock.Advance(d);
                return Task.CompletedTask;
            }, bucket);
        }

        public FakeClock Clock { get; } = new();

        public List<TimeSpan> Waits { get; } = [];

        public Scripted Model { get; }

        public ResponseCache Cache { get; }

        public ModelCallPath Calls { get; }

        public Task<ChatResult> Ask(int i, CancellationToken ct = default) => Calls.CompleteAsync(Request(i), ct).WaitAsync(Safety, CancellationToken.None);

        public void Dispose()
        {
            Calls.Dispose();
            Cache.Dispose();
        }
    }

    private static ChatRequest Request(int i) => new([new ChatMessage("user", $"question {i}")], 20, 0, "v1");

    private static Task<ChatResult> Answer(string text = "an answer", int input = 10, int output = 5) => Task.FromResult(new ChatResult(text, input, output, false));

    private static Task<ChatResult> Fail(ModelFailure kind, TimeSpan? retryAfter = null, int? status = null) =>
        Task.FromException<ChatResult>(new ModelCallException(kind, $"scripted {kind}", retryAfter, status));

    private static int Tokens(int i) => TokenCounter.Prompt(Request(i)) + Request(i).MaxOutputTokens;

    [Fact]
    public void The_Settings_Defaults_Are_The_Documented_Ones()
    {
        var s = new CallSettings();
        Assert.Equal((8, 0, 0, 5), (s.Concurrency, s.RequestsPerMinute, s.TokensPerMinute, s.MaxRetries));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(10)), (s.BaseDelay, s.MaxDelay, s.PerTryTimeout, s.Deadline));
        Assert.Equal((1024L * 1024, 1024L * 1024), (s.MaxResponseBytes, CallSettings.DefaultMaxResponseBytes));
        Assert.Null(s.MaxRequests);
        Assert.Null(s.MaxTokens);
        Assert.Null(s.MaxCost);
    }

    [Fact]
    public async Task Counted_Tokens_Stand_In_When_The_Model_Reports_None_And_Reported_Ones_Are_Kept()
    {
        using (var rig = new Rig(new Scripted((_, _) => Answer("three little words", 0, 0)), new CallSettings()))
        {
            var result = await rig.Ask(0);
            var expected = (TokenCounter.Prompt(Request(0)), TokenCounter.Text("three little words"));
            Assert.Equal(expected, (result.InputTokens, result.OutputTokens));
            Assert.Equal(expected, ((int)rig.Calls.Usage.InputTokens, (int)rig.Calls.Usage.OutputTokens));
            Assert.Equal((1L, (long)expected.Item1, (long)expected.Item2), (rig.Calls.Usage.EstimatedReplies, rig.Calls.Usage.EstimatedInputTokens, rig.Calls.Usage.EstimatedOutputTokens));
        }

        using (var rig = new Rig(new Scripted((_, _) => Task.FromResult(new ChatResult("text", 1, 1, true))), new CallSettings()))
        {
            var result = await rig.Ask(0);
            Assert.Equal((1, 1, false), (result.InputTokens, result.OutputTokens, result.FromCache));
            await rig.Ask(1);
            Assert.Equal((2L, 2L, 0L), (rig.Calls.Usage.InputTokens, rig.Calls.Usage.OutputTokens, rig.Calls.Usage.EstimatedReplies));
        }
    }

    [Fact]
    public async Task The_Estimated_Cost_Follows_The_Price_Table_And_Is_Null_For_An_Unknown_Model()
    {
        using (var rig = new Rig(new Scripted((_, _) => Answer(input: 1000, output: 2000)), new CallSettings()))
        {
            Assert.Equal("gpt-4o-mini", rig.Calls.ModelName);
            await rig.Ask(0);
            Assert.Equal(PriceTable.Load().Cost("gpt-4o-mini", 1000, 2000), rig.Calls.EstimatedCost);
            Assert.True(rig.Calls.EstimatedCost > 0);
        }

        using (var rig = new Rig(new Scripted((_, _) => Answer(), "no-such-model"), new CallSettings { MaxCost = 0.000000001m }))
        {
            // No price: nothing to hold against --max-cost, so the call goes.
            await rig.Ask(0);
            Assert.Null(rig.Calls.EstimatedCost);
        }
    }

    [Fact]
    public void The_Usage_Section_Names_Every_Counter_And_Rounds_The_Cost_To_Six_Places()
    {
        static JsonElement Write(UsageCounters usage, decimal? cost)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                usage.WriteTo(w, cost);
                w.WriteEndObject();
            }

            return JsonDocument.Parse(buffer.ToArray()).RootElement.GetProperty("usage").Clone();
        }

        var usage = new UsageCounters();
        usage.Request();
        usage.Attempt();
        usage.Attempt();
        usage.Attempt();
        usage.CacheHit();
        usage.CacheHit();
        usage.Retry(rateLimited: true);
        usage.Retry(rateLimited: false);
        usage.RateLimitedFinal();
        usage.Failure();
        usage.Tokens(11, 7);
        usage.Tokens(1, 2);
        usage.Estimated(4, 0);
        var json = Write(usage, 0.12345678m);
        Assert.Equal(
            ["requests", "http_attempts", "cache_hits", "retries", "rate_limited", "failures", "input_tokens", "output_tokens", "estimated_replies", "estimated_input_tokens", "estimated_output_tokens", "estimated_cost_usd"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal([1L, 3, 2, 2, 2, 1, 12, 9, 1, 4, 0], json.EnumerateObject().Take(11).Select(p => p.Value.GetInt64()));
        Assert.Equal(0.123457m, json.GetProperty("estimated_cost_usd").GetDecimal());
        Assert.Equal(JsonValueKind.Null, Write(usage, null).GetProperty("estimated_cost_usd").ValueKind);
    }

    [Fact]
    public async Task A_Token_Cap_Holds_Each_Call_At_Its_Worst_Case_Then_Counts_What_It_Spent()
    {
        // Two answers spend 15 tokens each (10 in, 5 out); a third is let go only if its prompt plus all 20 output tokens fit.
        var cap = 15 + 15 + Tokens(2);
        using (var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { MaxTokens = cap }))
        {
            await rig.Ask(0);
            await rig.Ask(1);
            await rig.Ask(2);
            Assert.Equal(3, rig.Model.Calls);
            Assert.Equal((45L, 30L, 15L), (rig.Calls.Usage.InputTokens + rig.Calls.Usage.OutputTokens, rig.Calls.Usage.InputTokens, rig.Calls.Usage.OutputTokens));
        }

        using (var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { MaxTokens = cap - 1 }))
        {
            await rig.Ask(0);
            await rig.Ask(1);
            var ex = await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(2));
            Assert.Equal($"--max-tokens {cap - 1} reached", ex.Message);
            Assert.Equal(2, rig.Model.Calls);
            Assert.Equal((2L, 2L, 0L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts, rig.Calls.Usage.Failures));
        }

        // A single call larger than the cap never goes.
        using (var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { MaxTokens = Tokens(0) - 1 }))
        {
            await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(0));
            Assert.Equal(0, rig.Model.Calls);
        }
    }

    [Fact]
    public async Task A_Cost_Cap_Prices_The_Output_Allowance_At_The_Output_Price()
    {
        var prices = PriceTable.Load();
        var prompt = TokenCounter.Prompt(Request(0));
        var worst = prices.Cost("gpt-4o-mini", prompt, 20)!.Value;

        // Output costs more than input: all of the allowance priced as input would pass a cap the call may break.
        Assert.True(prices.Cost("gpt-4o-mini", prompt + 20, 0) < worst);
        using (var rig = new Rig(new Scripted((_, _) => Answer(input: prompt, output: 20)), new CallSettings { MaxCost = worst - 0.000000001m }))
        {
            var ex = await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(0));
            Assert.Equal($"--max-cost {worst - 0.000000001m} reached", ex.Message);
            Assert.Equal(0, rig.Model.Calls);
        }

        // At exactly the worst case the call goes, and a reply spending all of it leaves nothing for a second.
        using (var rig = new Rig(new Scripted((_, _) => Answer(input: prompt, output: 20)), new CallSettings { MaxCost = worst }))
        {
            await rig.Ask(0);
            Assert.Equal(worst, rig.Calls.EstimatedCost);
            await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(1));
            Assert.Equal(1, rig.Model.Calls);
        }

        // A reply spending less gives the rest back: the second call fits, and the run never passes the cap.
        var spent = prices.Cost("gpt-4o-mini", 10, 5)!.Value;
        using (var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { MaxCost = spent + worst }))
        {
            await rig.Ask(0);
            await rig.Ask(1);
            Assert.Equal(spent * 2, rig.Calls.EstimatedCost);
            await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(2));
            Assert.True(rig.Calls.EstimatedCost <= spent + worst);
        }
    }

    [Fact]
    public async Task A_Reply_That_Cannot_Be_Used_But_Reports_Tokens_Counts_Them_In_The_Usage_And_Against_The_Caps()
    {
        static Task<ChatResult> Billed(int input, int output) =>
            Task.FromException<ChatResult>(new ModelCallException(ModelFailure.Malformed, "scripted empty choices") { Billed = (input, output) });

        var settings = new CallSettings { MaxRetries = 3 };
        using (var rig = new Rig(new Scripted((n, _) => n == 1 ? Billed(7, 3) : Answer()), settings))
        {
            Assert.Equal("an answer", (await rig.Ask(0)).Text);
            Assert.Equal((17L, 8L, 2L, 1L), (rig.Calls.Usage.InputTokens, rig.Calls.Usage.OutputTokens, rig.Calls.Usage.Attempts, rig.Calls.Usage.Retries));
            Assert.Equal(PriceTable.Load().Cost("gpt-4o-mini", 17, 8), rig.Calls.EstimatedCost);
        }

        // The billed tokens take the place of the try's worst case: with room for exactly one more try, the retry goes.
        using (var rig = new Rig(new Scripted((n, _) => n == 1 ? Billed(7, 3) : Answer()), settings with { MaxTokens = 10 + Tokens(0) }))
        {
            Assert.Equal("an answer", (await rig.Ask(0)).Text);
            Assert.Equal(2, rig.Model.Calls);
        }

        using (var rig = new Rig(new Scripted((n, _) => n == 1 ? Billed(7, 3) : Answer()), settings with { MaxTokens = 10 + Tokens(0) - 1 }))
        {
            Assert.Equal($"--max-tokens {10 + Tokens(0) - 1} reached", (await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(0))).Message);
            Assert.Equal((1, 10L), (rig.Model.Calls, rig.Calls.Usage.InputTokens + rig.Calls.Usage.OutputTokens));
        }
    }

    [Fact]
    public async Task An_Error_Status_Gives_Its_Hold_Back_But_A_Timed_Out_Try_Keeps_Its_Worst_Case()
    {
        var settings = new CallSettings { MaxRetries = 3, MaxTokens = Tokens(0) };

        // A 500 spent nothing: the retry fits in the same room, and no tokens are counted for the failed try.
        using (var rig = new Rig(new Scripted((n, _) => n == 1 ? Fail(ModelFailure.ServerError, status: 500) : Answer()), settings))
        {
            Assert.Equal("an answer", (await rig.Ask(0)).Text);
            Assert.Equal((2, 15L), (rig.Model.Calls, rig.Calls.Usage.InputTokens + rig.Calls.Usage.OutputTokens));
        }

        // A try that timed out may have been billed: it keeps its room, so the retry does not fit.
        using (var rig = new Rig(new Scripted((n, _) => n == 1 ? Fail(ModelFailure.Timeout) : Answer()), settings))
        {
            Assert.Equal($"--max-tokens {Tokens(0)} reached", (await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(0))).Message);
            Assert.Equal((1, 0L), (rig.Model.Calls, rig.Calls.Usage.InputTokens + rig.Calls.Usage.OutputTokens));
        }

        // So does a transport failure: the connection may have dropped after the model answered.
        using (var rig = new Rig(new Scripted((n, _) => n == 1 ? Fail(ModelFailure.Transport) : Answer()), settings))
        {
            await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(0));
            Assert.Equal(1, rig.Model.Calls);
        }
    }

    [Fact]
    public async Task A_Request_Cap_Of_One_Takes_One_Call_And_A_Refusal_Frees_The_Only_Slot()
    {
        using var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { MaxRequests = 1, Concurrency = 1 });
        await rig.Ask(0);
        Assert.Equal("--max-requests 1 reached", (await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(1))).Message);
        Assert.Equal("--max-requests 1 reached", (await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(2))).Message);
        Assert.Equal("an answer", (await rig.Ask(0)).Text);
        Assert.Equal((1, 1L), (rig.Model.Calls, rig.Calls.Usage.CacheHits));
    }

    [Fact]
    public async Task A_Concurrency_Of_Zero_Still_Lets_One_Call_Go()
    {
        using var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { Concurrency = 0 });
        await rig.Ask(0);
        await rig.Ask(1);
        Assert.Equal(2, rig.Model.Calls);
    }

    [Fact]
    public async Task Small_Client_Side_Limits_Still_Let_A_Call_Through_Even_When_It_Needs_More_Tokens_Than_The_Bucket()
    {
        // 1 request and 6 tokens a minute: buckets of one permit; the call asks for more tokens than that and still goes.
        using var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { RequestsPerMinute = 1, TokensPerMinute = 6 });
        Assert.True(Tokens(0) > 1);
        Assert.Equal("an answer", (await rig.Ask(0)).Text);

        using var big = new Rig(new Scripted((_, _) => Answer()), new CallSettings { RequestsPerMinute = 600, TokensPerMinute = 120 });
        Assert.True(Tokens(0) > 20);
        Assert.Equal("an answer", (await big.Ask(0)).Text);
    }

    [Fact]
    public async Task Each_Call_Takes_One_Request_And_Its_Prompt_Plus_Output_Tokens_From_The_Buckets_In_That_Order()
    {
        var taken = new List<(int PerMinute, int Permits)>();
        using var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { RequestsPerMinute = 60, TokensPerMinute = 6000 }, bucket: perMinute => new Recording(perMinute, taken));
        await rig.Ask(0);
        Assert.Equal([(60, 1), (6000, Tokens(0))], taken);

        // An answer from the cache takes nothing.
        await rig.Ask(0);
        Assert.Equal(2, taken.Count);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 600)]
    [InlineData(600, 0)]
    public async Task A_Limit_Of_Zero_Makes_No_Bucket(int requestsPerMinute, int tokensPerMinute)
    {
        var made = new List<int>();
        var taken = new List<(int PerMinute, int Permits)>();
        using var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { RequestsPerMinute = requestsPerMinute, TokensPerMinute = tokensPerMinute }, bucket: perMinute =>
        {
            made.Add(perMinute);
            return new Recording(perMinute, taken);
        });
        await rig.Ask(0);
        Assert.Equal(new[] { requestsPerMinute, tokensPerMinute }.Where(n => n > 0), made);
        Assert.Equal(made.Count, taken.Count);
    }

    [Theory]
    [InlineData(60, 10)] // a bucket of ten tokens: the call takes all ten rather than waiting forever
    [InlineData(5, 1)] // a bucket of less than one token a sixth of a minute: one
    [InlineData(6000, -1)] // room enough: what the call needs (-1 here)
    public async Task A_Call_Larger_Than_The_Token_Bucket_Takes_The_Whole_Bucket(int tokensPerMinute, int expected)
    {
        var taken = new List<(int PerMinute, int Permits)>();
        using var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings { TokensPerMinute = tokensPerMinute }, bucket: perMinute => new Recording(perMinute, taken));
        Assert.True(Tokens(0) > 10);
        await rig.Ask(0);
        Assert.Equal((tokensPerMinute, expected == -1 ? Tokens(0) : expected), Assert.Single(taken));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(59, 9, 1)]
    [InlineData(600, 100, 10)]
    [InlineData(90_000, 15_000, 1_500)]
    public void A_Bucket_Holds_A_Sixth_Of_The_Minute_And_Gets_A_Sixtieth_Back_Each_Second(int perMinute, int limit, int perSecond)
    {
        var o = ModelCallPath.BucketOptions(perMinute);
        Assert.Equal((limit, perSecond, TimeSpan.FromSeconds(1)), (o.TokenLimit, o.TokensPerPeriod, o.ReplenishmentPeriod));
        Assert.Equal((int.MaxValue, QueueProcessingOrder.OldestFirst, true), (o.QueueLimit, o.QueueProcessingOrder, o.AutoReplenishment));
    }

    /// <summary>A limiter that grants every request at once and notes how many permits it was asked for.</summary>
    private sealed class Recording(int perMinute, List<(int PerMinute, int Permits)> taken) : RateLimiter
    {
        public override TimeSpan? IdleDuration => null;

        public override RateLimiterStatistics? GetStatistics() => null;

        protected override RateLimitLease AttemptAcquireCore(int permitCount) => Grant(permitCount);

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) => ValueTask.FromResult<RateLimitLease>(Grant(permitCount));

        private Granted Grant(int permits)
        {
            lock (taken)
            {
                taken.Add((perMinute, permits));
            }

            return new Granted();
        }

        private sealed class Granted : RateLimitLease
        {
            public override bool IsAcquired => true;

            public override IEnumerable<string> MetadataNames => [];

            public override bool TryGetMetadata(string metadataName, out object? metadata)
            {
                metadata = null;
                return false;
            }
        }
    }

    [Theory]
    [InlineData(401, "the model endpoint refused the API key (HTTP 401): check OPENAI_API_KEY or AZURE_OPENAI_API_KEY and the endpoint; the run stopped")]
    [InlineData(403, "the model endpoint refused access (HTTP 403): the key has no right to this model or endpoint; the run stopped")]
    [InlineData(404, "the model endpoint has no such model or deployment (HTTP 404): check --model (Azure: the deployment name) and the endpoint; the run stopped")]
    public async Task A_Refusal_Of_The_Key_Or_The_Model_Stops_Every_Call_Without_Asking_Again(int status, string message)
    {
        using var rig = new Rig(new Scripted((_, _) => Fail(ModelFailure.ClientError, status: status)), new CallSettings());
        var first = await Assert.ThrowsAsync<ModelAccessException>(() => rig.Ask(0));
        Assert.Equal((status, message), (first.Status, first.Message));

        // Later calls, other requests too, fail the same way and never reach the endpoint.
        var second = await Assert.ThrowsAsync<ModelAccessException>(() => rig.Ask(1));
        Assert.Equal(message, second.Message);
        Assert.Equal(1, rig.Model.Calls);
        Assert.Equal((1L, 1L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Failures));
    }

    private static Task<ChatResult> Unreachable(System.Net.Sockets.SocketError error) =>
        Task.FromException<ChatResult>(new ModelCallException(ModelFailure.Transport, "scripted transport", inner: new HttpRequestException("no connection", new System.Net.Sockets.SocketException((int)error))));

    [Fact]
    public async Task An_Endpoint_That_Cannot_Be_Reached_Stops_The_Run_After_The_First_Calls_Retries()
    {
        using var rig = new Rig(new Scripted((_, _) => Unreachable(System.Net.Sockets.SocketError.ConnectionRefused)), new CallSettings { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(1) });
        var first = await Assert.ThrowsAsync<ModelAccessException>(() => rig.Ask(0));
        Assert.Equal("the model endpoint cannot be reached (ConnectionRefused): check the endpoint (OPENAI_BASE_URL, AZURE_OPENAI_ENDPOINT) and the network; the run stopped", first.Message);

        // The first call tried three times; later calls end at once, without trying.
        var second = await Assert.ThrowsAsync<ModelAccessException>(() => rig.Ask(1));
        Assert.Equal(first.Message, second.Message);
        Assert.Equal(3, rig.Model.Calls);
    }

    [Theory]
    [InlineData(System.Net.Sockets.SocketError.ConnectionRefused, true)]
    [InlineData(System.Net.Sockets.SocketError.HostNotFound, true)]
    [InlineData(System.Net.Sockets.SocketError.NetworkUnreachable, true)]
    [InlineData(System.Net.Sockets.SocketError.ConnectionReset, false)]
    [InlineData(System.Net.Sockets.SocketError.TimedOut, false)]
    public async Task Only_An_Endpoint_That_Was_Never_Reached_And_Cannot_Be_Is_A_Stop(System.Net.Sockets.SocketError error, bool stops)
    {
        // Once a call has been answered, the same failure concerns its request only.
        var n = 0;
        using var reached = new Rig(new Scripted((_, _) => Interlocked.Increment(ref n) == 1 ? Answer() : Unreachable(error)), new CallSettings { MaxRetries = 0 });
        await reached.Ask(0);
        Assert.Equal(ModelFailure.Transport, (await Assert.ThrowsAsync<ModelCallException>(() => reached.Ask(1))).Kind);

        using var never = new Rig(new Scripted((_, _) => Unreachable(error)), new CallSettings { MaxRetries = 0 });
        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => never.Ask(0));
        Assert.Equal(stops, thrown is ModelAccessException);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(422)]
    public async Task Another_Client_Error_Concerns_Its_Request_Only(int status)
    {
        var n = 0;
        using var rig = new Rig(new Scripted((_, _) => Interlocked.Increment(ref n) == 1 ? Fail(ModelFailure.ClientError, status: status) : Answer()), new CallSettings());
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
        Assert.Equal(status, ex.Status);
        Assert.Equal("an answer", (await rig.Ask(1)).Text);
    }

    [Fact]
    public async Task An_Unexpected_Exception_Past_The_Deadline_Is_Not_Turned_Into_A_Timeout()
    {
        // Only a cancellation or a model failure that the deadline caused reads as a timeout; any other exception is the caller's to see.
        Rig? rig = null;
        rig = new Rig(new Scripted((_, _) =>
        {
            rig!.Clock.Advance(TimeSpan.FromMinutes(11));
            throw new InvalidOperationException("not a model failure");
        }), new CallSettings());
        using (rig)
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => rig.Ask(0));
            Assert.Equal("not a model failure", ex.Message);
        }
    }

    [Fact]
    public async Task A_Try_Past_The_Deadline_Settles_Its_Hold_By_What_Its_Failure_Says()
    {
        // Room for one try: a 500 that came as the deadline passed spent nothing, so the next call still fits; a billed
        // empty reply counts its tokens; a cancellation past the deadline (no reply) keeps the worst case.
        foreach (var (failure, nextFits, spent) in new (Func<Task<ChatResult>>, bool, long)[]
        {
            (() => Fail(ModelFailure.ServerError, status: 500), true, 0),
            (() => Task.FromException<ChatResult>(new ModelCallException(ModelFailure.Malformed, "empty choices") { Billed = (3, 1) }), true, 4),
            (() => Task.FromException<ChatResult>(new OperationCanceledException()), false, 0),
        })
        {
            Rig? rig = null;
            rig = new Rig(
                new Scripted((n, _) =>
                {
                    if (n > 1)
                    {
                        return Answer();
                    }

                    rig!.Clock.Advance(TimeSpan.FromMinutes(11));
                    return failure();
                }),
                new CallSettings { MaxTokens = Tokens(0) + 4 });
            using (rig)
            {
                Assert.Equal(ModelFailure.Timeout, (await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0))).Kind);
                Assert.Equal(spent, rig.Calls.Usage.InputTokens + rig.Calls.Usage.OutputTokens);
                if (nextFits)
                {
                    Assert.Equal("an answer", (await rig.Ask(1)).Text);
                }
                else
                {
                    await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Ask(1));
                }
            }
        }
    }

    [Fact]
    public async Task A_Model_Failure_Past_The_Deadline_Is_A_Timeout_Naming_The_Tries()
    {
        Rig? rig = null;
        rig = new Rig(new Scripted((_, _) =>
        {
            rig!.Clock.Advance(TimeSpan.FromMinutes(11));
            return Fail(ModelFailure.ServerError);
        }), new CallSettings());
        using (rig)
        {
            var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
            Assert.Equal((ModelFailure.Timeout, "no answer within the 600 s deadline (1 tries)"), (ex.Kind, ex.Message));
        }
    }

    [Fact]
    public async Task A_Retry_After_Of_Zero_Means_Our_Own_Backoff()
    {
        using var rig = new Rig(new Scripted((n, _) => n == 1 ? Fail(ModelFailure.RateLimited, TimeSpan.Zero) : Answer()), new CallSettings());
        await rig.Ask(0);
        Assert.InRange(Assert.Single(rig.Waits), TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task No_Retries_Means_One_Try()
    {
        using var rig = new Rig(new Scripted((_, _) => Fail(ModelFailure.ServerError)), new CallSettings { MaxRetries = 0 });
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
        Assert.Equal(("model-server-error", "scripted ServerError"), (ex.ReasonCode, ex.Message));
        Assert.Equal(1, rig.Model.Calls);
        Assert.Empty(rig.Waits);
        Assert.Equal((1L, 1L, 0L, 0L, 1L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts, rig.Calls.Usage.Retries, rig.Calls.Usage.RateLimited, rig.Calls.Usage.Failures));
    }

    [Fact]
    public async Task A_Server_Error_That_Outlasts_The_Retries_Is_A_Failure_But_Not_Rate_Limited()
    {
        using var rig = new Rig(new Scripted((_, _) => Fail(ModelFailure.ServerError)), new CallSettings { MaxRetries = 1 });
        await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
        Assert.Equal((2L, 1L, 0L, 1L), (rig.Calls.Usage.Attempts, rig.Calls.Usage.Retries, rig.Calls.Usage.RateLimited, rig.Calls.Usage.Failures));
    }

    [Fact]
    public async Task A_Wait_Past_The_Deadline_Keeps_The_Last_Failures_Kind_Status_Wait_And_Cause()
    {
        var asked = TimeSpan.FromSeconds(12.5);
        using var rig = new Rig(new Scripted((_, _) => Fail(ModelFailure.RateLimited, asked, 429)), new CallSettings { Deadline = TimeSpan.FromSeconds(2.5) });
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
        Assert.Equal("scripted RateLimited; a retry after 12.5 s would pass the 2.5 s deadline", ex.Message);
        Assert.Equal((ModelFailure.RateLimited, asked, 429), (ex.Kind, ex.RetryAfter, ex.Status));
        Assert.Equal("scripted RateLimited", Assert.IsType<ModelCallException>(ex.InnerException).Message);
    }

    [Fact]
    public async Task A_Try_That_Fails_After_The_Deadline_Passed_Is_A_Timeout_Naming_The_Tries()
    {
        Rig? rigRef = null;
        using var rig = new Rig(
            new Scripted((n, _) =>
            {
                if (n == 2)
                {
                    rigRef!.Clock.Advance(TimeSpan.FromSeconds(30));
                }

                return Fail(ModelFailure.ServerError);
            }),
            new CallSettings { Deadline = TimeSpan.FromSeconds(30), MaxRetries = 5 });
        rigRef = rig;
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
        Assert.Equal((ModelFailure.Timeout, "no answer within the 30 s deadline (2 tries)"), (ex.Kind, ex.Message));
        Assert.Equal(2, rig.Model.Calls);
        Assert.Equal((1L, 0L), (rig.Calls.Usage.Failures, rig.Calls.Usage.RateLimited));
    }

    [Fact]
    public async Task A_Try_Past_The_Per_Try_Timeout_With_No_Retries_Left_Is_A_Timeout_Naming_The_Limit()
    {
        Rig? rigRef = null;
        using var rig = new Rig(
            new Scripted(async (_, ct) =>
            {
                rigRef!.Clock.Advance(TimeSpan.FromSeconds(7.5));
                await Task.Delay(Timeout.Infinite, ct);
                return new ChatResult("late", 1, 1, false);
            }),
            new CallSettings { PerTryTimeout = TimeSpan.FromSeconds(7.5), MaxRetries = 0 });
        rigRef = rig;
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
        Assert.Equal((ModelFailure.Timeout, "no answer within 7.5 s"), (ex.Kind, ex.Message));
    }

    [Fact]
    public async Task A_Wait_Cut_Short_By_The_Deadline_Is_A_Timeout_And_One_Cut_By_The_Caller_Is_A_Cancellation()
    {
        // The wait oversleeps (a slow machine): the deadline fires inside it.
        using (var rig = new Rig(
            new Scripted((_, _) => Fail(ModelFailure.ServerError)),
            new CallSettings { Deadline = TimeSpan.FromSeconds(10) },
            (_, ct, clock) =>
            {
                clock.Advance(TimeSpan.FromSeconds(10));
                ct.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            }))
        {
            var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
            Assert.Equal((ModelFailure.Timeout, "no answer within the 10 s deadline (1 tries)"), (ex.Kind, ex.Message));
            Assert.Equal((1, 1L), (rig.Model.Calls, rig.Calls.Usage.Failures));
        }

        using var cts = new CancellationTokenSource();
        using (var rig = new Rig(
            new Scripted((_, _) => Fail(ModelFailure.ServerError)),
            new CallSettings(),
            (_, ct, _) =>
            {
                cts.Cancel();
                ct.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            }))
        {
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rig.Ask(0, cts.Token));
            Assert.IsNotType<ModelCallException>(ex);
            Assert.Equal((1, 0L), (rig.Model.Calls, rig.Calls.Usage.Failures));
        }
    }

    [Fact]
    public async Task Blank_And_Empty_Answers_Are_Empty_With_The_Same_Words()
    {
        foreach (var text in new[] { "", " ", "\t\n" })
        {
            using var rig = new Rig(new Scripted((_, _) => Answer(text)), new CallSettings());
            var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Ask(0));
            Assert.Equal((ModelFailure.EmptyAnswer, "the model returned no text"), (ex.Kind, ex.Message));
        }

        using var one = new Rig(new Scripted((_, _) => Answer(".")), new CallSettings());
        Assert.Equal(".", (await one.Ask(0)).Text);
    }

    [Fact]
    public async Task A_Cached_Answer_Counts_A_Hit_And_No_Request()
    {
        using var rig = new Rig(new Scripted((_, _) => Answer()), new CallSettings());
        await rig.Ask(0);
        var again = await rig.Ask(0);
        Assert.True(again.FromCache);
        Assert.Equal((1L, 1L, 1L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts, rig.Calls.Usage.CacheHits));
    }
}
