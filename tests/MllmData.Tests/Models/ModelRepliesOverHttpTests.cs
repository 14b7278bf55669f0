using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

/// <summary>Hostile replies from a real HTTP server on 127.0.0.1, through the OpenAI client and the call path (waits faked).</summary>
public class TheOpenAiChatModelAgainstBadReplies
{
    private const long Cap = 64 * 1024;

    private static readonly ChatRequest Question = new([new ChatMessage("user", "What colour is the box?")], 20, 0, "v1");

    private sealed class Rig : IDisposable
    {
        public Rig(Func<SeenRequest, FakeReply> handler, CallSettings? settings = null)
        {
            Server = new FakeModelServer(handler);
            var s = (settings ?? new CallSettings()) with { MaxResponseBytes = Cap, BaseDelay = TimeSpan.FromSeconds(1) };
            Cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
            var model = OpenAiChatModel.Compatible(new Uri(Server.OpenAiBaseUrl), "gpt-4o-mini", "sk-test", TimeSpan.FromSeconds(20), Cap);
            Calls = new ModelCallPath(model, Cache, s, PriceTable.Load(), TimeProvider.System, (d, _) =>
            {
                lock (Waits)
                {
                    Waits.Add(d);
                }

                return Task.CompletedTask;
            });
        }

        public FakeModelServer Server { get; }

        public ResponseCache Cache { get; }

        public ModelCallPath Calls { get; }

        public List<TimeSpan> Waits { get; } = [];

        public Task<ChatResult> Ask() => Calls.CompleteAsync(Question, CancellationToken.None);

        public void Dispose()
        {
            Calls.Dispose();
            Cache.Dispose();
            Server.Dispose();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_Take_A_Reply_Exactly_At_The_Cap_Whether_Its_Length_Is_Declared_Or_Not(bool declared)
    {
        using var rig = new Rig(_ => FakeReply.Sized(Cap, declared));
        var answer = await rig.Ask();
        Assert.Matches("^a+$", answer.Text);
        Assert.Equal(1, rig.Cache.Count());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_Reject_A_Reply_One_Byte_Over_The_Cap_Without_Retrying_Or_Caching(bool declared)
    {
        using var rig = new Rig(_ => FakeReply.Sized(Cap + 1, declared), new CallSettings { MaxRetries = 3 });
        var ex = await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
        Assert.Equal("model-malformed-response", ex.ReasonCode);
        Assert.Contains($"{Cap}-byte cap", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, rig.Server.Requests);
        Assert.Equal(0, rig.Cache.Count());
        Assert.Equal((1L, 1L, 1L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts, rig.Calls.Usage.Failures));
    }

    [Fact]
    public async Task Should_Stop_Reading_A_200_Mb_Chunked_Reply_Soon_After_The_Cap()
    {
        const long huge = 200L * 1024 * 1024;
        using var rig = new Rig(_ => FakeReply.Sized(huge, declareLength: false));
        var ex = await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
        Assert.Equal("model-malformed-response", ex.ReasonCode);

        // The server is cut off once socket buffers fill: far less than the body was ever sent.
        await Task.Delay(200);
        Assert.True(rig.Server.BytesSent < 32L * 1024 * 1024, $"{rig.Server.BytesSent} bytes sent");
        Assert.Equal(0, rig.Cache.Count());
    }

    [Fact]
    public async Task Should_Reject_A_Declared_200_Mb_Reply_Before_Reading_It()
    {
        using var rig = new Rig(_ => FakeReply.Sized(200L * 1024 * 1024, declareLength: true));
        var ex = await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
        Assert.Equal("model-malformed-response", ex.ReasonCode);
        await Task.Delay(200);
        Assert.True(rig.Server.BytesSent < 32L * 1024 * 1024, $"{rig.Server.BytesSent} bytes sent");
    }

    [Fact]
    public async Task Should_Reject_Missing_Or_Empty_Choices_As_Malformed_After_Its_Retries_And_Never_Cache_Them()
    {
        foreach (var reply in new[] { FakeReply.NoChoices(), FakeReply.EmptyChoices(), new FakeReply(200, "{\"choices\": null}"), new FakeReply(200, "{\"choices\": [null]}"), new FakeReply(200, "[]") })
        {
            using var rig = new Rig(_ => reply, new CallSettings { MaxRetries = 1 });
            var ex = await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
            Assert.Equal("model-malformed-response", ex.ReasonCode);
            Assert.Equal(2, rig.Server.Requests);
            Assert.Equal(0, rig.Cache.Count());
        }
    }

    [Fact]
    public async Task Should_Reject_A_Choice_Without_Text_As_An_Empty_Answer_Once()
    {
        foreach (var reply in new[] { FakeReply.NullContent(), FakeReply.Chat(string.Empty), FakeReply.Chat("   "), new FakeReply(200, "{\"choices\": [{\"message\": {}}]}") })
        {
            using var rig = new Rig(_ => reply, new CallSettings { MaxRetries = 3 });
            var ex = await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
            Assert.Equal("model-empty-answer", ex.ReasonCode);
            Assert.Equal(1, rig.Server.Requests);
            Assert.Equal(0, rig.Cache.Count());
        }
    }

    [Fact]
    public async Task Should_Count_The_Tokens_An_Unusable_Reply_Reports_As_Spent_On_Every_Try()
    {
        // Empty choices with a usage section: billed, retried, and both tries' tokens in the usage and the estimated cost.
        using (var rig = new Rig(_ => new FakeReply(200, "{\"choices\": [], \"usage\": {\"prompt_tokens\": 30, \"completion_tokens\": 2}}"), new CallSettings { MaxRetries = 1 }))
        {
            Assert.Equal("model-malformed-response", (await Assert.ThrowsAsync<ModelCallException>(rig.Ask)).ReasonCode);
            Assert.Equal((2, 60L, 4L), (rig.Server.Requests, rig.Calls.Usage.InputTokens, rig.Calls.Usage.OutputTokens));
            Assert.Equal(PriceTable.Load().Cost("gpt-4o-mini", 60, 4), rig.Calls.EstimatedCost);
        }

        // A choice without text, the same; a reply with no usage section is billed for its prompt all the same: our own
        // count of it stands in, marked as an estimate (TheUsageOfRepliesWithoutUsage).
        using (var rig = new Rig(_ => new FakeReply(200, "{\"choices\": [{\"message\": {\"content\": \"\"}}], \"usage\": {\"prompt_tokens\": 30, \"completion_tokens\": 9}}")))
        {
            Assert.Equal("model-empty-answer", (await Assert.ThrowsAsync<ModelCallException>(rig.Ask)).ReasonCode);
            Assert.Equal((30L, 9L), (rig.Calls.Usage.InputTokens, rig.Calls.Usage.OutputTokens));
        }

        using (var rig = new Rig(_ => FakeReply.EmptyChoices(), new CallSettings { MaxRetries = 0 }))
        {
            await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
            Assert.Equal(((long)TokenCounter.Prompt(Question), 0L, 1L), (rig.Calls.Usage.InputTokens, rig.Calls.Usage.OutputTokens, rig.Calls.Usage.EstimatedReplies));
        }
    }

    [Fact]
    public async Task Should_Read_The_Answer_And_The_Token_Usage_The_Server_Reports()
    {
        using var rig = new Rig(_ => new FakeReply(200, "{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"  The box is red.\\n\"}}], \"usage\": {\"prompt_tokens\": 41, \"completion_tokens\": 4}}"));
        Assert.Equal(new ChatResult("The box is red.", 41, 4, false), await rig.Ask());
        Assert.Equal((41L, 4L), (rig.Calls.Usage.InputTokens, rig.Calls.Usage.OutputTokens));
    }

    [Fact]
    public async Task Should_Reject_A_Body_That_Is_Not_Json_After_Its_Retries()
    {
        using var rig = new Rig(_ => new FakeReply(200, "<html>gateway</html>"), new CallSettings { MaxRetries = 2 });
        var ex = await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
        Assert.Equal("model-malformed-response", ex.ReasonCode);
        Assert.Equal(3, rig.Server.Requests);
        Assert.Equal(2, rig.Waits.Count);
    }

    [Theory]
    [InlineData("Retry-After", "3", 3.0)]
    [InlineData("Retry-After", "0.5", 0.5)]
    [InlineData("retry-after-ms", "1500", 1.5)]
    public async Task Should_Wait_What_A_Valid_Retry_After_Says_Then_Retry(string header, string value, double seconds)
    {
        var n = 0;
        using var rig = new Rig(r => Interlocked.Increment(ref n) == 1 ? FakeReply.RateLimited(header, value) : FakeReply.Chat("The box is red."));
        Assert.Equal("The box is red.", (await rig.Ask()).Text);
        Assert.Equal([TimeSpan.FromSeconds(seconds)], rig.Waits);
        Assert.Equal(2, rig.Server.Requests);
        Assert.Equal((1L, 2L, 1L, 1L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts, rig.Calls.Usage.Retries, rig.Calls.Usage.RateLimited));
    }

    [Fact]
    public async Task Should_Wait_Until_A_Retry_After_Http_Date()
    {
        var n = 0;
        using var rig = new Rig(r => Interlocked.Increment(ref n) == 1
            ? FakeReply.RateLimited("Retry-After", DateTimeOffset.UtcNow.AddSeconds(30).ToString("r", System.Globalization.CultureInfo.InvariantCulture))
            : FakeReply.Chat("The box is red."));
        Assert.Equal("The box is red.", (await rig.Ask()).Text);
        Assert.InRange(Assert.Single(rig.Waits).TotalSeconds, 27, 30);
    }

    [Theory]
    [InlineData("Retry-After", "999999999")]
    [InlineData("retry-after-ms", "99999999999999999999")]
    [InlineData("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")]
    public async Task Should_Give_Up_At_Once_When_Retry_After_Passes_The_Deadline(string header, string value)
    {
        using var rig = new Rig(_ => FakeReply.RateLimited(header, value), new CallSettings { Deadline = TimeSpan.FromSeconds(600), MaxRetries = 5 });
        var ex = await Assert.ThrowsAsync<ModelCallException>(rig.Ask);
        Assert.Equal("model-rate-limited", ex.ReasonCode);
        Assert.Contains("would pass the 600 s deadline", ex.Message, StringComparison.Ordinal);
        Assert.Empty(rig.Waits);
        Assert.Equal(1, rig.Server.Requests);
    }

    [Theory]
    [InlineData("Retry-After", "NaN")]
    [InlineData("Retry-After", "-3")]
    [InlineData("Retry-After", "soon")]
    [InlineData("Retry-After", "Infinity")]
    [InlineData("retry-after-ms", "NaN")]
    [InlineData("retry-after-ms", "-1")]
    [InlineData("retry-after-ms", "")]
    public async Task Should_Fall_Back_To_Its_Own_Backoff_On_An_Invalid_Retry_After(string header, string value)
    {
        var n = 0;
        using var rig = new Rig(r => Interlocked.Increment(ref n) <= 2 ? FakeReply.RateLimited(header, value) : FakeReply.Chat("The box is red."));
        Assert.Equal("The box is red.", (await rig.Ask()).Text);
        Assert.Equal(2, rig.Waits.Count);
        Assert.InRange(rig.Waits[0].TotalSeconds, 0.5, 1);
        Assert.InRange(rig.Waits[1].TotalSeconds, 1, 2);
    }
}
