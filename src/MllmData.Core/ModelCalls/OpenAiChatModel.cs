using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Sockets;
using System.Text.Json;
using Azure.AI.OpenAI;
using OpenAI;
using OpenAI.Chat;
using Sdk = OpenAI.Chat;

namespace MllmData.ModelCalls;

/// <summary>Azure OpenAI or any OpenAI-compatible endpoint through Azure.AI.OpenAI 2.1.0, one attempt per call.</summary>
public sealed class OpenAiChatModel : IChatModel
{
    private readonly ChatClient _client;

    private OpenAiChatModel(ChatClient client, string identity, string model)
    {
        _client = client;
        Identity = identity;
        Model = model;
    }

    public string Identity { get; }

    public string Model { get; }

    /// <summary>Azure: endpoint and deployment; the key comes from the caller (read from the environment).</summary>
    public static OpenAiChatModel Azure(Uri endpoint, string deployment, string apiKey, TimeSpan networkTimeout, long maxResponseBytes = CallSettings.DefaultMaxResponseBytes) =>
        Azure(endpoint, deployment, apiKey, networkTimeout, CappedTransport(maxResponseBytes));

    private static OpenAiChatModel Azure(Uri endpoint, string deployment, string apiKey, TimeSpan networkTimeout, PipelineTransport transport)
    {
        var options = new AzureOpenAIClientOptions(AzureOpenAIClientOptions.ServiceVersion.V2024_10_21)
        {
            // Retries are ours (ModelCallPath, honouring retry-after-ms); the SDK's would multiply them.
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = networkTimeout,
            Transport = transport,
        };
        var client = new AzureOpenAIClient(endpoint, new ApiKeyCredential(apiKey), options);
        return new OpenAiChatModel(client.GetChatClient(deployment), $"azure|{endpoint.Host}:{endpoint.Port}|{deployment}", deployment);
    }

    /// <summary>An OpenAI-compatible endpoint (base URL ending in /v1), Bearer key.</summary>
    public static OpenAiChatModel Compatible(Uri baseUrl, string model, string apiKey, TimeSpan networkTimeout, long maxResponseBytes = CallSettings.DefaultMaxResponseBytes) =>
        Compatible(baseUrl, model, apiKey, networkTimeout, CappedTransport(maxResponseBytes));

    private static OpenAiChatModel Compatible(Uri baseUrl, string model, string apiKey, TimeSpan networkTimeout, PipelineTransport transport)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = networkTimeout,
            Transport = transport,
        };
        var client = new OpenAIClient(new ApiKeyCredential(apiKey), options);
        return new OpenAiChatModel(client.GetChatClient(model), $"openai|{baseUrl.Host}:{baseUrl.Port}{baseUrl.AbsolutePath}|{model}", model);
    }

    /// <summary>
    /// The same client over an HTTP handler of the caller's (the Batch path captures the request bodies the SDK would
    /// send, so batch lines carry exactly what the synchronous path sends). Nothing leaves the process through it.
    /// </summary>
    internal static OpenAiChatModel OverHandler(string kind, Uri url, string model, HttpMessageHandler handler)
    {
        var transport = new HttpClientPipelineTransport(new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan });
        return kind == "azure"
            ? Azure(url, model, "unused-by-a-local-handler", TimeSpan.FromMinutes(1), transport)
            : Compatible(url, model, "unused-by-a-local-handler", TimeSpan.FromMinutes(1), transport);
    }

    /// <summary>
    /// The SDK buffers every reply body (BufferResponse) and has no size limit of its own, so the cap sits in the
    /// HTTP handler under it: the body is refused once it passes the cap, before it is held whole.
    /// </summary>
    private static HttpClientPipelineTransport CappedTransport(long maxResponseBytes)
    {
        var handler = new ResponseSizeLimitHandler(maxResponseBytes, new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });

        // The SDK's NetworkTimeout bounds each try; HttpClient's own 100 s default must not cut in first.
        return new HttpClientPipelineTransport(new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = Math.Clamp(maxResponseBytes, 1, int.MaxValue) });
    }

    public async Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var messages = request.Messages.Select(ToSdk).ToList();
        var options = new ChatCompletionOptions { MaxOutputTokenCount = request.MaxOutputTokens, Temperature = request.Temperature };
        BinaryData body;
        try
        {
            var result = await _client.CompleteChatAsync(messages, options, cancellationToken).ConfigureAwait(false);
            body = result.GetRawResponse().Content;
        }
        catch (Exception ex) when (Find<ResponseTooLargeException>(ex) is { } tooLarge)
        {
            throw new ModelCallException(ModelFailure.TooLarge, tooLarge.Message);
        }
        catch (ClientResultException ex) when (ex.Status != 0 || ex.GetRawResponse() is not null)
        {
            throw Classify(ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelCallException(ModelFailure.Timeout, "the request timed out");
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Any(e => e is TaskCanceledException or TimeoutException))
        {
            throw new ModelCallException(ModelFailure.Timeout, "the request timed out");
        }
        catch (Exception ex) when (ex is ClientResultException or HttpRequestException or SocketException or IOException)
        {
            throw new ModelCallException(ModelFailure.Transport, $"transport error: {ex.GetType().Name}: {ex.Message}", inner: ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Anything else thrown while the SDK reads the reply means the reply could not be read.
            throw new ModelCallException(ModelFailure.Malformed, $"the response could not be read: {ex.GetType().Name}");
        }

        return ReadReply(body);
    }

    /// <summary>
    /// The answer from a chat-completions body, read by us rather than through the SDK's accessors (which throw on a
    /// missing or empty <c>choices</c>): no choices is a malformed reply, a choice without text an empty answer.
    /// </summary>
    internal static ChatResult ReadReply(BinaryData body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body.ToMemory());
        }
        catch (JsonException ex)
        {
            throw new ModelCallException(ModelFailure.Malformed, $"the response is not JSON: {ex.GetType().Name}");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                throw new ModelCallException(ModelFailure.Malformed, "the response has no \"choices\" list") { Billed = root.ValueKind == JsonValueKind.Object ? BilledOf(root) : null };
            }

            if (choices.GetArrayLength() == 0 || choices[0].ValueKind != JsonValueKind.Object)
            {
                throw new ModelCallException(ModelFailure.Malformed, "the response has an empty \"choices\" list") { Billed = BilledOf(root), Replied = true };
            }

            var choice = choices[0];
            var finish = choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            var text = choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                ? content.GetString()!.Trim()
                : string.Empty;
            if (text.Length == 0)
            {
                throw new ModelCallException(ModelFailure.EmptyAnswer, $"the model returned no text (finish reason {finish ?? "none"})") { Billed = BilledOf(root), Replied = true };
            }

            return new ChatResult(text, Tokens(root, "prompt_tokens"), Tokens(root, "completion_tokens"), FromCache: false);
        }
    }

    /// <summary>The tokens an unusable reply says it spent, or null when it gives none.</summary>
    private static (int Input, int Output)? BilledOf(JsonElement root) =>
        (Tokens(root, "prompt_tokens"), Tokens(root, "completion_tokens")) is var (input, output) && input + output > 0 ? (input, output) : null;

    private static int Tokens(JsonElement root, string name) =>
        root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
        && usage.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var value) && value > 0
            ? value
            : 0;

    private static T? Find<T>(Exception? ex)
        where T : Exception
    {
        for (var depth = 0; ex is not null && depth < 16; depth++)
        {
            if (ex is T found)
            {
                return found;
            }

            if (ex is AggregateException { InnerExceptions: var inner })
            {
                var hit = inner.Select(Find<T>).FirstOrDefault(e => e is not null);
                if (hit is not null)
                {
                    return hit;
                }
            }

            ex = ex.InnerException;
        }

        return null;
    }

    private static Sdk.ChatMessage ToSdk(ChatMessage m)
    {
        if (m.Images.Count == 0)
        {
            return m.Role switch
            {
                "system" => new SystemChatMessage(m.Text),
                "assistant" => new AssistantChatMessage(m.Text),
                _ => new UserChatMessage(m.Text),
            };
        }

        var parts = new List<ChatMessageContentPart> { ChatMessageContentPart.CreateTextPart(m.Text) };
        parts.AddRange(m.Images.Select(i => ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(i.Bytes), i.MediaType, ChatImageDetailLevel.Low)));
        return new UserChatMessage(parts);
    }

    /// <summary>Status and Retry-After / retry-after-ms into a typed failure; the body is not echoed in full.</summary>
    private static ModelCallException Classify(ClientResultException ex)
    {
        var status = ex.Status;
        TimeSpan? retryAfter = null;
        var response = ex.GetRawResponse();
        if (response is not null)
        {
            response.Headers.TryGetValue("retry-after-ms", out var ms);
            response.Headers.TryGetValue("Retry-After", out var ra);
            retryAfter = RetryAfterHeader.Parse(ms, ra, DateTimeOffset.UtcNow);
        }

        var kind = status switch
        {
            0 => ModelFailure.Transport,
            429 => ModelFailure.RateLimited,
            408 => ModelFailure.Timeout,
            >= 500 => ModelFailure.ServerError,
            _ => ModelFailure.ClientError,
        };
        return new ModelCallException(kind, $"HTTP {status} from the model endpoint", retryAfter, status);
    }
}
