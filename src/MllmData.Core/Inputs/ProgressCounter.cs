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

    public void AddRecord() => Interlocked.Increment(ref _records);

    public void AddReject() => Interlocked.Increment(ref _rejects);
}
