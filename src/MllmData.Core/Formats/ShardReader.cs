using System.Text.Json.Nodes;
using MllmData.Json;
using MllmData.Output;
using Parquet;
using Parquet.Serialization;

namespace MllmData.Formats;

/// <summary>Reads back the records of a built shard, JSON lines, one JSON list or Parquet rows, one at a time.</summary>
public static class ShardReader
{
    /// <summary>Each record with its 1-based number in the shard (its line in a JSONL shard, its row in a Parquet one).</summary>
    public static IEnumerable<(JsonObject Record, long Number)> Records(string path)
    {
        if (path.EndsWith(".parquet", StringComparison.Ordinal))
        {
            foreach (var row in ParquetRows(path))
            {
                yield return (row.Record, row.Number);
            }

            yield break;
        }

        if (path.EndsWith(".json", StringComparison.Ordinal))
        {
            using var stream = File.OpenRead(path);
            foreach (var item in JsonElements.Read(stream, path, JsonLayout.TopLevelArray))
            {
                using (item)
                {
                    if (!item.Parsed)
                    {
                        throw new InputDataException(path, item.Where("records"), JsonErrors.IsDoubledKey(item.Error) ? "duplicate-key" : "bad-json", item.Error!);
                    }

                    var node = item.IsObject ? JsonObject.Create(item.Element.Clone()) : null;
                    yield return (node ?? throw new InputDataException(path, item.Where("records"), "not-object", "a shard record is not a JSON object"), item.Index + 1);
                }
            }

            yield break;
        }

        long lineNo = 0;
        foreach (var text in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonObject? line;
            try
            {
                // A key written twice would make the node tree throw when first touched: it is refused here, by name.
                using var doc = JsonRecord.Parse(System.Text.Encoding.UTF8.GetBytes(text), out var doubled);
                line = doc is null
                    ? throw new InputDataException(path, $"line {lineNo}", "duplicate-key", doubled!)
                    : doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object ? JsonObject.Create(doc.RootElement.Clone()) : null;
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new InputDataException(path, $"line {lineNo}", "bad-json", JsonErrors.InWords(ex));
            }

            yield return (line ?? throw new InputDataException(path, $"line {lineNo}", "not-object", "a shard line is not a JSON object"), lineNo);
        }
    }

    /// <summary>The layout a Parquet shard was written with, found from the format its metadata names.</summary>
    public static ParquetLayout Layout(string path)
    {
        using var stream = File.OpenRead(path);
        return Header(stream, path).Layout;
    }

    /// <summary>The layout and the size of each row group, from the file's footer.</summary>
    private static (ParquetLayout Layout, IReadOnlyList<long> RowGroupBytes) Header(Stream stream, string path)
    {
        ParquetReader reader;
        try
        {
            reader = ParquetReader.CreateAsync(stream, leaveStreamOpen: true).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new InputDataException(path, "-", "bad-parquet", $"not a readable Parquet file: {ex.Message}");
        }

        try
        {
            return (Layout(reader, path), [.. reader.Metadata!.RowGroups.Select(g => g.TotalByteSize)]);
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static ParquetLayout Layout(ParquetReader reader, string path)
    {
        var meta = reader.CustomMetadata;
        if (!meta.TryGetValue(ParquetLayout.FormatKey, out var name) || FormatRegistry.All.FirstOrDefault(f => f.Name == name) is not { } format
            || format.ParquetColumns is not { } columns)
        {
            throw new InputDataException(path, "-", "bad-parquet", $"not an mllmdata Parquet shard: its metadata names no known format ({ParquetLayout.FormatKey})");
        }

        return new ParquetLayout(format.Name, columns, meta.TryGetValue(ParquetLayout.ImagesKey, out var images) && images == "embed");
    }

    /// <summary>Each row of a Parquet shard as the format's JSON record, with its embedded images (path and bytes) if any; one row group in memory at a time.</summary>
    public static IEnumerable<(JsonObject Record, long Number, IReadOnlyList<(string? Path, byte[]? Bytes)> Images)> ParquetRows(string path)
    {
        using var stream = File.OpenRead(path);
        var (layout, groups) = Header(stream, path);
        long number = 0;
        long garbage = 0;
        for (var g = 0; g < groups.Count; g++)
        {
            // Rows of embedded images leave megabytes of large-object garbage each (bytes, base64 text, the JSON made of it):
            // collect every 4 MB of row groups read, so reading holds about one row group whatever the shard's size.
            if ((garbage += groups[g]) >= 4L << 20)
            {
                garbage = 0;
                System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect();
            }

            stream.Position = 0;
            var rows = ParquetSerializer.DeserializeUntypedAsync(stream, null, g).GetAwaiter().GetResult().Data;
            foreach (var row in rows)
            {
                number++;
                var images = new List<(string? Path, byte[]? Bytes)>();
                var record = layout.FromRow(row!, images);
                yield return (record, number, images);
            }
        }
    }
}
