namespace MllmData.Inputs;

/// <summary>Thread-safe counters that a progress display polls: input bytes and records written.</summary>
public sealed class ProgressCounter
{
    private long _totalBytes;
    private long _doneBytes;
    private long _records;
    private long _rejects;

    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    public long DoneBytes => Interlocked.Read(ref _doneBytes);

    public long Records => Interlocked.Read(ref _records);

    public long Rejects => Interlocked.Read(ref _rejects);

    public void AddTotal(long bytes) => Interlocked.Add(ref _totalBytes, bytes);

    public void AddDone(long bytes) => Interlocked.Add(ref _doneBytes, bytes);

    /// <summary>Called with the new count after each record (a test stops a run at a chosen record with it).</summary>
    public Action<long>? OnRecord { get; init; }

    public void AddRecord()
    {
        var n = Interlocked.Increment(ref _records);
        OnRecord?.Invoke(n);
    }

    public void AddReject() => Interlocked.Increment(ref _rejects);
}
