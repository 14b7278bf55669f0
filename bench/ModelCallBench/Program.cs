// Requests per second through the model call path against a loopback server that adds a fixed latency.
// Usage: dotnet run -c Release --project bench/ModelCallBench [requests=480] [concurrency=16] [latency-ms=200]
using System.Diagnostics;
using System.Globalization;
using MllmData.ModelCalls;
using MllmData.Tests.Models;

var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 480;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 16;
var latency = TimeSpan.FromMilliseconds(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200);

using var server = new FakeModelServer(r => FakeModelServer.Faithful(r, latency));
var dir = Path.Combine(Path.GetTempPath(), "mllmdata-bench-" + Guid.NewGuid().ToString("N"));
using var cache = new ResponseCache(Path.Combine(dir, "cache.db"));
var model = OpenAiChatModel.Compatible(new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", "sk-bench", TimeSpan.FromSeconds(30));
using var calls = new ModelCallPath(model, cache, new CallSettings { Concurrency = concurrency }, PriceTable.Load());

static ChatRequest Request(int i) => new(
    [new ChatMessage("system", "Rewrite short answers as sentences."), new ChatMessage("user", $"Question: What is item {i}?\nShort answer: item {i}")],
    60, 0, "bench");

// Warm-up: JIT and connections, not counted.
await Task.WhenAll(Enumerable.Range(-concurrency, concurrency).Select(i => calls.CompleteAsync(Request(i), CancellationToken.None)));
var before = server.Requests;
var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, requests).Select(i => calls.CompleteAsync(Request(i), CancellationToken.None)));
clock.Stop();
var made = server.Requests - before;
var rate = made / clock.Elapsed.TotalSeconds;
var bound = concurrency / latency.TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{made} requests at concurrency {concurrency} against {latency.TotalMilliseconds:0} ms latency: {clock.Elapsed.TotalSeconds:0.00} s, {rate:0.0} requests/s (bound {bound:0.0}, {rate / bound:P0} of it)"));
Directory.Delete(dir, recursive: true);
