using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

/// <summary>Retries, waits, deadlines, caps and the cache of the call path, on a fake clock (no sleeping).</summary>
public class TheModelCallPathRetries
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(1);

    /// <summary>A model whose every attempt is scripted: attempt number (1-based) and token in, answer or failure out.</summary>
    private sealed class ScriptedModel(Func<int, CancellationToken, Task<ChatResult>> attempt) : IChatModel
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public string Identity => "fake|scripted";

        public string Model => "gpt-4o-mini";

        public Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken) =>
            attempt(Interlocked.Increment(ref _calls), cancellationToken);
    }

    private sealed class Rig : IDisposable
    {
        public Rig(ScriptedModel model, CallSettings settings, FakeClock? clock = null)
        {
            Clock = clock ?? new FakeClock();
            Model = model;
            Cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
            Calls = new ModelCallPath(model, Cache, settings, PriceTable.Load(), Clock, (d, _) =>
            {
                lock (Waits)
                {
                    Waits.Add(d);
                }

                Clock.Advance(d);
                return Task.CompletedTask;
            });
        }

        public FakeClock Clock { get; }

        public List<TimeSpan> Waits { get; } = [];

        public ScriptedModel Model { get; }

        public ResponseCache Cache { get; }

        public ModelCallPath Calls { get; }

        public void Dispose()
        {
            Calls.Dispose();
            Cache.Dispose();
        }
    }

    private static ChatRequest Request(int i) => new([new ChatMessage("user", $"question {i}")], 20, 0, "v1");

    private static ChatResult Answer(string text = "a fine answer") => new(text, 10, 5, false);

    private static Task<ChatResult> Fail(ModelFailure kind, TimeSpan? retryAfter = null) =>
        Task.FromException<ChatResult>(new ModelCallException(kind, $"scripted {kind}", retryAfter));

    [Fact]
    public async Task Should_Retry_Server_Errors_With_Doubling_Jittered_Backoff_Then_Cache_The_Answer()
    {
        using var rig = new Rig(new ScriptedModel((n, _) => n <= 3 ? Fail(ModelFailure.ServerError) : Task.FromResult(Answer())), new CallSettings { MaxRetries = 5, BaseDelay = Base });
        var result = await rig.Calls.CompleteAsync(Request(0), CancellationToken.None);

        Assert.Equal("a fine answer", result.Text);
        Assert.False(result.FromCache);
        Assert.Equal(4, rig.Model.Calls);
        Assert.Equal(3, rig.Waits.Count);
        for (var i = 0; i < 3; i++)
        {
            var full = Base * Math.Pow(2, i);
            Assert.InRange(rig.Waits[i], full / 2, full);
        }

        var usage = rig.Calls.Usage;
        Assert.Equal((1L, 4L, 3L, 0L, 0L), (usage.Requests, usage.Attempts, usage.Retries, usage.RateLimited, usage.Failures));
        Assert.Equal(1, rig.Cache.Count());
    }

    [Fact]
    public async Task Should_Make_Exactly_One_Try_Plus_Max_Retries_Then_Reject_Without_Caching()
    {
        using var rig = new Rig(new ScriptedModel((_, _) => Fail(ModelFailure.RateLimited)), new CallSettings { MaxRetries = 2, BaseDelay = Base });
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));

        Assert.Equal("model-rate-limited", ex.ReasonCode);
        Assert.Equal(3, rig.Model.Calls);
        Assert.Equal(2, rig.Waits.Count);
        var usage = rig.Calls.Usage;
        Assert.Equal((1L, 3L, 2L, 3L, 1L), (usage.Requests, usage.Attempts, usage.Retries, usage.RateLimited, usage.Failures));
        Assert.Equal(0, rig.Cache.Count());
    }

    [Fact]
    public async Task Should_Not_Retry_Client_Errors_Or_Empty_Or_Oversized_Answers()
    {
        foreach (var (kind, code) in new[] { (ModelFailure.ClientError, "model-client-error"), (ModelFailure.EmptyAnswer, "model-empty-answer"), (ModelFailure.TooLarge, "model-malformed-response") })
        {
            using var rig = new Rig(new ScriptedModel((_, _) => Fail(kind)), new CallSettings { MaxRetries = 4 });
            var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));
            Assert.Equal(code, ex.ReasonCode);
            Assert.Equal(1, rig.Model.Calls);
            Assert.Empty(rig.Waits);
            Assert.Equal(0, rig.Cache.Count());
        }
    }

    [Fact]
    public async Task Should_Wait_Exactly_What_The_Server_Asks_Instead_Of_Its_Own_Backoff()
    {
        using var rig = new Rig(new ScriptedModel((n, _) => n == 1 ? Fail(ModelFailure.RateLimited, TimeSpan.FromSeconds(7.25)) : Task.FromResult(Answer())), new CallSettings { BaseDelay = Base });
        await rig.Calls.CompleteAsync(Request(0), CancellationToken.None);
        Assert.Equal([TimeSpan.FromSeconds(7.25)], rig.Waits);
        Assert.Equal((1L, 1L), (rig.Calls.Usage.Retries, rig.Calls.Usage.RateLimited));
    }

    [Fact]
    public async Task Should_Fail_At_Once_When_The_Servers_Wait_Reaches_The_Deadline_And_Wait_When_It_Is_Just_Inside()
    {
        var deadline = TimeSpan.FromSeconds(10);

        // Exactly the deadline: no wait could end in time, so no wait and no second try.
        using (var rig = new Rig(new ScriptedModel((_, _) => Fail(ModelFailure.RateLimited, deadline)), new CallSettings { Deadline = deadline }))
        {
            var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));
            Assert.Equal("model-rate-limited", ex.ReasonCode);
            Assert.Contains("would pass the 10 s deadline", ex.Message, StringComparison.Ordinal);
            Assert.Equal(1, rig.Model.Calls);
            Assert.Empty(rig.Waits);
            Assert.Equal((0L, 1L, 1L), (rig.Calls.Usage.Retries, rig.Calls.Usage.RateLimited, rig.Calls.Usage.Failures));
        }

        // A tick less: it is waited out and the retry answers.
        var inside = deadline - TimeSpan.FromTicks(1);
        using (var rig = new Rig(new ScriptedModel((n, _) => n == 1 ? Fail(ModelFailure.RateLimited, inside) : Task.FromResult(Answer())), new CallSettings { Deadline = deadline }))
        {
            Assert.Equal("a fine answer", (await rig.Calls.CompleteAsync(Request(0), CancellationToken.None)).Text);
            Assert.Equal([inside], rig.Waits);
        }
    }

    [Fact]
    public async Task Should_Count_Time_Already_Spent_Against_The_Deadline_Before_Waiting()
    {
        // 6 s pass inside the first try; the server then asks for 5 s of a 10 s deadline: 11 s > 10 s, so no wait.
        var clock = new FakeClock();
        var model = new ScriptedModel((_, _) =>
        {
            clock.Advance(TimeSpan.FromSeconds(6));
            return Fail(ModelFailure.RateLimited, TimeSpan.FromSeconds(5));
        });
        using var rig = new Rig(model, new CallSettings { Deadline = TimeSpan.FromSeconds(10) }, clock);
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));
        Assert.Equal("model-rate-limited", ex.ReasonCode);
        Assert.Equal(1, model.Calls);
        Assert.Empty(rig.Waits);
    }

    [Fact]
    public async Task Should_Retry_A_Try_That_Passes_The_Per_Try_Timeout()
    {
        var perTry = TimeSpan.FromSeconds(30);
        var clock = new FakeClock();
        using var rig = new Rig(
            new ScriptedModel(async (n, ct) =>
            {
                if (n == 1)
                {
                    clock.Advance(perTry);
                    await Task.Delay(Timeout.Infinite, ct);
                }

                return Answer();
            }),
            new CallSettings { PerTryTimeout = perTry, BaseDelay = Base },
            clock);
        Assert.Equal("a fine answer", (await rig.Calls.CompleteAsync(Request(0), CancellationToken.None)).Text);
        Assert.Equal((2, 1L), (rig.Model.Calls, rig.Calls.Usage.Retries));
    }

    [Fact]
    public async Task Should_End_A_Try_Still_Running_At_The_Deadline_As_A_Timeout_Without_Retrying()
    {
        var clock = new FakeClock();
        using var rig = new Rig(
            new ScriptedModel(async (_, ct) =>
            {
                clock.Advance(TimeSpan.FromSeconds(20));
                await Task.Delay(Timeout.Infinite, ct);
                return Answer();
            }),
            new CallSettings { Deadline = TimeSpan.FromSeconds(20), PerTryTimeout = TimeSpan.FromSeconds(60), MaxRetries = 5 },
            clock);
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));
        Assert.Equal("model-timeout", ex.ReasonCode);
        Assert.Contains("20 s deadline", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, rig.Model.Calls);
        Assert.Equal(0, rig.Cache.Count());
    }

    [Fact]
    public void Should_Keep_Its_Own_Backoff_Within_Max_Delay()
    {
        using var rig = new Rig(new ScriptedModel((_, _) => Task.FromResult(Answer())), new CallSettings { BaseDelay = Base, MaxDelay = TimeSpan.FromSeconds(60) });
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var wait = rig.Calls.Backoff(attempt);
            var full = TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, attempt)));
            Assert.InRange(wait, full / 2, full);
        }
    }

    [Fact]
    public async Task Should_Count_Every_Http_Attempt_Against_Max_Requests_So_A_Cap_Of_N_Sends_At_Most_N()
    {
        // Cap 3, every try fails retryably: the third try is the last one sent, the fourth is refused.
        using (var rig = new Rig(new ScriptedModel((_, _) => Fail(ModelFailure.ServerError)), new CallSettings { MaxRequests = 3, MaxRetries = 5, BaseDelay = Base }))
        {
            var ex = await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));
            Assert.Equal("--max-requests 3 reached", ex.Message);
            Assert.Equal(3, rig.Model.Calls);
            Assert.Equal((1L, 3L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts));
        }

        // Exactly at the cap: two failures and an answer fit in 3; the next request is refused before any call.
        using (var rig = new Rig(new ScriptedModel((n, _) => n < 3 ? Fail(ModelFailure.ServerError) : Task.FromResult(Answer())), new CallSettings { MaxRequests = 3, BaseDelay = Base }))
        {
            Assert.Equal("a fine answer", (await rig.Calls.CompleteAsync(Request(0), CancellationToken.None)).Text);
            await Assert.ThrowsAsync<BudgetExceededException>(() => rig.Calls.CompleteAsync(Request(1), CancellationToken.None));
            Assert.Equal(3, rig.Model.Calls);
            Assert.Equal((1L, 3L, 2L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts, rig.Calls.Usage.Retries));

            // A cached answer is free even at the cap.
            Assert.True((await rig.Calls.CompleteAsync(Request(0), CancellationToken.None)).FromCache);
            Assert.Equal(3, rig.Model.Calls);
        }
    }

    [Fact]
    public async Task Should_Write_The_Cache_After_Every_Answer_And_Answer_Repeats_With_Zero_Calls()
    {
        using var rig = new Rig(new ScriptedModel((n, _) => Task.FromResult(Answer($"answer {n}"))), new CallSettings());
        for (var i = 0; i < 3; i++)
        {
            await rig.Calls.CompleteAsync(Request(i), CancellationToken.None);
            Assert.Equal(i + 1, rig.Cache.Count());
        }

        for (var i = 0; i < 3; i++)
        {
            var again = await rig.Calls.CompleteAsync(Request(i), CancellationToken.None);
            Assert.True(again.FromCache);
            Assert.Equal($"answer {i + 1}", again.Text);
        }

        Assert.Equal(3, rig.Model.Calls);
        Assert.Equal((3L, 3L, 3L), (rig.Calls.Usage.Requests, rig.Calls.Usage.Attempts, rig.Calls.Usage.CacheHits));
    }

    [Fact]
    public async Task Should_Take_An_Answer_Exactly_At_The_Size_Cap_And_Reject_One_Byte_More_Without_Caching()
    {
        var settings = new CallSettings { MaxResponseBytes = 100 };
        using (var rig = new Rig(new ScriptedModel((_, _) => Task.FromResult(Answer(new string('é', 50)))), settings))
        {
            Assert.Equal(100, System.Text.Encoding.UTF8.GetByteCount((await rig.Calls.CompleteAsync(Request(0), CancellationToken.None)).Text));
            Assert.Equal(1, rig.Cache.Count());
        }

        using (var rig = new Rig(new ScriptedModel((_, _) => Task.FromResult(Answer(new string('é', 50) + "x"))), settings with { MaxRetries = 3 }))
        {
            var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));
            Assert.Equal("model-malformed-response", ex.ReasonCode);
            Assert.Contains("100-byte cap", ex.Message, StringComparison.Ordinal);
            Assert.Equal(1, rig.Model.Calls);
            Assert.Equal(0, rig.Cache.Count());
        }
    }

    [Fact]
    public async Task Should_Treat_A_Blank_Answer_From_Any_Model_As_Empty_And_Never_Cache_It()
    {
        using var rig = new Rig(new ScriptedModel((_, _) => Task.FromResult(Answer(" \n "))), new CallSettings { MaxRetries = 3 });
        var ex = await Assert.ThrowsAsync<ModelCallException>(() => rig.Calls.CompleteAsync(Request(0), CancellationToken.None));
        Assert.Equal("model-empty-answer", ex.ReasonCode);
        Assert.Equal(1, rig.Model.Calls);
        Assert.Equal(0, rig.Cache.Count());
        Assert.Equal(1, rig.Calls.Usage.Failures);
    }

    [Fact]
    public async Task Should_Let_A_Callers_Cancellation_Through_Untouched()
    {
        using var cts = new CancellationTokenSource();
        using var rig = new Rig(
            new ScriptedModel(async (_, ct) =>
            {
                await cts.CancelAsync();
                await Task.Delay(Timeout.Infinite, ct);
                return Answer();
            }),
            new CallSettings());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rig.Calls.CompleteAsync(Request(0), cts.Token));
        Assert.Equal(1, rig.Model.Calls);
        Assert.Equal(0, rig.Calls.Usage.Failures);
    }
}
