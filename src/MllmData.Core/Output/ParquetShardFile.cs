using System.Security.Cryptography;
using System.Text.Json;
using MllmData.Json;
using Parquet;
using Parquet.Serialization;

namespace MllmData.Output;

/// <summary>How Parquet shards are written: the format's layout and the row-group bounds.</summary>
public sealed record ParquetSettings(ParquetLayout Layout, long RowGroupRecords = ParquetSettings.DefaultRowGroupRecords, long RowGroupBytes = ParquetSettings.DefaultRowGroupBytes)
{
    /// <summary>Rows per row group unless set (<c>row_group_records</c>).</summary>
    public const long DefaultRowGroupRecords = 1000;

    /// <summary>
    /// String and image bytes per row group unless set (<c>row_group_bytes</c>): 16 MiB. Parquet.Net's untyped writer and reader
    /// use about ten times a group's bytes while they encode or decode it (measured: 64 MiB groups of coco-mini images peaked at
    /// 800 MB, 16 MiB ones at 380 MB).
    /// </summary>
    public const long DefaultRowGroupBytes = 16L << 20;

    /// <summary>Snappy: every Parquet reader has it (hyparquet without its extra codecs package too), and it is deterministic.</summary>
    public static readonly ParquetOptions Options = new() { CompressionMethod = CompressionMethod.Snappy };
}

/// <summary>
/// One Parquet shard being written: rows are buffered up to one row group (bounded by rows and by bytes) and each
/// full group is appended to the file, so memory holds one row group whatever the shard's size.
/// </summary>
internal sealed class ParquetShardFile : IDisposable
{
    private readonly ParquetSettings _settings;
    private readonly FileStream _file;
    private readonly List<IDictionary<string, object?>> _rows = [];
    private long _groupBytes;
    private int _groups;

    public ParquetShardFile(string path, ParquetSettings settings)
    {
        _settings = settings;
        _file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    /// <summary>The row of one rendered JSON record, and its size (its strings' and images' bytes).</summary>
    public static (Dictionary<string, object?> Row, long Bytes) ToRow(ParquetSettings settings, ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        using var doc = JsonDocument.ParseValue(ref reader);
        return settings.Layout.ToRow(doc.RootElement);
    }

    /// <summary>Adds one row; a full row group is written first.</summary>
    public void Add(Dictionary<string, object?> row, long bytes)
    {
        if (_rows.Count > 0 && (_rows.Count >= _settings.RowGroupRecords || (_settings.RowGroupBytes > 0 && _groupBytes + bytes > _settings.RowGroupBytes)))
        {
            FlushGroup();
        }

        _rows.Add(row);
        _groupBytes += bytes;
    }

    private void FlushGroup()
    {
        if (_rows.Count == 0)
        {
            return;
        }

        var options = new ParquetOptions { CompressionMethod = ParquetSettings.Options.CompressionMethod, Append = _groups > 0 };
        _file.Position = 0;
        ParquetSerializer.SerializeUntypedAsync(_rows, _settings.Layout.Schema, _file, options, _settings.Layout.Metadata).GetAwaiter().GetResult();
        _groups++;
        _rows.Clear();

        // A group of embedded images leaves its bytes (rows, the lines they came from, encoder buffers) as large-object
        // garbage: collected every 4 MB of it, so writing holds about one row group whatever the number of images.
        _garbage.Add(_groupBytes);
        _groupBytes = 0;
    }

    /// <summary>Row bytes written between two collections.</summary>
    private readonly LargeGarbage _garbage = new(4L << 20);

    /// <summary>Writes the last row group and closes the file; returns its size and sha256.</summary>
    public (long Bytes, string Sha256) Close()
    {
        FlushGroup();
        _file.Flush(flushToDisk: true);
        _file.Position = 0;
        var sha = Convert.ToHexStringLower(SHA256.HashData(_file));
        var length = _file.Length;
        _file.Dispose();
        return (length, sha);
    }

    public void Dispose() => _file.Dispose();
}
