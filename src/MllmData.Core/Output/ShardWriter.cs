using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace MllmData.Output;

/// <summary>A finished shard as listed in the manifest.</summary>
public sealed record ShardInfo(string Path, long Records, long Bytes, string Sha256);

/// <summary>
/// Writes JSON lines into shards bounded by records and bytes. Shards are written under temporary names
/// and only renamed to <c>&lt;name&gt;-00000-of-00004.jsonl</c> once the run completes, so a failed or
/// killed run never leaves a partial shard under a final name.
/// </summary>
public sealed partial class ShardWriter : IDisposable
{
    private readonly string _dir;
    private readonly string _name;
    private readonly long _maxRecords;
    private readonly long _maxBytes;
    private readonly List<(string Temp, long Records, long Bytes, string Sha)> _done = [];
    private FileStream? _current;
    private IncrementalHash? _hash;
    private string? _currentTemp;
    private long _records;
    private long _bytes;
    private bool _completed;

    public ShardWriter(string dir, string name, long maxRecords, long maxBytes = 0)
    {
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
        _maxBytes = maxBytes;
        Directory.CreateDirectory(dir);
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex SafeName();

    public long Records { get; private set; }

    /// <summary>Appends one line, which must end with its newline.</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        var size = line.Length;
        if (_current is not null && (_records >= _maxRecords || (_maxBytes > 0 && _records > 0 && _bytes + size > _maxBytes)))
        {
            CloseCurrent();
        }

        if (_current is null)
        {
            _currentTemp = Path.Combine(_dir, $".{_name}-{_done.Count:D5}.jsonl.tmp");
            _current = new FileStream(_currentTemp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }

        _current.Write(line);
        _hash!.AppendData(line);
        _records++;
        _bytes += size;
        Records++;
    }

    private void CloseCurrent()
    {
        if (_current is null)
        {
            return;
        }

        _current.Flush(flushToDisk: true);
        _current.Dispose();
        _done.Add((_currentTemp!, _records, _bytes, Convert.ToHexStringLower(_hash!.GetHashAndReset())));
        _hash.Dispose();
        _current = null;
        _hash = null;
        _records = 0;
        _bytes = 0;
    }

    /// <summary>Closes the last shard and gives every shard its final name; removes shards of an earlier run of the same name.</summary>
    public IReadOnlyList<ShardInfo> Complete()
    {
        CloseCurrent();
        var total = _done.Count;
        var result = new List<ShardInfo>(total);
        var finals = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < total; i++)
        {
            var final = string.Create(CultureInfo.InvariantCulture, $"{_name}-{i:D5}-of-{total:D5}.jsonl");
            finals.Add(final);
            File.Move(_done[i].Temp, Path.Combine(_dir, final), overwrite: true);
            result.Add(new ShardInfo(final, _done[i].Records, _done[i].Bytes, _done[i].Sha));
        }

        foreach (var stale in Directory.EnumerateFiles(_dir, $"{_name}-*-of-*.jsonl"))
        {
            if (!finals.Contains(Path.GetFileName(stale)) && StaleShard().IsMatch(Path.GetFileName(stale)[_name.Length..]))
            {
                File.Delete(stale);
            }
        }

        _completed = true;
        return result;
    }

    [GeneratedRegex(@"^-\d{5}-of-\d{5}\.jsonl$")]
    private static partial Regex StaleShard();

    /// <summary>Deletes every temporary shard; nothing of this run remains.</summary>
    public void Abort()
    {
        _current?.Dispose();
        _hash?.Dispose();
        _current = null;
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
        if (!_completed)
        {
            Abort();
        }
    }
}
