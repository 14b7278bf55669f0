using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Azure.AI.OpenAI;
using OpenAI;
using OpenAI.Chat;
using Sdk = OpenAI.Chat;

namespace MllmData.Models;

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
    public static OpenAiChatModel Azure(Uri endpoint, string deployment, string apiKey, TimeSpan networkTimeout)
    {
        var options = new AzureOpenAIClientOptions(AzureOpenAIClientOptions.ServiceVersion.V2024_10_21)
        {
            // Retries are ours (Polly, honouring retry-after-ms); the SDK's would multiply them.
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = networkTimeout,
        };
        var client = new AzureOpenAIClient(endpoint, new ApiKeyCredential(apiKey), options);
        return new OpenAiChatModel(client.GetChatClient(deployment), $"azure|{endpoint.Host}:{endpoint.Port}|{deployment}", deployment);
    }

    /// <summary>An OpenAI-compatible endpoint (base URL ending in /v1), Bearer key.</summary>
    public static OpenAiChatModel Compatible(Uri baseUrl, string model, string apiKey, TimeSpan networkTimeout)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = networkTimeout,
        };
        var client = new OpenAIClient(new ApiKeyCredential(apiKey), options);
        return new OpenAiChatModel(client.GetChatClient(model), $"openai|{baseUrl.Host}:{baseUrl.Port}{baseUrl.AbsolutePath}|{model}", model);
    }

    public async Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var messages = request.Messages.Select(ToSdk).ToList();
        var options = new ChatCompletionOptions { MaxOutputTokenCount = request.MaxOutputTokens, Temperature = request.Temperature };
        ChatCompletion completion;
        try
        {
            completion = (await _client.CompleteChatAsync(messages, options, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (ClientResultException ex)
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
        catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException)
        {
            throw new ModelCallException(ModelFailure.Transport, $"transport error: {ex.GetType().Name}: {ex.Message}");
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            throw new ModelCallException(ModelFailure.Malformed, $"the response could not be read: {ex.GetType().Name}");
        }

        var text = string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text)).Trim();
        if (text.Length == 0)
        {
            throw new ModelCallException(ModelFailure.EmptyAnswer, $"the model returned no text (finish reason {completion.FinishReason})");
        }

        return new ChatResult(text, completion.Usage?.InputTokenCount ?? 0, completion.Usage?.OutputTokenCount ?? 0, FromCache: false);
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
            if (response.Headers.TryGetValue("retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var msValue))
            {
                retryAfter = TimeSpan.FromMilliseconds(msValue);
            }
            else if (response.Headers.TryGetValue("Retry-After", out var ra))
            {
                if (double.TryParse(ra, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
                {
                    retryAfter = TimeSpan.FromSeconds(seconds);
                }
                else if (DateTimeOffset.TryParse(ra, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
                {
                    retryAfter = when - DateTimeOffset.UtcNow;
                }
            }
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
