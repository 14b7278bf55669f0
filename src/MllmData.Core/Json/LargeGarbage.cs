using System.Runtime;

namespace MllmData.Json;

/// <summary>
/// Large-object garbage (lines and rows carrying embedded images) is left by the collector until its large-object budget
/// runs out, and that budget grows with the machine's memory: counting such bytes and collecting (and compacting) every
/// window keeps a pass at about one window of them, whatever the number of images.
/// </summary>
public sealed class LargeGarbage(long window)
{
    /// <summary>Lines at least this long are allocated in large-object memory.</summary>
    public const int LargeLine = 85_000;

    private long _bytes;

    /// <summary>Collections made so far.</summary>
    public int Collections { get; private set; }

    /// <summary>Counts <paramref name="bytes"/> of large-object garbage; collects when a window is full.</summary>
    public void Add(long bytes)
    {
        if ((_bytes += bytes) < window)
        {
            return;
        }

        _bytes = 0;
        Collections++;
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect();
    }

    /// <summary>Counts a line of <paramref name="length"/> bytes when it is long enough to be large-object garbage.</summary>
    public void AddLine(int length)
    {
        if (length >= LargeLine)
        {
            Add(length);
        }
    }
}
