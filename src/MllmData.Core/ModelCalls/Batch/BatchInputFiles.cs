using System.Text.Json;

namespace MllmData.ModelCalls.Batch;

/// <summary>One Batch input file: its lines, bytes and token estimate.</summary>
public sealed record BatchInputFile(string Path, int Requests, long Bytes, long PromptTokens, long MaxOutputTokens);

/// <summary>
/// Where each line goes: a new file starts when the current one holds <see cref="BatchLimits.MaxRequestsPerFile"/>
/// lines, or when the next line would take it past <see cref="BatchLimits.MaxBytesPerFile"/> (newline included).
/// A line that alone is larger than a file may be cannot be sent in a batch at all.
/// </summary>
public sealed class BatchSplit(BatchLimits limits)
{
    private int _requests;
    private long _bytes;

    /// <summary>Files started so far.</summary>
    public int Files { get; private set; }

    public long Requests { get; private set; }

    public long Bytes { get; private set; }

    /// <summary>Places a line of <paramref name="lineBytes"/> bytes; true when it starts a new file.</summary>
    public bool Place(long lineBytes)
    {
        if (lineBytes > limits.MaxBytesPerFile)
        {
            throw new BatchLineTooLargeException(lineBytes, limits.MaxBytesPerFile);
        }

        var fresh = Files == 0 || _requests >= limits.MaxRequestsPerFile || _bytes + lineBytes > limits.MaxBytesPerFile;
        if (fresh)
        {
            Files++;
            _requests = 0;
            _bytes = 0;
        }

        _requests++;
        _bytes += lineBytes;
        Requests++;
        Bytes += lineBytes;
        return fresh;
    }
}

/// <summary>A request whose batch line is larger than a whole Batch input file may be.</summary>
public sealed class BatchLineTooLargeException : Exception
{
    public BatchLineTooLargeException(long bytes, long limit)
        : base($"a batch line of {bytes} bytes is larger than the {limit}-byte limit of one batch input file")
    {
    }

    public BatchLineTooLargeException()
    {
    }

    public BatchLineTooLargeException(string message)
        : base(message)
    {
    }

    public BatchLineTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Writes batch lines (<c>{"custom_id","method","url","body"}</c>) into numbered JSONL files split by <see cref="BatchSplit"/>.</summary>
public sealed class BatchInputWriter : IDisposable
{
    private readonly string _folder;
    private readonly string _prefix;
    private readonly string _url;
    private readonly BatchSplit _split;
    private readonly List<BatchInputFile> _files = [];
    private FileStream? _current;
    private string? _currentPath;
    private int _requests;
    private long _bytes;
    private long _prompt;
    private long _output;

    /// <param name="folder">Where the files go.</param>
    /// <param name="prefix">File name prefix, e.g. <c>input-r1</c>: files are <c>input-r1-0001.jsonl</c> and on.</param>
    /// <param name="url">The request URL of every line.</param>
    /// <param name="limits">The provider's per-file limits.</param>
    public BatchInputWriter(string folder, string prefix, string url, BatchLimits limits)
    {
        _folder = folder;
        _prefix = prefix;
        _url = url;
        _split = new BatchSplit(limits);
        Directory.CreateDirectory(folder);
    }

    public long Requests => _split.Requests;

    /// <summary>One line: the request key as <c>custom_id</c>, and the body exactly as the SDK would send it.</summary>
    public static byte[] Line(string customId, string url, byte[] body)
    {
        var buffer = new MemoryStream(body.Length + 160);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("custom_id", customId);
            w.WriteString("method", "POST");
            w.WriteString("url", url);
            w.WritePropertyName("body");
            w.WriteRawValue(body, skipInputValidation: true);
            w.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    public void Add(string customId, byte[] body, int promptTokens, int maxOutputTokens)
    {
        var line = Line(customId, _url, body);
        if (_split.Place(line.Length))
        {
            Close();
            _currentPath = Path.Combine(_folder, $"{_prefix}-{_split.Files:D4}.jsonl");
            _current = new FileStream(_currentPath, FileMode.Create, FileAccess.Write, FileShare.None);
        }

        _current!.Write(line);
        _requests++;
        _bytes += line.Length;
        _prompt += promptTokens;
        _output += maxOutputTokens;
    }

    /// <summary>Closes the last file; the files written, in order.</summary>
    public IReadOnlyList<BatchInputFile> Complete()
    {
        Close();
        return _files;
    }

    private void Close()
    {
        if (_current is null)
        {
            return;
        }

        _current.Flush(flushToDisk: true);
        _current.Dispose();
        _files.Add(new BatchInputFile(_currentPath!, _requests, _bytes, _prompt, _output));
        _current = null;
        _requests = 0;
        _bytes = 0;
        _prompt = 0;
        _output = 0;
    }

    public void Dispose() => _current?.Dispose();
}
