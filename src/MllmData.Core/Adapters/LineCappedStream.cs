using MllmData.Inputs;

namespace MllmData.Adapters;

/// <summary>
/// Passes a text stream through line by line, replacing each line longer than the limit by an empty line (so line
/// numbers stay right) and noting it, so a parser above it never buffers more than one line of the limit.
/// </summary>
public sealed class LineCappedStream(Stream inner, int maxLineBytes = BoundedLineReader.DefaultMaxLineBytes)
    : ReadOnlyStream<BoundedLineReader>(new BoundedLineReader(inner, maxLineBytes, keepTerminator: true))
{
    private ReadOnlyMemory<byte> _pending;

    /// <summary>Lines replaced so far, by 1-based line number and their length in bytes, oldest first.</summary>
    public Queue<(long Line, long Bytes)> Dropped { get; } = new();

    public int MaxLineBytes => Inner.MaxLineBytes;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        while (_pending.IsEmpty)
        {
            if (!Inner.TryRead(out var line))
            {
                return 0;
            }

            if (line.TooLong)
            {
                Dropped.Enqueue((line.Number, line.TooLongBytes));
                _pending = "\n"u8.ToArray();
            }
            else
            {
                _pending = line.Bytes;
            }
        }

        var n = Math.Min(buffer.Length, _pending.Length);
        _pending.Span[..n].CopyTo(buffer);
        _pending = _pending[n..];
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));
}
