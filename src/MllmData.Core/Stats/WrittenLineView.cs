using System.Text;
using System.Text.Json;
using MllmData.Formats;

namespace MllmData.Stats;

/// <summary>
/// The card's view of a line this build has just written in a role/content format (LLaVA, ShareGPT, ms-swift), read in
/// one forward pass over its bytes: the same <see cref="RecordView"/> that <see cref="StatsReader.View"/> makes from a
/// parsed document through the format's reader, without the document or the intermediate record. Anything outside the
/// shapes a build writes (a key twice, a value of another kind, a number that is not an int) gives null, and the caller
/// takes the document way, which says what is wrong as before.
/// </summary>
public sealed class WrittenLineView
{
    private readonly ConversationKeys _keys;
    private readonly ConversationShape _shape;
    private readonly string _token;
    // Scratch kept between lines (the card reads one line at a time): the messages, the image strings, meta's members,
    // and the characters of a user message while its placeholder is cut.
    private readonly List<(string Role, string Text, bool Cut)> _messages = [];
    private readonly List<string> _images = [];
    private readonly Meta _meta = new();
    private char[] _chars = new char[256];

    public WrittenLineView(ConversationFormat format, RenderOptions options)
    {
        _keys = format.Keys;
        _shape = _keys.Shape;
        _token = options.ImageToken;
    }

    /// <summary>
    /// The view of <paramref name="line"/>, line <paramref name="number"/> of its file (the id of a line without one), or
    /// null when the line is not one this reader takes.
    /// </summary>
    public RecordView? Read(ReadOnlySpan<byte> line, long number)
    {
        try
        {
            return ReadCore(line, number);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null; // malformed JSON, a data URL that is not base64, ...: the document way reports it
        }
    }

    private RecordView? ReadCore(ReadOnlySpan<byte> line, long number)
    {
        var r = new Utf8JsonReader(line);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        string? id = null;
        var images = _images;
        images.Clear();
        var meta = _meta;
        meta.Reset();
        bool sawId = false, sawImages = false, sawTurns = false, sawMeta = false;
        _messages.Clear();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("id"u8))
            {
                if (sawId)
                {
                    return null;
                }

                sawId = true;
                r.Read();
                id = r.TokenType switch
                {
                    JsonTokenType.String => r.GetString(),
                    JsonTokenType.Number => Encoding.UTF8.GetString(r.ValueSpan),
                    _ => null,
                };
                r.Skip();
            }
            else if (r.ValueTextEquals(_keys.Images))
            {
                if (sawImages)
                {
                    return null;
                }

                sawImages = true;
                r.Read();
                if (r.TokenType == JsonTokenType.String)
                {
                    images.Add(r.GetString()!);
                }
                else if (r.TokenType == JsonTokenType.StartArray)
                {
                    while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                    {
                        if (r.TokenType != JsonTokenType.String)
                        {
                            return null;
                        }

                        images.Add(r.GetString()!);
                    }
                }
                else
                {
                    r.Skip();
                }
            }
            else if (r.ValueTextEquals(_keys.Turns))
            {
                if (sawTurns || !Messages(ref r))
                {
                    return null;
                }

                sawTurns = true;
            }
            else if (r.ValueTextEquals("meta"u8))
            {
                if (sawMeta)
                {
                    return null;
                }

                sawMeta = true;
                r.Read();
                if (r.TokenType == JsonTokenType.StartObject)
                {
                    if (!meta.Read(ref r))
                    {
                        return null;
                    }
                }
                else
                {
                    r.Skip();
                }
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }

        if (!sawTurns)
        {
            return null;
        }

        // As the format's reader: each user message is a turn, answered by the assistant message after it (a leading
        // system message, which that reader sets aside, is no user message either).
        var users = 0;
        foreach (var m in _messages)
        {
            users += m.Role == _shape.User ? 1 : 0;
        }

        var turns = new TurnView[users];
        var n = 0;
        for (var k = 0; k < _messages.Count; k++)
        {
            var (role, text, cut) = _messages[k];
            if (role != _shape.User)
            {
                continue;
            }

            var output = k + 1 < _messages.Count && _messages[k + 1].Role == _shape.Assistant ? _messages[k + 1].Text : null;
            turns[n] = new TurnView(cut ? text : ReadBack.WithoutPlaceholders(text, _token), null, output, n < meta.Templates.Count ? meta.Templates[n] : null);
            n++;
        }

        var views = new ImageView[images.Count];
        for (var k = 0; k < images.Count; k++)
        {
            var (width, height) = k < meta.Sizes.Count ? meta.Sizes[k] : (null, null);
            if (!images[k].StartsWith("data:", StringComparison.Ordinal))
            {
                // A path or URL stands as it is (what ReadBack.Image gives it back as).
                views[k] = new ImageView(images[k], width, height);
                continue;
            }

            var image = ReadBack.Image(images[k]);
            views[k] = new ImageView(image.Path, width, height) { Bytes = image.Inline ? image.Bytes : null, MediaType = image.MediaType };
        }

        return new RecordView(id ?? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"line{number}"), meta.Source ?? "(no meta)", meta.Task ?? "(no meta)", views, turns)
        {
            Rewritten = meta.Rewritten,
            TurnsKnown = true,
            HasMeta = meta.Present,
            ImagesKnown = true,
        };
    }

    /// <summary>The turns array: every message an object whose role and content are strings, each once.</summary>
    private bool Messages(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (r.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? role = null, text = null;
            var cut = false;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals(_keys.Role))
                {
                    r.Read();
                    if (role is not null || r.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }

                    role = _keys.RoleOf(ref r);
                }
                else if (r.ValueTextEquals(_keys.Content))
                {
                    r.Read();
                    if (text is not null || r.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }

                    (text, cut) = Content(ref r, role);
                }
                else
                {
                    r.Read();
                    r.Skip();
                }
            }

            if (role is null || text is null)
            {
                return false;
            }

            _messages.Add((role, text, cut));
        }

        return true;
    }

    /// <summary>
    /// A message's text. When its role came first (as a build writes it): a user message is read into scratch characters
    /// and its image placeholder cut there, making one string where reading then cutting made two (cut is then true); an
    /// answer, short and repeated across a dataset, comes from the thread's table of short strings.
    /// </summary>
    private (string Text, bool Cut) Content(ref Utf8JsonReader r, string? role)
    {
        if (role == _shape.Assistant)
        {
            return (Json.ShortStrings.Of(ref r)!, false);
        }

        if (role != _shape.User || r.HasValueSequence)
        {
            return (r.GetString()!, false);
        }

        // Unescaped, a value has at most as many UTF-16 characters as it has bytes.
        if (_chars.Length < r.ValueSpan.Length)
        {
            _chars = new char[Math.Max(r.ValueSpan.Length, _chars.Length * 2)];
        }

        var length = r.CopyString(_chars);
        return (ReadBack.WithoutPlaceholders(_chars.AsSpan(0, length), _token), true);
    }

    /// <summary>What the card reads from <c>meta</c>: each member once, of the kind a build writes.</summary>
    private sealed class Meta
    {
        /// <summary>Made ready for the next line's meta.</summary>
        public void Reset()
        {
            Present = false;
            Source = null;
            Task = null;
            Rewritten = false;
            Templates.Clear();
            Sizes.Clear();
        }

        public bool Present { get; private set; }

        public string? Source { get; private set; }

        public string? Task { get; private set; }

        public bool Rewritten { get; private set; }

        public List<string?> Templates { get; } = [];

        public List<(int? Width, int? Height)> Sizes { get; } = [];

        public bool Read(ref Utf8JsonReader r)
        {
            Present = true;
            bool source = false, task = false, templates = false, images = false, rewrite = false;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("source"u8))
                {
                    if (source || !Text(ref r, out var value))
                    {
                        return false;
                    }

                    (source, Source) = (true, value);
                }
                else if (r.ValueTextEquals("task"u8))
                {
                    if (task || !Text(ref r, out var value))
                    {
                        return false;
                    }

                    (task, Task) = (true, value);
                }
                else if (r.ValueTextEquals("templates"u8))
                {
                    if (templates || !TemplateIds(ref r))
                    {
                        return false;
                    }

                    templates = true;
                }
                else if (r.ValueTextEquals("images"u8))
                {
                    if (images || !ImageSizes(ref r))
                    {
                        return false;
                    }

                    images = true;
                }
                else if (r.ValueTextEquals("rewrite"u8))
                {
                    if (rewrite)
                    {
                        return false;
                    }

                    rewrite = true;
                    r.Read();
                    Rewritten = r.TokenType == JsonTokenType.StartObject;
                    r.Skip();
                }
                else
                {
                    r.Read();
                    r.Skip();
                }
            }

            return true;
        }

        /// <summary>A string, or nothing for null, an object or an array (as a cast of a JSON node to string gives it); other kinds are not taken.</summary>
        private static bool Text(ref Utf8JsonReader r, out string? value)
        {
            r.Read();
            value = r.TokenType == JsonTokenType.String ? Json.ShortStrings.Of(ref r) : null;
            var taken = r.TokenType is JsonTokenType.String or JsonTokenType.Null or JsonTokenType.StartObject or JsonTokenType.StartArray;
            r.Skip();
            return taken;
        }

        private bool TemplateIds(ref Utf8JsonReader r)
        {
            r.Read();
            if (r.TokenType != JsonTokenType.StartArray)
            {
                r.Skip();
                return true; // not an array: no template ids, as the document way reads it
            }

            while (r.Read() && r.TokenType != JsonTokenType.EndArray)
            {
                if (r.TokenType == JsonTokenType.String)
                {
                    Templates.Add(Json.ShortStrings.Of(ref r));
                }
                else if (r.TokenType == JsonTokenType.Null)
                {
                    Templates.Add(null);
                }
                else
                {
                    return false;
                }
            }

            return true;
        }

        private bool ImageSizes(ref Utf8JsonReader r)
        {
            r.Read();
            if (r.TokenType != JsonTokenType.StartArray)
            {
                r.Skip();
                return true;
            }

            while (r.Read() && r.TokenType != JsonTokenType.EndArray)
            {
                if (r.TokenType != JsonTokenType.StartObject)
                {
                    // Not an object: no size for this image, as the document way reads it.
                    r.Skip();
                    Sizes.Add((null, null));
                    continue;
                }

                int? width = null, height = null;
                bool sawWidth = false, sawHeight = false;
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    if (r.ValueTextEquals("width"u8))
                    {
                        if (sawWidth || !Int(ref r, out width))
                        {
                            return false;
                        }

                        sawWidth = true;
                    }
                    else if (r.ValueTextEquals("height"u8))
                    {
                        if (sawHeight || !Int(ref r, out height))
                        {
                            return false;
                        }

                        sawHeight = true;
                    }
                    else
                    {
                        r.Read();
                        r.Skip();
                    }
                }

                Sizes.Add((width, height));
            }

            return true;
        }

        /// <summary>An int, or nothing for null, an object or an array; a number that is not an int, and other kinds, are not taken.</summary>
        private static bool Int(ref Utf8JsonReader r, out int? value)
        {
            r.Read();
            value = null;
            switch (r.TokenType)
            {
                case JsonTokenType.Number:
                    if (!r.TryGetInt32(out var n))
                    {
                        return false;
                    }

                    value = n;
                    return true;
                case JsonTokenType.Null:
                    return true;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    r.Skip();
                    return true;
                default:
                    return false;
            }
        }
    }
}
