using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace MllmData.Tests.Models;

/// <summary>
/// An HTTP server on 127.0.0.1 at a free port, for the fakes of model providers: it accepts requests until disposed and
/// hands each to <see cref="HandleAsync"/> on its own task. The fakes say what to answer.
/// </summary>
public abstract class LoopbackServer : IDisposable
{
    private readonly HttpListener _listener = new();

    protected LoopbackServer()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string OpenAiBaseUrl => $"http://127.0.0.1:{Port}/v1";

    public string AzureEndpoint => $"http://127.0.0.1:{Port}/";

    /// <summary>Cancelled when the server is disposed.</summary>
    protected CancellationTokenSource Stop { get; } = new();

    /// <summary>A chat completion as OpenAI writes one, with fixed usage (50 tokens in, 12 out).</summary>
    public static JsonObject ChatCompletion(string content, string id = "chatcmpl-fake") => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion",
        ["created"] = 1700000000,
        ["model"] = "gpt-4o-mini",
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
            ["finish_reason"] = "stop",
        }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 50, ["completion_tokens"] = 12, ["total_tokens"] = 62 },
    };

    /// <summary>An error body as OpenAI writes one.</summary>
    public static string ErrorBody(string message) => new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "fake_error" } }.ToJsonString();

    /// <summary>The request's headers, names lower-cased.</summary>
    protected static Dictionary<string, string> Headers(HttpListenerRequest request) =>
        request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!.ToLowerInvariant(), k => request.Headers[k]!);

    protected abstract Task HandleAsync(HttpListenerContext context);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (!Stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (Stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    public void Dispose()
    {
        Stop.Cancel();
        _listener.Close();
        Stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
