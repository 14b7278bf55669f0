using System.Runtime.ExceptionServices;
using MllmData.Formats;

namespace MllmData.Stats;

/// <summary>
/// Gathers a build's figures from the lines as they are written, on a thread of its own while the build goes on: the
/// same bytes through the same code as <see cref="StatsReader"/> reading the shards back, so the dataset card comes out
/// the same without a second pass over the output. Lines travel in a few pooled chunks, so memory stays flat and the
/// hand-off makes no garbage.
/// </summary>
public sealed class StatsWorker : IDisposable
{
    /// <summary>Bytes of a pooled chunk; a longer line gets a chunk of its own size.</summary>
    public const int ChunkBytes = 1 << 18;

    /// <summary>Chunks in the pool: the most that are filled or in flight at once.</summary>
    public const int PoolChunks = 4;

    // Hand-offs whose waits sleep at once (Json.Handoff): the writer, this worker and the readers share two cores.
    private readonly Json.Handoff<Chunk> _full = new(PoolChunks);
    private readonly Json.Handoff<Chunk> _free = new(PoolChunks);
    private readonly DatasetStats _stats;
    private readonly IOutputFormat? _format;
    private readonly RenderOptions _options;

    /// <summary>The one-pass reader of the format's lines, when it has one; a line it does not take goes the document way.</summary>
    private readonly WrittenLineView? _fast;
    private readonly Thread _thread;
    private Chunk? _current;
    private ExceptionDispatchInfo? _error;
    private bool _completed;

    /// <summary>Set by <see cref="Seal"/> before the hand-off completes: the worker then finishes the figures.</summary>
    private volatile bool _sealed;

    /// <summary>Whether the worker's own thread finished the figures (after a <see cref="Seal"/>); read after <see cref="Complete"/>.</summary>
    internal bool FinishedHere { get; private set; }
    private readonly CancellationToken _cancel;

    /// <summary>The shard whose lines the worker is counting, and its name in messages (made once per shard).</summary>
    private long _labelShard = -1;
    private string _label = "";

    /// <summary>
    /// A worker for the lines of a build in the format named <paramref name="formatName"/> (as its manifest will name it).
    /// Once <paramref name="cancel"/> is set, lines are only drained and <see cref="Complete"/> reports the cancellation.
    /// </summary>
    public StatsWorker(string formatName, QuestionFinder questions, string imageToken, CancellationToken cancel = default)
    {
        _cancel = cancel;
        _format = StatsReader.FormatNamed(formatName);
        _options = new RenderOptions { ImageToken = imageToken };
        _stats = StatsReader.Empty(_format, questions, ".", []);
        _fast = _format is ConversationFormat conversation ? new WrittenLineView(conversation, _options) : null;
        for (var i = 0; i < PoolChunks; i++)
        {
            _free.Add(new Chunk()); // the hand-off itself is never cancelled: a cancelled worker drains
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "mllmdata-stats" };
        _thread.Start();
    }

    /// <summary>One written line (without its line break), and its number within its shard (from 1).</summary>
    public void Add(ReadOnlySpan<byte> line, long shard, long number)
    {
        if (_sealed)
        {
            throw new InvalidOperationException("a line was added after the last one (Seal)");
        }

        if (_current is not null && !_current.Fits(line.Length))
        {
            Send();
        }

        if (_current is null)
        {
            _free.TryTake(out var free);
            _current = free;
        }

        _current.Append(line, shard, number);
    }

    /// <summary>
    /// Says the last line has been added: once the worker has counted every line it finishes the figures on its own thread
    /// (the token count, with the tokenizer's load), while the build puts its last shard on disk. Idempotent.
    /// </summary>
    public void Seal()
    {
        if (_sealed)
        {
            return;
        }

        if (_current is not null)
        {
            Send();
        }

        _sealed = true;
        _full.Complete();
    }

    /// <summary>Waits for every line to be counted and gives the figures (Folder and Manifest are the caller's to set).</summary>
    public DatasetStats Complete()
    {
        if (!_completed)
        {
            Seal();
            _thread.Join();
            _completed = true;
        }

        _cancel.ThrowIfCancellationRequested();
        _error?.Throw();
        return _stats.Finish(_cancel);
    }

    private void Send()
    {
        _full.Add(_current!);
        _current = null;
    }

    private void Run()
    {
        // Lines with embedded images are large-object garbage here and in the build beside it (the chunk that carried them,
        // their parse, the build's own buffers): collected every 4 MB of them, as the Parquet writer does.
        var garbage = new Json.LargeGarbage(4L << 20);
        while (_full.TryTake(out var chunk))
        {
            if (_error is null && !_cancel.IsCancellationRequested)
            {
                try
                {
                    foreach (var (start, length, shard, number) in chunk.Lines)
                    {
                        if (shard != _labelShard)
                        {
                            (_labelShard, _label) = (shard, $"shard {shard}");
                        }

                        if (_fast?.Read(chunk.Bytes.AsSpan(start, length), number) is { } view)
                        {
                            _stats.Add(view);
                        }
                        else
                        {
                            StatsReader.AddLine(_stats, chunk.Bytes.AsMemory(start, length), _format, new LineOrigin(_label, number), _options, _label, written: true);
                        }

                        garbage.AddLine(length);
                    }
                }
                catch (Exception ex)
                {
                    // Kept for Complete; the lines that follow are only drained, so the writer never waits on a dead worker.
                    _error = ExceptionDispatchInfo.Capture(ex);
                }
            }

            chunk.Reset();
            _free.Add(chunk);
        }

        if (_sealed && _error is null && !_cancel.IsCancellationRequested)
        {
            try
            {
                _stats.Finish(_cancel);
                FinishedHere = true;
            }
            catch (Exception ex)
            {
                _error = ExceptionDispatchInfo.Capture(ex);
            }
        }
    }

    public void Dispose()
    {
        if (!_completed)
        {
            _full.Complete();
            _thread.Join();
            _completed = true;
        }
    }

    private sealed class Chunk
    {
        private readonly byte[] _pooled = new byte[ChunkBytes];
        private int _used;

        public Chunk() => Bytes = _pooled;

        public byte[] Bytes { get; private set; }

        public List<(int Start, int Length, long Shard, long Number)> Lines { get; } = new(1024);

        public bool Fits(int length) => _used + length <= Bytes.Length;

        public void Append(ReadOnlySpan<byte> line, long shard, long number)
        {
            if (_used == 0 && line.Length > Bytes.Length)
            {
                // A line longer than a pooled chunk (embedded images) travels alone in an array of its size.
                Bytes = new byte[line.Length];
            }

            line.CopyTo(Bytes.AsSpan(_used));
            Lines.Add((_used, line.Length, shard, number));
            _used += line.Length;
        }

        public void Reset()
        {
            Bytes = _pooled;
            _used = 0;
            Lines.Clear();
        }
    }
}
