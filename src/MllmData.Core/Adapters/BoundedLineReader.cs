using System.Buffers;

namespace MllmData.Adapters;

/// <summary>One line of a <see cref="BoundedLineReader"/>: its bytes, or only its length when it was too long to keep.</summary>
public readonly record struct LineRead(ReadOnlyMemory<byte> Bytes, long Number, long TooLongBytes)
{
    public bool TooLong => TooLongBytes > 0;
}

/// <summary>
/// Reads a stream line by line (lines end at LF) holding at most <see cref="MaxLineBytes"/> of one line, so input
/// without line breaks (a device, a corrupt or hostile file) cannot grow memory: a longer line is skipped, and
/// reported by its number and length so the caller can reject it and read on.
/// </summary>
public sealed class BoundedLineReader : IDisposable
{
    /// <summary>The longest line kept by default: 16 MiB.</summary>
    public const int DefaultMaxLineBytes = 16 << 20;

    private readonly Stream _stream;
    private readonly bool _keepTerminator;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _scanned;
    private bool _eof;
    private long _number;

    /// <param name="stream">The input; read sequentially.</param>
    /// <param name="maxLineBytes">The longest line kept, in bytes, not counting its line break.</param>
    /// <param name="keepTerminator">Whether returned lines keep their CR LF or LF (to pass them on unchanged).</param>
    public BoundedLineReader(Stream stream, int maxLineBytes = DefaultMaxLineBytes, bool keepTerminator = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _stream = stream;
        MaxLineBytes = maxLineBytes;
        _keepTerminator = keepTerminator;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(1 << 16, maxLineBytes + 2));
    }

    public int MaxLineBytes { get; }

    /// <summary>
    /// The error of a JSON line that did not parse and holds a carriage return not followed by a line feed: the file's
    /// lines end in CR alone (JSON Lines ends them in LF), so one "line" holds many records, and a reject of it would lose
    /// all but one without a word. Null when the line has no lone CR (its parse error stands).
    /// </summary>
    public static Json.InputDataException? LoneCarriageReturn(ReadOnlySpan<byte> line, string path, long number)
    {
        var cr = line.IndexOf((byte)'\r');
        return cr < 0 || (cr == line.Length - 1)
            ? null
            : new Json.InputDataException(path, $"line {number}", "cr-line-ends", "lines end in a carriage return alone (CR), not in a line feed (LF) as JSON Lines asks, so this line holds several records; convert the line ends (for example tr '\\r' '\\n') and build again");
    }

    /// <summary>The next line (valid until the next call), or false at the end of the input.</summary>
    public bool TryRead(out LineRead line)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var lf = _scanned + newline;
                var length = lf - _start;
                if (length > MaxLineBytes + 1 || (length == MaxLineBytes + 1 && _buffer[lf - 1] != '\r'))
                {
                    // Found the end of a line that is already over the limit (it fit in a larger buffer).
                    line = new LineRead(default, ++_number, length);
                }
                else
                {
                    var contentEnd = _keepTerminator ? lf + 1 : (lf > _start && _buffer[lf - 1] == '\r' ? lf - 1 : lf);
                    line = new LineRead(_buffer.AsMemory(_start, contentEnd - _start), ++_number, 0);
                }

                _start = _scanned = lf + 1;
                return true;
            }

            _scanned = _end;
            if (_eof)
            {
                if (_start == _end)
                {
                    line = default;
                    return false;
                }

                var length = _end - _start;
                line = length > MaxLineBytes ? new LineRead(default, ++_number, length) : new LineRead(_buffer.AsMemory(_start, length), ++_number, 0);
                _start = _scanned = _end;
                return true;
            }

            if (_end - _start > MaxLineBytes + 1)
            {
                line = new LineRead(default, ++_number, SkipRestOfLine());
                return true;
            }

            Fill();
        }
    }

    /// <summary>Drops the current over-long line up to and including its line break; returns its length.</summary>
    private long SkipRestOfLine()
    {
        long skipped = _end - _start;
        _start = _end = _scanned = 0;
        while (true)
        {
            var n = _stream.Read(_buffer, 0, _buffer.Length);
            if (n == 0)
            {
                _eof = true;
                return skipped;
            }

            var newline = _buffer.AsSpan(0, n).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                _start = _scanned = newline + 1;
                _end = n;
                return skipped + newline;
            }

            skipped += n;
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _scanned -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            // Room for one whole line of the maximum length and its CR LF, never more.
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_buffer.Length * 2, MaxLineBytes + 2L));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0)
        {
            _eof = true;
        }

        _end += n;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _stream.Dispose();
    }
}
