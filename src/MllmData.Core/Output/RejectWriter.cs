using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Records;

namespace MllmData.Output;

/// <summary>Collects rejects into <c>rejects.jsonl</c> (temporary name until the run completes) and counts them by reason.</summary>
public sealed class RejectWriter : IDisposable
{
    private readonly string _final;
    private readonly string _temp;
    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _writer;
    private readonly SortedDictionary<string, long> _byReason = new(StringComparer.Ordinal);
    private bool _completed;

    public RejectWriter(string dir)
    {
        Directory.CreateDirectory(dir);
        _final = Path.Combine(dir, "rejects.jsonl");
        _temp = Path.Combine(dir, ".rejects.jsonl.tmp");
        _stream = new FileStream(_temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 14);
        _writer = new Utf8JsonWriter(_stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public long Count { get; private set; }

    public IReadOnlyDictionary<string, long> ByReason => _byReason;

    public void Write(Reject reject)
    {
        _writer.WriteStartObject();
        _writer.WriteString("source", reject.Source);
        _writer.WriteString("file", reject.File);
        _writer.WriteString("position", reject.Position);
        _writer.WriteString("reason", reject.Reason);
        _writer.WriteString("detail", reject.Detail);
        _writer.WriteEndObject();
        _writer.Flush();
        _stream.WriteByte((byte)'\n');
        _writer.Reset();
        Count++;
        _byReason[reject.Reason] = _byReason.TryGetValue(reject.Reason, out var n) ? n + 1 : 1;
    }

    public void Complete()
    {
        _writer.Dispose();
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_temp, _final, overwrite: true);
        _completed = true;
    }

    public void Dispose()
    {
        if (_completed)
        {
            return;
        }

        _writer.Dispose();
        _stream.Dispose();
        File.Delete(_temp);
    }
}
