using System.Buffers;
using System.Text;
using System.Text.Json;

namespace MllmData.Json;

/// <summary>Whether a one-pass parser finished its value or ran out of buffered data.</summary>
public enum ParseStatus
{
    Ok,
    NeedMoreData,
}

/// <summary>Parses one value starting at the reader's current (start) token; must consume exactly that value.</summary>
public delegate ParseStatus ValueParser<T>(ref Utf8JsonReader reader, out T? value, out string? error);

/// <summary>Reads a JSON file token by token with a bounded buffer, materialising only the values asked for.</summary>
/// <remarks>
/// Utf8JsonReader is a ref struct, so it cannot live across awaits or in a field; this type keeps its
/// state (<see cref="JsonReaderState"/>) and the buffer between calls and rebuilds a reader for each step.
/// The buffer grows only to hold the largest single value that is materialised, never the whole file.
/// </remarks>
public sealed class StreamingJsonReader : IDisposable
{
    private readonly Stream _stream;
    private readonly string _file;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;
    private long _bufferBase;
    private bool _bomChecked;
    private JsonReaderState _state;

    /// <summary>The deepest nesting of arrays and objects read (System.Text.Json's default).</summary>
    public const int MaxDepth = 64;

    public StreamingJsonReader(Stream stream, string file, int initialBufferSize = 1 << 16)
    {
        _stream = stream;
        _file = file;
        _buffer = ArrayPool<byte>.Shared.Rent(initialBufferSize);
        _state = new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = MaxDepth });
    }

    /// <summary>The type of the token most recently read by <see cref="Read"/>.</summary>
    public JsonTokenType TokenType { get; private set; } = JsonTokenType.None;

    /// <summary>Depth of the current token (0 for the top-level value).</summary>
    public int Depth { get; private set; }

    /// <summary>The property name when <see cref="TokenType"/> is a property name, or a string value's text.</summary>
    /// <remarks>Text that is not valid UTF-8 (or holds a lone surrogate escape) reads with U+FFFD in place of the bad bytes; see <see cref="TextIsInvalid"/>.</remarks>
    public string? Text { get; private set; }

    /// <summary>Whether <see cref="Text"/> had to be repaired: the key or string in the file is not valid UTF-8 text.</summary>
    public bool TextIsInvalid { get; private set; }

    /// <summary>Byte offset in the file of the current token.</summary>
    public long TokenPosition { get; private set; }

    /// <summary>Bytes consumed from the file so far.</summary>
    public long BytesConsumed => _bufferBase + _start;

    /// <summary>Advances to the next token. Returns false at the end of the document.</summary>
    public bool Read()
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, _state);
            bool ok;
            try
            {
                ok = reader.Read();
            }
            catch (JsonException ex)
            {
                throw Malformed(ex, reader.BytesConsumed);
            }

            if (ok)
            {
                TokenType = reader.TokenType;
                Depth = reader.CurrentDepth;
                TokenPosition = _bufferBase + _start + reader.TokenStartIndex;
                (Text, TextIsInvalid) = reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String ? TokenText(ref reader) : (null, false);
                _start += (int)reader.BytesConsumed;
                _state = reader.CurrentState;
                return true;
            }

            if (_eof)
            {
                // A final-block reader throws on an incomplete document, so this is a clean end.
                return false;
            }

            Refill();
        }
    }

    /// <summary>Skips the value that follows the current property name or array position, streaming.</summary>
    public void SkipValue()
    {
        if (!Read())
        {
            throw new InputDataException(_file, $"byte {BytesConsumed}", "truncated-json", "expected a value, found the end of the file");
        }

        if (TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            var depth = Depth;
            while (Read())
            {
                if (Depth == depth && TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    return;
                }
            }

            throw new InputDataException(_file, $"byte {BytesConsumed}", "truncated-json", "the file ends inside a JSON value (truncated?)");
        }
    }

    /// <summary>
    /// Reads the next value (an array element or a property's value) with a one-pass <paramref name="parser"/>.
    /// Returns false when the enclosing array or object ends instead. A complete value of the wrong shape
    /// yields <paramref name="error"/> instead of throwing, so the caller can reject it and read on.
    /// </summary>
    public bool TryReadValue<T>(ValueParser<T> parser, out T? value, out long position, out string? error)
        where T : class
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, _state);
            ParseStatus status;
            value = null;
            error = null;
            position = 0;
            try
            {
                if (!reader.Read())
                {
                    if (_eof)
                    {
                        throw new InputDataException(_file, $"byte {BytesConsumed}", "truncated-json", "the file ends inside a JSON array (truncated?)");
                    }

                    Refill();
                    position = 0;
                    continue;
                }

                position = _bufferBase + _start + reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.EndArray or JsonTokenType.EndObject)
                {
                    TokenType = reader.TokenType;
                    Depth = reader.CurrentDepth;
                    TokenPosition = position;
                    _start += (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    return false;
                }

                status = parser(ref reader, out value, out error);
            }
            catch (JsonException ex)
            {
                throw Malformed(ex, reader.BytesConsumed);
            }
            catch (InvalidOperationException)
            {
                // The parser asked for the text of a string that is not valid UTF-8: skip the value, reject it.
                SkipBadValue(position);
                (value, error) = (null, InvalidText);
                return true;
            }

            if (status == ParseStatus.NeedMoreData)
            {
                if (_eof)
                {
                    throw new InputDataException(_file, $"byte {position}", "truncated-json", "the file ends inside a JSON value (truncated?)");
                }

                Refill();
                continue;
            }

            if (value is null && error is null)
            {
                error = "null where an object was expected";
            }

            // Fields the parser skipped were not decoded: check the whole value's bytes, so no bad text reaches a record.
            var valueStart = (int)(position - _bufferBase);
            if (!TextCheck.IsValid(_buffer.AsSpan(valueStart, _start + (int)reader.BytesConsumed - valueStart)))
            {
                (value as IDisposable)?.Dispose();
                (value, error) = (null, InvalidText);
            }

            Commit(ref reader, position);
            return true;
        }
    }

    /// <summary>The error of a value whose strings or keys are not valid UTF-8 text.</summary>
    public const string InvalidText = "a key or string is not valid UTF-8 text (bad bytes, an overlong or truncated sequence, or a lone surrogate escape)";

    /// <summary>Skips the value that starts at <paramref name="position"/> (not yet committed) without decoding any text.</summary>
    private void SkipBadValue(long position)
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, _state);
            try
            {
                if (reader.Read() && (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray) || reader.TrySkip()))
                {
                    Commit(ref reader, position);
                    return;
                }
            }
            catch (JsonException ex)
            {
                throw Malformed(ex, reader.BytesConsumed);
            }

            if (_eof)
            {
                throw new InputDataException(_file, $"byte {position}", "truncated-json", "the file ends inside a JSON value (truncated?)");
            }

            Refill();
        }
    }

    private static (string Text, bool Invalid) TokenText(ref Utf8JsonReader reader)
    {
        try
        {
            return (reader.GetString()!, false);
        }
        catch (InvalidOperationException)
        {
            var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
            return (Encoding.UTF8.GetString(raw), true);
        }
    }

    /// <summary>Keeps what the reader consumed: its position and state carry over to the next call.</summary>
    private void Commit(ref Utf8JsonReader reader, long position)
    {
        TokenType = reader.TokenType;
        Depth = reader.CurrentDepth;
        TokenPosition = position;
        _start += (int)reader.BytesConsumed;
        _state = reader.CurrentState;
    }

    /// <summary>Reads tokens until a property with the given name at the given depth; false if the object ends first.</summary>
    public bool SeekProperty(string name, int depth)
    {
        while (Read())
        {
            if (TokenType == JsonTokenType.PropertyName && Depth == depth && Text == name)
            {
                if (depth == 1)
                {
                    Took(name);
                }

                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Notes that the value of the top-level key <paramref name="name"/> is the one read. A second key of that name, noted
    /// again or met while draining (a JSON reader would keep one of the two silently), is a <c>duplicate-key</c> error. Only
    /// the keys read are noted, so a layout keyed by record id holds nothing per record.
    /// </summary>
    public void Took(string name)
    {
        if (!_taken.Add(name))
        {
            throw Doubled(name);
        }
    }

    private InputDataException Doubled(string name) => new(_file, $"byte {TokenPosition}", "duplicate-key",
        $"the top-level key \"{name}\" appears a second time; its first value was read, and which of the two is meant cannot be told (merge them into one)");

    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

    /// <summary>Reads to the end of the document so that a hashing stream underneath sees every byte, and refuses a second copy of a top-level key that was read.</summary>
    public void Drain()
    {
        while (Read())
        {
            if (TokenType == JsonTokenType.PropertyName && Depth == 1 && _taken.Contains(Text!))
            {
                throw Doubled(Text!);
            }
        }

        Span<byte> scratch = stackalloc byte[4096];
        while (_stream.Read(scratch) > 0)
        {
        }
    }

    private InputDataException Malformed(JsonException ex, long consumedInBuffer)
    {
        var at = _bufferBase + _start + consumedInBuffer;

        // Truncation shows as running out of data, or as a last fragment with no closing bracket after it; data after a
        // complete value is not truncation, though the reader's message for it speaks of the end of data too.
        var rest = _buffer.AsSpan((int)Math.Min(_start + consumedInBuffer, _end), _end - (int)Math.Min(_start + consumedInBuffer, _end));
        var trailing = ex.Message.Contains("after a single JSON value", StringComparison.Ordinal);
        var truncated = !trailing && _eof && (ex.Message.Contains("end of data", StringComparison.Ordinal)
            || ex.Message.Contains("zero at the end", StringComparison.Ordinal)
            || (rest.IndexOfAny((byte)'}', (byte)']') < 0));
        if (!truncated && ex.Message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            // Well-formed JSON may nest that deep; it is the reader's bound, not a syntax error, and it says so.
            return new InputDataException(_file, $"byte {at}", "too-deep", $"a value nests more than {MaxDepth} arrays and objects deep, the most this reader follows (no benchmark record nests nearly so deep)");
        }

        var reason = truncated ? "truncated-json" : "malformed-json";
        return new InputDataException(_file, $"byte {at}", reason, $"invalid JSON: {JsonErrors.InWords(ex.Message, trailing)}");
    }

    private void Refill()
    {
        var remaining = _end - _start;
        if (_start == 0 && remaining == _buffer.Length)
        {
            // One value is larger than the buffer: grow, keeping what is there.
            var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, bigger, 0, remaining);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        else if (remaining > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, remaining);
        }

        _bufferBase += _start;
        _start = 0;
        _end = remaining;
        while (_end < _buffer.Length)
        {
            var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
            {
                _eof = true;
                break;
            }

            _end += n;
        }

        // A byte order mark is not JSON; editors and Windows tools write one, so it is skipped.
        if (!_bomChecked && _bufferBase == 0 && (_end >= 3 || _eof))
        {
            _bomChecked = true;
            if (_buffer.AsSpan(0, _end).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                _start = 3;
            }
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
