using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace MllmData.Output;

/// <summary>A finished shard as listed in the manifest.</summary>
public sealed record ShardInfo(string Path, long Records, long Bytes, string Sha256);

/// <summary>Limits of a consumer's upload (e.g. OpenAI's 512 MB and 50,000 image examples per file) that shards are split before.</summary>
public sealed record ShardLimits(long MaxBytes, long MaxImageRecords, string Reason);

/// <summary>
/// Writes records into shards bounded by records and bytes (and a consumer's upload limits), as JSON lines or
/// as one JSON list per shard. Shards are written under temporary names in the build's staging folder and
/// given their final names <c>&lt;name&gt;-00000-of-00004.jsonl</c> when the run completes.
/// </summary>
public sealed partial class ShardWriter : IDisposable
{
    private readonly string _dir;
    private readonly string _name;
    private readonly long _maxRecords;
    private readonly long _maxBytes;
    private readonly ShardLimits? _upload;
    private readonly bool _jsonList;
    private readonly ParquetSettings? _parquet;
    private ParquetShardFile? _parquetFile;
    private readonly List<Finished> _done = [];
    private readonly ResumeJournal? _journal;

    /// <summary>Bytes gathered before they are written in one piece (a line at a time costs a call per line).</summary>
    private const int ChunkBytes = 1 << 20;

    private readonly byte[] _chunk = new byte[ChunkBytes];
    private int _chunkUsed;
    private Stream? _current;
    private HeldShard? _held;
    private IncrementalHash? _hash;
    private string? _currentTemp;
    private long _records;
    private long _imageRecords;
    private long _bytes;
    private bool _completed;

    /// <summary>
    /// The closed shards' way to the disk, one after another on the thread pool: each is flushed to disk, closed, hashed
    /// from its file and (with a journal) noted as finished. The build goes on meanwhile (the flush of a 60 MB shard held
    /// a VQAv2 build for 40 ms, five times, and hashing as it wrote took 4 % of the build thread); <see cref="Complete"/>
    /// waits for all of them.
    /// </summary>
    private Task _durable = Task.CompletedTask;

    /// <remarks>
    /// With a <paramref name="journal"/>, every finished shard is noted in it, and a shard an interrupted run finished
    /// (held by the journal) is not written again: its records are rendered as before and only hashed, and when the
    /// hash is the held file's, that file takes the shard's place.
    /// </remarks>
    public ShardWriter(string dir, string name, long maxRecords, long maxBytes = 0, string container = "jsonl", ShardLimits? upload = null, ParquetSettings? parquet = null, ResumeJournal? journal = null)
    {
        if (container == "parquet" && parquet is null)
        {
            throw new ArgumentException("parquet shards need the format's layout", nameof(parquet));
        }

        if (maxRecords <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRecords), "shard record limit must be positive");
        }

        if (!SafeName().IsMatch(name))
        {
            throw new ArgumentException($"dataset name '{name}' may use only letters, digits, '.', '_' and '-'", nameof(name));
        }

        _dir = dir;
        _name = name;
        _maxRecords = maxRecords;
        _upload = upload;
        _journal = journal;
        _maxBytes = upload is null ? maxBytes : maxBytes > 0 ? Math.Min(maxBytes, upload.MaxBytes) : upload.MaxBytes;
        _jsonList = container == "json";
        _parquet = container == "parquet" ? parquet : null;
        Extension = ExtensionOf(container);
        Directory.CreateDirectory(dir);
    }

    /// <summary>Names a shard can have (no path separators, spaces or leading dots).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    public static partial Regex SafeName();

    public string Extension { get; }

    /// <summary>The file extension of shards in <paramref name="container"/>.</summary>
    public static string ExtensionOf(string container) => container switch
    {
        "parquet" => ".parquet",
        "json" => ".json",
        _ => ".jsonl",
    };

    public long Records { get; private set; }

    /// <summary>The shard the last line went to (from 0) and that line's number in it (from 1).</summary>
    public (long Shard, long Line) LastLine => (_done.Count, _records);

    /// <summary>Why shards were split, beyond the record bound: null, "bytes", or the upload limits' reason.</summary>
    public string? SplitReason { get; private set; }

    /// <summary>
    /// Appends one record, which must end with its newline; <paramref name="hasImages"/> counts against upload limits.
    /// In a Parquet shard the record becomes a row, and its size is its strings' and images' bytes.
    /// </summary>
    public void WriteLine(ReadOnlySpan<byte> line, bool hasImages = false)
    {
        if (_parquet is not null)
        {
            WriteRow(line, hasImages);
            return;
        }

        var size = line.Length + (_jsonList ? 2 : 0);
        if (_current is not null)
        {
            CloseIfFull(size, hasImages);
        }

        if (_current is null)
        {
            _currentTemp = Path.Combine(_dir, $".{_name}-{_done.Count:D5}{Extension}.tmp");
            _held = _journal?.Held(_done.Count);
            _current = _held is null ? new FileStream(_currentTemp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0) : Stream.Null;
            // A held shard is only hashed, to be compared with the interrupted run's; a written one is hashed from its file once on disk.
            _hash = _held is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            if (_jsonList)
            {
                Append("["u8);
            }
        }

        if (_jsonList)
        {
            Append(_records == 0 ? "\n"u8 : ",\n"u8);
            Append(line[..^1]);
        }
        else
        {
            Append(line);
        }

        _records++;
        _imageRecords += hasImages ? 1 : 0;
        Records++;
    }

    private void WriteRow(ReadOnlySpan<byte> line, bool hasImages)
    {
        // A row's size is its strings' and images' bytes (the shard's size before compression and encoding).
        var (row, size) = ParquetShardFile.ToRow(_parquet!, line);
        if (_parquetFile is not null)
        {
            CloseIfFull(size, hasImages);
        }

        if (_parquetFile is null)
        {
            _currentTemp = Path.Combine(_dir, $".{_name}-{_done.Count:D5}{Extension}.tmp");
            _parquetFile = new ParquetShardFile(_currentTemp, _parquet!);
        }

        _parquetFile.Add(row, size);
        _bytes += size;
        _records++;
        _imageRecords += hasImages ? 1 : 0;
        Records++;
    }

    /// <summary>Closes the open shard when a record of <paramref name="size"/> bytes would break one of its bounds, noting why.</summary>
    private void CloseIfFull(long size, bool hasImages)
    {
        var byRecords = _records >= _maxRecords;
        var byBytes = _maxBytes > 0 && _records > 0 && _bytes + size > _maxBytes;
        var byImages = hasImages && _upload is not null && _imageRecords >= _upload.MaxImageRecords;
        if (byRecords || byBytes || byImages)
        {
            if (!byRecords)
            {
                SplitReason = _upload is not null && (byImages || _bytes + size > _upload.MaxBytes) ? _upload.Reason : "bytes";
            }

            CloseCurrent();
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        _bytes += bytes.Length;
        if (_chunkUsed + bytes.Length > ChunkBytes)
        {
            WriteChunk();
            if (bytes.Length > ChunkBytes)
            {
                _hash?.AppendData(bytes);
                _current!.Write(bytes);
                return;
            }
        }

        bytes.CopyTo(_chunk.AsSpan(_chunkUsed));
        _chunkUsed += bytes.Length;
    }

    private void WriteChunk()
    {
        var chunk = _chunk.AsSpan(0, _chunkUsed);
        _hash?.AppendData(chunk);
        _current!.Write(chunk);
        _chunkUsed = 0;
    }

    private void CloseCurrent()
    {
        if (_parquetFile is not null)
        {
            // Parquet shards are not journalled: a resume writes them again (the row groups are appended by reading the file back).
            var (size, parquetSha) = _parquetFile.Close();
            _done.Add(new Finished(_currentTemp!, _records, size) { Sha = parquetSha });
            _parquetFile = null;
            _records = 0;
            _imageRecords = 0;
            _bytes = 0;
            return;
        }

        if (_current is null)
        {
            return;
        }

        if (_jsonList)
        {
            Append("\n]\n"u8);
        }

        WriteChunk();
        var file = _current;
        _current = null;
        var finished = new Finished(_currentTemp!, _records, _bytes);
        if (_held is { } held)
        {
            var sha = Convert.ToHexStringLower(_hash!.GetHashAndReset());
            _hash.Dispose();
            _hash = null;
            finished.Sha = sha;
            _held = null;
            file.Dispose();
            if (sha != held.Sha256)
            {
                throw new OutputException(Path.GetDirectoryName(Path.GetDirectoryName(_dir))!, string.Create(CultureInfo.InvariantCulture, $"--resume: shard {_done.Count} of the interrupted run (sha256 {held.Sha256}, {held.Records} records) differs from what this run makes (sha256 {sha}, {_records} records); an input or a template changed since. Run again without --resume"), null);
            }

            File.Move(held.Path, _currentTemp!, overwrite: true);
            _journal!.ShardReused();
            _journal.ShardDone(_done.Count, _currentTemp!, _records, _bytes, sha);
        }
        else
        {
            // Hashed as it is on disk, then noted as finished (the journal's entry names a shard that is whole).
            var (journal, index) = (_journal, _done.Count);
            ToDisk(file, () =>
            {
                finished.Sha = HashFile(finished.Temp);
                journal?.ShardDone(index, finished.Temp, finished.Records, finished.Bytes, finished.Sha);
            });
        }

        _done.Add(finished);
        _records = 0;
        _imageRecords = 0;
        _bytes = 0;
    }

    /// <summary>Flushes a closed shard's file to disk and closes it after those before it, then does <paramref name="done"/>; a failure is given to <see cref="Complete"/>.</summary>
    private void ToDisk(Stream file, Action done)
    {
        if (_durable.IsFaulted)
        {
            // An earlier shard could not be put on disk: the run stops at this close, not at the end.
            file.Dispose();
            WaitDurable();
        }

        _durable = _durable.ContinueWith(
            before =>
            {
                try
                {
                    before.GetAwaiter().GetResult(); // a shard before this one failed: so does this one
                    (file as FileStream)?.Flush(flushToDisk: true);
                }
                finally
                {
                    file.Dispose();
                }

                done();
            },
            CancellationToken.None,
            TaskContinuationOptions.DenyChildAttach,
            TaskScheduler.Default);
    }

    /// <summary>The sha256 of a closed shard's file (a test gives another, to fail the way to the disk).</summary>
    internal Func<string, string> HashFile { get; init; } = Sha256Of;

    private static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>A closed shard: its staged file, counts, and sha256 (known once it is on disk).</summary>
    private sealed class Finished(string temp, long records, long bytes)
    {
        public string Temp { get; } = temp;

        public long Records { get; } = records;

        public long Bytes { get; } = bytes;

        public string Sha { get; set; } = string.Empty;
    }

    /// <summary>Waits for the closed shards to be on disk; with <paramref name="quietly"/>, a failure there is left to whoever reports the run's own.</summary>
    private void WaitDurable(bool quietly = false)
    {
        try
        {
            _durable.GetAwaiter().GetResult();
        }
        catch (Exception) when (quietly)
        {
        }
    }

    /// <summary>Closes the last shard and gives every shard its final name; paths are given relative to <paramref name="relativeTo"/>.</summary>
    public IReadOnlyList<ShardInfo> Complete(string? relativeTo = null)
    {
        CloseCurrent();
        WaitDurable();
        var total = _done.Count;
        var result = new List<ShardInfo>(total);
        for (var i = 0; i < total; i++)
        {
            var final = string.Create(CultureInfo.InvariantCulture, $"{_name}-{i:D5}-of-{total:D5}{Extension}");
            var path = Path.Combine(_dir, final);
            File.Move(_done[i].Temp, path, overwrite: true);
            var listed = relativeTo is null ? final : Path.GetRelativePath(relativeTo, path).Replace('\\', '/');
            result.Add(new ShardInfo(listed, _done[i].Records, _done[i].Bytes, _done[i].Sha));
        }

        _completed = true;
        return result;
    }

    /// <summary>Deletes every temporary shard; nothing of this run remains.</summary>
    public void Abort()
    {
        WaitDurable(quietly: true);
        _current?.Dispose();
        _hash?.Dispose();
        _parquetFile?.Dispose();
        _parquetFile = null;
        _current = null;
        _chunkUsed = 0;
        if (_currentTemp is not null)
        {
            TryDelete(_currentTemp);
        }

        foreach (var d in _done)
        {
            TryDelete(d.Temp);
        }

        _done.Clear();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    public void Dispose()
    {
        if (_completed)
        {
            return;
        }

        if (_journal is null)
        {
            Abort();
            return;
        }

        // A journalled run leaves its finished shards to the output folder: removed with the staging folder when the
        // run failed, kept for --resume when it was cancelled.
        WaitDurable(quietly: true);
        _current?.Dispose();
        _hash?.Dispose();
        _current = null;
    }
}
