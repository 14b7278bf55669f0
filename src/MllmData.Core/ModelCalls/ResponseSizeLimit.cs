using System.Net;
using MllmData.Inputs;

namespace MllmData.ModelCalls;

/// <summary>A reply body passed the byte cap; raised while the body is read, before it is held whole.</summary>
public sealed class ResponseTooLargeException : IOException
{
    public ResponseTooLargeException(long limit)
        : base($"the reply is larger than the {limit}-byte cap")
    {
        Limit = limit;
    }

    public ResponseTooLargeException()
    {
    }

    public ResponseTooLargeException(string message)
        : base(message)
    {
    }

    public ResponseTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public long Limit { get; }
}

/// <summary>
/// The HTTP handler under the OpenAI client: a declared Content-Length past the cap is refused before the body is
/// read, and an undeclared (chunked) body is cut off by a counting stream as soon as it passes the cap, so memory
/// stays bounded by the cap whatever the server sends.
/// </summary>
internal sealed class ResponseSizeLimitHandler(long maxBytes, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentLength is { } declared && declared > maxBytes)
        {
            response.Dispose();
            throw new ResponseTooLargeException(maxBytes);
        }

        response.Content = new CappedContent(response.Content, maxBytes);
        return response;
    }

    /// <summary>Content whose stream refuses to give more than the cap.</summary>
    private sealed class CappedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly long _maxBytes;

        public CappedContent(HttpContent inner, long maxBytes)
        {
            _inner = inner;
            _maxBytes = maxBytes;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await (await CreateContentReadStreamAsync().ConfigureAwait(false)).CopyToAsync(stream).ConfigureAwait(false);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            using var source = await CreateContentReadStreamAsync(cancellationToken).ConfigureAwait(false);
            await source.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
        }

        protected override async Task<Stream> CreateContentReadStreamAsync() =>
            new CappedStream(await _inner.ReadAsStreamAsync().ConfigureAwait(false), _maxBytes);

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
            new CappedStream(await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _maxBytes);

        protected override Stream CreateContentReadStream(CancellationToken cancellationToken) =>
            new CappedStream(_inner.ReadAsStream(cancellationToken), _maxBytes);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A read-only stream that throws <see cref="ResponseTooLargeException"/> once more than the cap has been read.</summary>
    private sealed class CappedStream(Stream inner, long maxBytes) : ReadOnlyStream<Stream>(inner)
    {
        private long _read;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer) => Count(Inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await Inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        private int Count(int n)
        {
            _read += n;
            return _read > maxBytes ? throw new ResponseTooLargeException(maxBytes) : n;
        }
    }
}
