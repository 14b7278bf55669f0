using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Parts;

/// <summary>What one event of a part is: a rendered record line, or a reject.</summary>
public enum PartEventKind
{
    Line,
    Reject,
}

/// <summary>
/// Writes a worker's events to <c>part.jsonl</c> (temporary name until complete): one line per event,
/// <c>SEQ TAB L|R TAB FLAGS TAB PAYLOAD</c>, where SEQ is the event's place in the single-process run, a line's payload
/// is the record exactly as a shard holds it, and a reject's payload is its rejects.jsonl line. Events come in
/// increasing SEQ, so a merge of all parts by SEQ gives the single run's order.
/// </summary>
public sealed class PartWriter : IDisposable
{
    public const string EventsFile = "part.jsonl";

    private readonly string _final;
    private readonly string _temp;
    private readonly FileStream _stream;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _json;
    private long _last = -1;
    private bool _completed;

    public PartWriter(string dir)
    {
        Directory.CreateDirectory(dir);
        _final = Path.Combine(dir, EventsFile);
        _temp = Path.Combine(dir, "." + EventsFile + ".tmp");
        _stream = new FileStream(_temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public long Events { get; private set; }

    public long Records { get; private set; }

    public long RecordsWithImages { get; private set; }

    public long Rejects { get; private set; }

    /// <summary>A rendered record; <paramref name="line"/> ends with its newline, as the shard writer takes it.</summary>
    public void Line(long seq, ReadOnlySpan<byte> line, bool hasImages, string flags = "-")
    {
        Head(seq, hasImages ? "L" : "l", flags);
        Append(line);
        Records++;
        RecordsWithImages += hasImages ? 1 : 0;
    }

    /// <summary>A reject; <paramref name="flags"/> <c>rel</c> marks a file path the merge makes relative to its output.</summary>
    public void Reject(long seq, Reject reject, string flags = "-")
    {
        Head(seq, "R", flags);
        _buffer.ResetWrittenCount();
        _json.Reset();
        RejectJson.Write(_json, reject);
        _json.Flush();
        Append(_buffer.WrittenSpan);
        Append("\n"u8);
        Rejects++;
    }

    private void Head(long seq, string kind, string flags)
    {
        if (seq <= _last)
        {
            throw new InvalidOperationException($"part events out of order: {seq} after {_last}");
        }

        _last = seq;
        Append(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{seq}\t{kind}\t{flags}\t")));
        Events++;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _hash.AppendData(bytes);
    }

    /// <summary>Gives the events their staged final name; the sha256 of the file.</summary>
    public string Complete()
    {
        _json.Dispose();
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_temp, _final, overwrite: true);
        _completed = true;
        return Convert.ToHexStringLower(_hash.GetHashAndReset());
    }

    public void Dispose()
    {
        _hash.Dispose();
        if (_completed)
        {
            return;
        }

        _json.Dispose();
        _stream.Dispose();
        File.Delete(_temp);
    }
}

/// <summary>The JSON shape of a reject line (the same as <see cref="Output.RejectWriter"/> writes).</summary>
public static class RejectJson
{
    public static void Write(Utf8JsonWriter w, Reject reject)
    {
        w.WriteStartObject();
        w.WriteString("source", reject.Source);
        w.WriteString("file", reject.File);
        w.WriteString("position", reject.Position);
        w.WriteString("reason", reject.Reason);
        w.WriteString("detail", reject.Detail);
        w.WriteEndObject();
    }

    public static Reject Read(ReadOnlySpan<byte> json)
    {
        var r = new Utf8JsonReader(json);
        string? source = null, file = null, position = null, reason = null, detail = null;
        r.Read();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var name = r.GetString();
            r.Read();
            var value = r.GetString();
            switch (name)
            {
                case "source": source = value; break;
                case "file": file = value; break;
                case "position": position = value; break;
                case "reason": reason = value; break;
                case "detail": detail = value; break;
            }
        }

        return new Reject(source ?? string.Empty, file ?? string.Empty, position ?? string.Empty, reason ?? string.Empty, detail ?? string.Empty);
    }
}

/// <summary>One event read back from a part.</summary>
public readonly record struct PartEvent(long Seq, PartEventKind Kind, bool HasImages, string Flags, ReadOnlyMemory<byte> Payload);

/// <summary>Reads a part's events in order, one line in memory at a time, and checks the file's sha256 at its end.</summary>
public sealed class PartEventReader : IDisposable
{
    private readonly string _path;
    private readonly string _sha;
    private readonly FileStream _stream;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _chunk = new byte[1 << 16];
    private byte[] _line = new byte[1 << 12];
    private int _chunkLength;
    private int _chunkAt;
    private long _lineNo;
    private long _last = -1;

    public PartEventReader(string path, string sha256)
    {
        _path = path;
        _sha = sha256;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
    }

    public long Events => _lineNo;

    /// <summary>The next event, or null at the end (where the checksum is verified).</summary>
    public PartEvent? Next()
    {
        var length = 0;
        while (true)
        {
            if (_chunkAt == _chunkLength)
            {
                _chunkLength = _stream.Read(_chunk);
                _chunkAt = 0;
                if (_chunkLength == 0)
                {
                    if (length > 0)
                    {
                        throw Bad("the last line has no newline (a truncated file)");
                    }

                    var sha = Convert.ToHexStringLower(_hash.GetHashAndReset());
                    return sha == _sha ? null : throw Bad($"sha256 {sha}, but part.json says {_sha}: the file changed since its worker finished");
                }

                _hash.AppendData(_chunk.AsSpan(0, _chunkLength));
            }

            var span = _chunk.AsSpan(_chunkAt, _chunkLength - _chunkAt);
            var nl = span.IndexOf((byte)'\n');
            var take = nl < 0 ? span.Length : nl + 1;
            if (length + take > _line.Length)
            {
                Array.Resize(ref _line, Math.Max(_line.Length * 2, length + take));
            }

            span[..take].CopyTo(_line.AsSpan(length));
            length += take;
            _chunkAt += take;
            if (nl >= 0)
            {
                break;
            }
        }

        _lineNo++;
        return Parse(length);
    }

    private PartEvent Parse(int length)
    {
        var line = _line.AsSpan(0, length);
        var t1 = line.IndexOf((byte)'\t');
        var t2 = t1 < 0 ? -1 : line[(t1 + 1)..].IndexOf((byte)'\t') + t1 + 1;
        var t3 = t2 <= t1 ? -1 : line[(t2 + 1)..].IndexOf((byte)'\t') + t2 + 1;
        if (t1 <= 0 || t2 <= t1 || t3 <= t2 || !long.TryParse(line[..t1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            throw Bad("not a part event line");
        }

        if (seq <= _last)
        {
            throw Bad($"event {seq} comes after {_last}");
        }

        _last = seq;
        var kind = Encoding.ASCII.GetString(line[(t1 + 1)..t2]);
        var flags = Encoding.UTF8.GetString(line[(t2 + 1)..t3]);
        var payload = new ReadOnlyMemory<byte>(_line, t3 + 1, length - t3 - 1);
        return kind switch
        {
            "L" => new PartEvent(seq, PartEventKind.Line, true, flags, payload),
            "l" => new PartEvent(seq, PartEventKind.Line, false, flags, payload),
            "R" => new PartEvent(seq, PartEventKind.Reject, false, flags, payload[..^1]),
            _ => throw Bad($"unknown event kind '{kind}'"),
        };
    }

    private InputDataException Bad(string why) => new(_path, $"line {_lineNo + 1}", "bad-part", why);

    public void Dispose()
    {
        _stream.Dispose();
        _hash.Dispose();
    }
}
