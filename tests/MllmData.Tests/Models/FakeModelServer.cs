using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MllmData.Tests.Models;

/// <summary>A request as the fake model server saw it.</summary>
public sealed record SeenRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, JsonObject? Body, double AtSeconds)
{
    /// <summary>The text of the last user message (text parts joined).</summary>
    public string UserText => Body?["messages"] is JsonArray m && m.LastOrDefault() is JsonObject last
        ? last["content"] switch
        {
            JsonValue v => (string)v!,
            JsonArray parts => string.Join("\n", parts.OfType<JsonObject>().Where(p => (string?)p["type"] == "text").Select(p => (string)p["text"]!)),
            _ => string.Empty,
        }
        : string.Empty;
}

/// <summary>What the fake sends back.</summary>
public sealed record FakeReply(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null, TimeSpan Delay = default)
{
    private const string SizedHead = "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":\"";
    private const string SizedTail = "\"}}]}";

    /// <summary>A body of this many bytes, written in pieces instead of from <see cref="Body"/> (for replies too big to hold).</summary>
    public long? StreamedLength { get; init; }

    /// <summary>False: the body goes chunked, with no Content-Length for the client to check first.</summary>
    public bool DeclareLength { get; init; } = true;

    /// <summary>A well-formed chat completion of exactly <paramref name="totalBytes"/> bytes: the answer is a run of 'a'.</summary>
    public static FakeReply Sized(long totalBytes, bool declareLength = true) =>
        new(200, string.Empty) { StreamedLength = totalBytes, DeclareLength = declareLength };

    /// <summary>A 200 whose <c>choices</c> is missing, empty, or holds an answer without text.</summary>
    public static FakeReply NoChoices() => new(200, "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":0}}");

    public static FakeReply EmptyChoices() => new(200, "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"choices\":[]}");

    public static FakeReply NullContent() => new(200, "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"finish_reason\":\"content_filter\",\"message\":{\"role\":\"assistant\",\"content\":null}}]}");

    /// <summary>A 429 carrying one wait header exactly as given (valid or not).</summary>
    public static FakeReply RateLimited(string header, string value) => Error(429, "slow down", new Dictionary<string, string> { [header] = value });

    /// <summary>Writes the sized body; stops when the client goes away.</summary>
    internal async Task WriteSizedAsync(Stream output, Action<int> sent, CancellationToken ct)
    {
        var head = Encoding.UTF8.GetBytes(SizedHead);
        var tail = Encoding.UTF8.GetBytes(SizedTail);
        await output.WriteAsync(head, ct).ConfigureAwait(false);
        sent(head.Length);
        var padding = new byte[64 * 1024];
        Array.Fill(padding, (byte)'a');
        for (var left = StreamedLength!.Value - head.Length - tail.Length; left > 0;)
        {
            var n = (int)Math.Min(left, padding.Length);
            await output.WriteAsync(padding.AsMemory(0, n), ct).ConfigureAwait(false);
            sent(n);
            left -= n;
        }

        await output.WriteAsync(tail, ct).ConfigureAwait(false);
        sent(tail.Length);
    }

    public static FakeReply Chat(string content, TimeSpan delay = default) => new(200, LoopbackServer.ChatCompletion(content).ToJsonString(), null, delay);

    public static FakeReply Error(int status, string message, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, LoopbackServer.ErrorBody(message), headers);
}

/// <summary>
/// An OpenAI/Azure-compatible chat server on 127.0.0.1 for tests and benchmarks: counts requests, records
/// what it saw, and answers through a handler that can fail, stall or send malformed bodies.
/// </summary>
public sealed class FakeModelServer : LoopbackServer
{
    private readonly Func<SeenRequest, FakeReply> _handler;
    private readonly ConcurrentQueue<SeenRequest> _seen = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _served;
    private long _bytesSent;

    public FakeModelServer(Func<SeenRequest, FakeReply> handler)
    {
        _handler = handler;
    }

    public int Requests => _seen.Count;

    /// <summary>Responses fully sent.</summary>
    public int Served => Volatile.Read(ref _served);

    public IReadOnlyList<SeenRequest> Seen => [.. _seen];

    /// <summary>Body bytes handed to the socket so far (a client that stops reading stops this growing).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>A faithful rewrite of the prompt's short answer, so consistency checks pass.</summary>
    public static FakeReply Faithful(SeenRequest r, TimeSpan delay = default)
    {
        var answer = r.UserText.Split('\n').FirstOrDefault(l => l.StartsWith("Short answer: ", StringComparison.Ordinal))?["Short answer: ".Length..] ?? "unknown";
        return FakeReply.Chat($"Looking at the image, the answer is {answer}.", delay);
    }

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var text = await reader.ReadToEndAsync().ConfigureAwait(false);
            JsonObject? body = null;
            try
            {
                body = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
            }

            var headers = Headers(context.Request);
            var seen = new SeenRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.Url.Query, headers, body, _clock.Elapsed.TotalSeconds);
            _seen.Enqueue(seen);
            var reply = _handler(seen);
            if (reply.Delay > TimeSpan.Zero)
            {
                await Task.Delay(reply.Delay, Stop.Token).ConfigureAwait(false);
            }

            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = "application/json";
            foreach (var (k, v) in reply.Headers ?? new Dictionary<string, string>())
            {
                context.Response.Headers[k] = v;
            }

            if (reply.StreamedLength is { } length)
            {
                if (reply.DeclareLength)
                {
                    context.Response.ContentLength64 = length;
                }
                else
                {
                    context.Response.SendChunked = true;
                }

                await reply.WriteSizedAsync(context.Response.OutputStream, n => Interlocked.Add(ref _bytesSent, n), Stop.Token).ConfigureAwait(false);
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes(reply.Body);
                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
                Interlocked.Add(ref _bytesSent, bytes.Length);
            }

            context.Response.Close();
            Interlocked.Increment(ref _served);
        }
        catch (Exception) when (Stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
            // The client went away (a timeout on its side, or a killed process).
        }
        catch (ObjectDisposedException)
        {
        }
        catch (IOException)
        {
            // The client stopped reading a long body and closed the connection.
        }
    }
}
