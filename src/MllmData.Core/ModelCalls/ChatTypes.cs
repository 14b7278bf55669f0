namespace MllmData.ModelCalls;

/// <summary>One message of a chat request; images are sent as bytes (data URLs) after the text.</summary>
public sealed record ChatMessage(string Role, string Text)
{
    public IReadOnlyList<ChatImage> Images { get; init; } = [];
}

/// <summary>An image sent to the model.</summary>
public sealed record ChatImage(byte[] Bytes, string MediaType, int Width, int Height);

/// <summary>A request: messages and generation parameters, plus the version of the prompt that made it.</summary>
public sealed record ChatRequest(IReadOnlyList<ChatMessage> Messages, int MaxOutputTokens, float Temperature, string PromptVersion);

/// <summary>A model's answer with the tokens it cost.</summary>
public sealed record ChatResult(string Text, int InputTokens, int OutputTokens, bool FromCache);

/// <summary>What went wrong with a model call; retryable kinds are retried with backoff.</summary>
public enum ModelFailure
{
    RateLimited,
    ServerError,
    ClientError,
    Timeout,
    Transport,
    Malformed,
    EmptyAnswer,

    /// <summary>The reply body passed the size cap; reported as a malformed response, not retried.</summary>
    TooLarge,
}

/// <summary>A typed model-call failure. Its message never holds credentials.</summary>
public sealed class ModelCallException : Exception
{
    public ModelCallException(ModelFailure kind, string message, TimeSpan? retryAfter = null, int? status = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        RetryAfter = retryAfter;
        Status = status;
    }

    public ModelCallException()
    {
    }

    public ModelCallException(string message)
        : base(message)
    {
    }

    public ModelCallException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ModelFailure Kind { get; }

    /// <summary>The server's requested wait (Retry-After or retry-after-ms), when it gave one.</summary>
    public TimeSpan? RetryAfter { get; }

    public int? Status { get; }

    /// <summary>
    /// The tokens a reply that could not be used still reported as spent (an empty <c>choices</c> list or an empty answer
    /// with a <c>usage</c> section): billed, so they count in the run's usage and against its caps. Null when no reply said.
    /// </summary>
    public (int Input, int Output)? Billed { get; init; }

    /// <summary>
    /// The endpoint answered with a chat completion (a <c>choices</c> list) that could not be used: billed for its prompt
    /// whether or not it says so, so a reply without <see cref="Billed"/> counts the prompt's own count, as an estimate.
    /// </summary>
    public bool Replied { get; init; }

    public bool Retryable => Kind is ModelFailure.RateLimited or ModelFailure.ServerError or ModelFailure.Timeout or ModelFailure.Transport or ModelFailure.Malformed;

    /// <summary>The reject reason code, e.g. <c>model-rate-limited</c>.</summary>
    public string ReasonCode => Kind switch
    {
        ModelFailure.RateLimited => "model-rate-limited",
        ModelFailure.ServerError => "model-server-error",
        ModelFailure.ClientError => "model-client-error",
        ModelFailure.Timeout => "model-timeout",
        ModelFailure.Transport => "model-transport",
        ModelFailure.Malformed or ModelFailure.TooLarge => "model-malformed-response",
        _ => "model-empty-answer",
    };
}

/// <summary>A cap on requests, tokens or cost was reached: the run stops taking new work.</summary>
public sealed class BudgetExceededException(string message) : Exception(message)
{
    public BudgetExceededException()
        : this("budget exceeded")
    {
    }

    public BudgetExceededException(string message, Exception innerException)
        : this(message + ": " + innerException.Message)
    {
    }
}

/// <summary>
/// The endpoint refused the tool itself, not one request (HTTP 401 or 403: the key or its rights; 404: no such model or
/// deployment): every further request would fail the same way, so the run stops. Its message never holds credentials.
/// </summary>
public sealed class ModelAccessException : Exception
{
    public ModelAccessException(int status, string message, Exception? inner = null)
        : base(message, inner) => Status = status;

    public ModelAccessException()
    {
    }

    public ModelAccessException(string message)
        : base(message)
    {
    }

    public ModelAccessException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int Status { get; }

    /// <summary>
    /// The stop for an endpoint that no call has reached yet and that cannot be reached at all (the connection refused,
    /// no such host, no route): every later call would fail the same way, each after its retries. Null for any other failure.
    /// </summary>
    public static ModelAccessException? Unreachable(ModelCallException failure)
    {
        for (Exception? e = failure.InnerException; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData or System.Net.Sockets.SocketError.NetworkUnreachable or System.Net.Sockets.SocketError.HostUnreachable } socket)
            {
                return new(0, $"the model endpoint cannot be reached ({socket.SocketErrorCode}): check the endpoint (OPENAI_BASE_URL, AZURE_OPENAI_ENDPOINT) and the network; the run stopped", failure);
            }
        }

        return null;
    }

    /// <summary>The refusal for an HTTP status, in words; null for a status that concerns one request only.</summary>
    public static ModelAccessException? For(ModelCallException failure) => failure.Status switch
    {
        401 => new(401, "the model endpoint refused the API key (HTTP 401): check OPENAI_API_KEY or AZURE_OPENAI_API_KEY and the endpoint; the run stopped", failure),
        403 => new(403, "the model endpoint refused access (HTTP 403): the key has no right to this model or endpoint; the run stopped", failure),
        404 => new(404, "the model endpoint has no such model or deployment (HTTP 404): check --model (Azure: the deployment name) and the endpoint; the run stopped", failure),
        _ => null,
    };
}

/// <summary>The model behind the call path.</summary>
public interface IChatModel
{
    /// <summary>Identifies the endpoint kind and model for cache keys, e.g. <c>azure|gpt-4o-mini</c>; never the key.</summary>
    string Identity { get; }

    string Model { get; }

    /// <summary>One attempt: no retries here; failures are <see cref="ModelCallException"/>.</summary>
    Task<ChatResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken);
}
