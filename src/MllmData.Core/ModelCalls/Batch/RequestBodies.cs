using System.Net;

namespace MllmData.ModelCalls.Batch;

/// <summary>
/// The exact request bodies the synchronous path sends: each request goes through the same SDK client as a real call,
/// over an in-process handler that keeps the body and answers with a stub, so nothing leaves the process. Both clients
/// (OpenAI and Azure.AI.OpenAI 2.1.0) write the model, on Azure the deployment, into the body, as a batch line needs.
/// Not thread-safe: one request at a time.
/// </summary>
public sealed class RequestBodies : IDisposable
{
    private readonly CaptureHandler _handler = new();
    private readonly OpenAiChatModel _client;

    public RequestBodies(BatchEndpoint endpoint)
    {
        _client = OpenAiChatModel.OverHandler(endpoint.Kind, endpoint.Url, endpoint.Model, _handler);
    }

    /// <summary>The body as UTF-8 JSON bytes.</summary>
    public async Task<byte[]> BodyAsync(ChatRequest request, CancellationToken ct)
    {
        await _client.CompleteAsync(request, ct).ConfigureAwait(false);
        return _handler.Take();
    }

    public void Dispose() => _handler.Dispose();

    /// <summary>Keeps the last request body; answers every request with a minimal chat completion.</summary>
    private sealed class CaptureHandler : HttpMessageHandler
    {
        private static readonly byte[] Stub = "{\"id\":\"capture\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"capture\",\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":\"-\"}}]}"u8.ToArray();
        private byte[]? _last;

        public byte[] Take()
        {
            var body = _last ?? throw new InvalidOperationException("the SDK sent no request body");
            _last = null;
            return body;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _last = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Stub) { Headers = { { "Content-Type", "application/json" } } } };
        }
    }
}
