using System.Runtime.ExceptionServices;

namespace MllmData.Json;

/// <summary>
/// The values of a JSON array read on a thread of their own, a few batches ahead of the thread that uses them: a large
/// input's tokenising, UTF-8 checks and value parsing go to the second core while the build thread templates, renders
/// and writes. The consumer sees exactly what <see cref="StreamingJsonReader.TryReadValue{T}"/> would have given it, in
/// the same order: the same values, positions and errors, and a failure of the file (truncated, malformed) when it
/// reaches the place the failure is at, after every value before it. <see cref="Drain"/> reports what the reader's own
/// drain found after the array, when the consumer asks for it.
/// </summary>
/// <remarks>
/// Few values are in flight at once (<see cref="Batches"/> × <see cref="BatchValues"/>), so memory stays flat and the
/// young collections of the build find little to promote. Disposing stops the thread and disposes the reader.
/// </remarks>
public sealed class ReadAhead<T> : IDisposable
    where T : class
{
    /// <summary>Values in a batch handed over at once.</summary>
    public const int BatchValues = 64;

    /// <summary>
    /// Batches read and not yet taken, at most. On two cores shared with the build and card threads the reader is often
    /// off the processor for a time slice or a collection: four batches (about 2 ms of a VQA build's use) left the build
    /// thread waiting on an empty hand-off 0.6 s per full VQAv2 build; twelve keep it fed at a few hundred kilobytes.
    /// </summary>
    public const int Batches = 12;

    private readonly StreamingJsonReader _reader;
    private readonly ValueParser<T> _parser;
    private readonly Handoff<Batch> _full = new(Batches);
    private readonly Thread _thread;
    private Batch? _current;
    private int _next;
    private bool _disposed;

    /// <summary>Starts reading the values of the array the reader is positioned in.</summary>
    public ReadAhead(StreamingJsonReader reader, ValueParser<T> parser, string name = "mllmdata-read")
    {
        _reader = reader;
        _parser = parser;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>As <see cref="StreamingJsonReader.TryReadValue{T}"/> on the reader: the next value, or false at the array's end.</summary>
    public bool TryReadValue(out T? value, out long position, out string? error)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (_current is { } batch)
            {
                if (_next < batch.Count)
                {
                    (value, position, error) = batch.Items[_next];
                    batch.Items[_next++] = default;
                    return true;
                }

                if (batch.End)
                {
                    batch.Failure?.Throw();
                    (value, position, error) = (null, 0, null);
                    return false;
                }
            }

            _current = _full.TryTake(out var next) ? next : throw new ObjectDisposedException(GetType().Name);
            _next = 0;
        }
    }

    /// <summary>What <see cref="StreamingJsonReader.Drain"/> found after the array (read ahead too): thrown here, where the caller drains.</summary>
    public void Drain()
    {
        while (TryReadValue(out _, out _, out _))
        {
        }

        _current!.DrainFailure?.Throw();
    }

    private void Run()
    {
        var batch = new Batch();
        try
        {
            while (_reader.TryReadValue(_parser, out var value, out var position, out var error))
            {
                batch.Items[batch.Count++] = (value, position, error);
                if (batch.Count == BatchValues)
                {
                    if (!_full.Add(batch))
                    {
                        return; // the consumer is gone
                    }

                    batch = new Batch();
                }
            }

            try
            {
                _reader.Drain();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                batch.DrainFailure = ExceptionDispatchInfo.Capture(ex);
            }
        }
        catch (Exception ex)
        {
            // Given to the consumer where it happened: after the values read before it.
            batch.Failure = ExceptionDispatchInfo.Capture(ex);
        }

        batch.End = true;
        _full.Add(batch); // false when the consumer is gone
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _full.Abandon();
        _thread.Join();
        _reader.Dispose();
    }

    private sealed class Batch
    {
        public (T? Value, long Position, string? Error)[] Items { get; } = new (T?, long, string?)[BatchValues];

        public int Count { get; set; }

        public bool End { get; set; }

        public ExceptionDispatchInfo? Failure { get; set; }

        public ExceptionDispatchInfo? DrainFailure { get; set; }
    }
}
