namespace MllmData.Inputs;

/// <summary>
/// What the tool's read-only stream wrappers share: they read forward only, so seeking, writing and setting a length
/// throw, reading into an array reads into its span, and disposing one disposes what it wraps.
/// </summary>
/// <typeparam name="TInner">What the wrapper reads from.</typeparam>
/// <param name="inner">What the wrapper reads from; disposed with it.</param>
public abstract class ReadOnlyStream<TInner>(TInner inner) : Stream
    where TInner : IDisposable
{
    /// <summary>What the wrapper reads from.</summary>
    protected TInner Inner => inner;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
