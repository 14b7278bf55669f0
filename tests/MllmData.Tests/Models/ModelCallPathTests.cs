using System.Diagnostics;
using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

public class TheModelCallPath
{
    private sealed class CountingModel(Func<int, ChatResult>? answer = null) : IChatModel
    {
        private int _calls;
        private int _inFlight;

        public int Calls => _calls;

        public int MaxInFlight { get; private set; }

        public string Identity => "fake|model";

        public string Model => "gpt-4o-mini";

        public async Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _calls);
            var now = Interlocked.Increment(ref _inFlight);
            lock (this)
            {
                MaxInFlight = Math.Max(MaxInFlight, now);
            }

            await Task.Delay(30, cancellationToken);
            Interlocked.Decrement(ref _inFlight);
            return answer?.Invoke(n) ?? new ChatResult("fine", 10, 5, false);
        }
    }

    private static ChatRequest Request(int i) => new([new ChatMessage("user", $"question {i}")], 20, 0, "v1");

    private static ResponseCache NewCache() => new(Path.Combine(TestPaths.NewTempDir(), "c.db"));

    [Fact]
    public async Task Should_Hold_Concurrency_And_The_Requests_Per_Minute_Bucket()
    {
        var model = new CountingModel();
        using var cache = NewCache();

        // 60 a minute: a burst of 10, then one a second.
        using var path = new ModelCallPath(model, cache, new CallSettings { Concurrency = 3, RequestsPerMinute = 60 }, PriceTable.Load());
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 12).Select(i => path.CompleteAsync(Request(i), CancellationToken.None)));
        Assert.Equal(12, model.Calls);
        Assert.True(model.MaxInFlight <= 3, $"{model.MaxInFlight} in flight");
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 10);
    }

    [Fact]
    public async Task Should_Refuse_Calls_Past_The_Token_And_Cost_Caps_Without_Calling()
    {
        var model = new CountingModel();
        using var cache = NewCache();
        // Each answer spends 15 tokens (10 in, 5 out); the next call is held at its worst case, prompt plus 20 of output.
        var worstCase = TokenCounter.Prompt(Request(0)) + 20;
        using var byTokens = new ModelCallPath(model, cache, new CallSettings { MaxTokens = (15 * 2) + worstCase - 1 }, PriceTable.Load());
        await byTokens.CompleteAsync(Request(0), CancellationToken.None);
        await byTokens.CompleteAsync(Request(1), CancellationToken.None);
        var ex = await Assert.ThrowsAsync<BudgetExceededException>(() => byTokens.CompleteAsync(Request(2), CancellationToken.None));
        Assert.Contains("--max-tokens", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, model.Calls);

        // Cached answers are free: the cap does not stop them.
        Assert.True((await byTokens.CompleteAsync(Request(1), CancellationToken.None)).FromCache);

        using var byCost = new ModelCallPath(model, cache, new CallSettings { MaxCost = 0.0000001m }, PriceTable.Load());
        await Assert.ThrowsAsync<BudgetExceededException>(() => byCost.CompleteAsync(Request(9), CancellationToken.None));
        Assert.Equal(2, model.Calls);
    }

    [Fact]
    public async Task Should_Treat_Empty_Answers_As_Failures_Not_Results()
    {
        var model = new CountingModel(_ => throw new ModelCallException(ModelFailure.EmptyAnswer, "no text"));
        using var cache = NewCache();
        using var path = new ModelCallPath(model, cache, new CallSettings { MaxRetries = 3 }, PriceTable.Load());
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => path.CompleteAsync(Request(0), CancellationToken.None));
        Assert.Equal("model-empty-answer", ex.ReasonCode);

        // Not retryable, and nothing cached.
        Assert.Equal(1, model.Calls);
        Assert.Equal(0, cache.Count());
        Assert.Equal(1, path.Usage.Failures);
    }
}
