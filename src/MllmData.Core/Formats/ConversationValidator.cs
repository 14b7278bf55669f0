using System.Runtime.InteropServices;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Formats;

/// <summary>The key names and roles of a conversation format.</summary>
public sealed record ConversationShape(
    string Format,
    string ImagesKey,
    string TurnsKey,
    string RoleKey,
    string ContentKey,
    string User,
    string Assistant,
    string? System,
    bool ImagesFirst = false);

/// <summary>
/// A conversation shape's key names and roles as UTF-8, for the readers that go through a line's bytes or elements
/// (the validator, the format's reader, the card's one-pass reader): compared without encoding a name per comparison.
/// </summary>
public sealed class ConversationKeys(ConversationShape shape)
{
    public ConversationShape Shape { get; } = shape;

    public byte[] Images { get; } = System.Text.Encoding.UTF8.GetBytes(shape.ImagesKey);

    public byte[] Turns { get; } = System.Text.Encoding.UTF8.GetBytes(shape.TurnsKey);

    public byte[] Role { get; } = System.Text.Encoding.UTF8.GetBytes(shape.RoleKey);

    public byte[] Content { get; } = System.Text.Encoding.UTF8.GetBytes(shape.ContentKey);

    public byte[] User { get; } = System.Text.Encoding.UTF8.GetBytes(shape.User);

    public byte[] Assistant { get; } = System.Text.Encoding.UTF8.GetBytes(shape.Assistant);

    /// <summary>The string role the reader is on: the shape's own string for its user and assistant roles (no copy per line).</summary>
    public string RoleOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals(User) ? Shape.User : reader.ValueTextEquals(Assistant) ? Shape.Assistant : reader.GetString()!;

    /// <summary>As <see cref="RoleOf(ref Utf8JsonReader)"/> for an element; a role that is not a string is read as <see cref="JsonElement.GetString"/> reads it.</summary>
    public string RoleOf(JsonElement role) =>
        role.ValueKind != JsonValueKind.String ? role.GetString()!
        : role.ValueEquals(User) ? Shape.User
        : role.ValueEquals(Assistant) ? Shape.Assistant
        : role.GetString()!;
}

/// <summary>
/// Checks a role/content conversation as trainers do: an optional leading system message, then user and
/// assistant alternating and ending with the assistant, non-empty text, and exactly one image placeholder
/// per image, none of them in an answer. LLaVA and ShareGPT/ms-swift differ only in names.
/// </summary>
/// <remarks>An instance keeps its scratch lists between lines: one thread uses it at a time.</remarks>
public sealed class ConversationValidator(ConversationShape shape, string imageToken = "<image>", bool imagesAreFiles = false) : IFormatValidator
{
    private readonly byte[] _tokenUtf8 = System.Text.Encoding.UTF8.GetBytes(imageToken);

    private readonly ConversationKeys _keys = new(shape);

    // What one line's images and turns are found to lack, kept apart so the images' come first whatever the key order.
    private readonly List<Finding> _imageFindings = [];
    private readonly List<Finding> _turnFindings = [];

    public void Validate(JsonElement record, List<Finding> findings) => Validate(JsonMarshal.GetRawUtf8Value(record), findings);

    /// <summary>
    /// The same checks straight on a record's UTF-8 bytes, one forward pass without a document; the build runs
    /// this on every record it writes.
    /// </summary>
    public void Validate(ReadOnlySpan<byte> json, List<Finding> findings) => Validate(json, findings, written: false);

    /// <summary>
    /// A line the build just wrote: its keys are not repeated, so the checks end once the images and the turns have both
    /// been read (the rest, meta, is not read through).
    /// </summary>
    public void ValidateWritten(ReadOnlySpan<byte> json, List<Finding> findings) => Validate(json, findings, written: true);

    private void Validate(ReadOnlySpan<byte> json, List<Finding> findings, bool written)
    {
        var imageFindings = _imageFindings;
        var turnFindings = _turnFindings;
        imageFindings.Clear();
        turnFindings.Clear();
        var sawImages = false;
        var images = 0;
        var sawTurns = false;
        var placeholders = 0;
        var state = new TurnState();
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (!(written && sawImages && sawTurns) && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(_keys.Images))
            {
                sawImages = true;
                reader.Read();
                images = ImageCount(ref reader, imageFindings);
            }
            else if (reader.ValueTextEquals(_keys.Turns))
            {
                sawTurns = true;
                reader.Read();
                placeholders = Turns(ref reader, turnFindings, ref state);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        findings.AddRange(imageFindings);
        if (!sawTurns)
        {
            findings.Add(new(FindingCodes.MissingField, $"no \"{shape.TurnsKey}\""));
            return;
        }

        findings.AddRange(turnFindings);
        if (turnFindings.Count > 0)
        {
            return;
        }

        if (state.Answered == 0 || state.Last != shape.Assistant)
        {
            findings.Add(new(FindingCodes.MissingAssistant, state.Answered == 0 ? $"no {shape.User} or {shape.Assistant} message" : $"the last {shape.User} message has no {shape.Assistant} answer"));
        }

        if (placeholders != images)
        {
            findings.Add(new(FindingCodes.PlaceholderMismatch, $"{placeholders} {imageToken} placeholders for {images} images"));
        }
    }

    private struct TurnState
    {
        public int Answered;
        public string Last;
    }

    /// <summary>Image count of an optional images value: a string is one, an array its length.</summary>
    private int ImageCount(ref Utf8JsonReader reader, List<Finding> findings)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return 0;
            case JsonTokenType.String:
                UrlImage(ref reader, findings);
                return 1;
            case JsonTokenType.StartArray:
                var n = 0;
                var reported = false;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (!reported && (reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length == 0))
                    {
                        findings.Add(new(FindingCodes.WrongType, $"\"{shape.ImagesKey}\" holds a non-string or empty entry"));
                        reported = true;
                    }
                    else if (!reported && UrlImage(ref reader, findings))
                    {
                        reported = true;
                    }

                    reader.Skip();
                    n++;
                }

                return n;
            default:
                findings.Add(new(FindingCodes.WrongType, $"\"{shape.ImagesKey}\" is {Kind(reader.TokenType)}, expected a string or an array"));
                reader.Skip();
                return 0;
        }
    }

    /// <summary>
    /// Notes an image given as a URL or another URI (<c>scheme://</c>, <c>mailto:</c>, ...) where the consumer opens files
    /// only (LLaVA, LLaMA-Factory: no such file can be found by that name, docs/consumers.md L6, F5); whether it did.
    /// <c>data:</c> URIs are left alone: a Parquet shard's embedded image column is read back as one.
    /// </summary>
    private bool UrlImage(ref Utf8JsonReader reader, List<Finding> findings)
    {
        if (!imagesAreFiles || !(reader.ValueIsEscaped ? ImageUrls.IsUrlOtherThanData(reader.GetString()) : ImageUrls.IsUrlOtherThanData(reader.ValueSpan)))
        {
            return false;
        }

        findings.Add(new(FindingCodes.BadImagePath, $"\"{shape.ImagesKey}\" holds a URL, not a file: {shape.Format}'s trainer opens image files under its image folder"));
        return true;
    }

    /// <summary>Reads the turns array; returns the placeholder count; the first problem found stops the checks.</summary>
    private int Turns(ref Utf8JsonReader reader, List<Finding> findings, ref TurnState state)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            findings.Add(new(FindingCodes.WrongType, $"\"{shape.TurnsKey}\" is {Kind(reader.TokenType)}, expected an array"));
            reader.Skip();
            return 0;
        }

        var placeholders = 0;
        var i = 0;
        var k = 0;
        state.Last = string.Empty;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (findings.Count > 0 || reader.TokenType != JsonTokenType.StartObject)
            {
                if (findings.Count == 0)
                {
                    findings.Add(new(FindingCodes.WrongType, $"message {k} is {Kind(reader.TokenType)}, expected an object"));
                }

                reader.Skip();
                continue;
            }

            string? role = null;
            var roleKind = "missing";
            string contentKind = "missing";
            var empty = true;
            var count = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals(_keys.Role))
                {
                    reader.Read();
                    roleKind = Kind(reader.TokenType);
                    role = reader.TokenType != JsonTokenType.String ? null : _keys.RoleOf(ref reader);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals(_keys.Content))
                {
                    reader.Read();
                    contentKind = reader.TokenType == JsonTokenType.String ? "String" : Kind(reader.TokenType);
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        (empty, count) = Scan(ref reader);
                    }

                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // A field of another kind is wrong-type, one left out (or null) missing-field, as the adapters code them:
            // neither is an empty message nor a role out of order.
            if (contentKind != "String")
            {
                findings.Add(new(Absent(contentKind) ? FindingCodes.MissingField : FindingCodes.WrongType, $"message {k} {shape.ContentKey} is {contentKind}, expected a string"));
                continue;
            }

            if (roleKind != "String")
            {
                findings.Add(new(Absent(roleKind) ? FindingCodes.MissingField : FindingCodes.WrongType, $"message {k} {shape.RoleKey} is {roleKind}, expected a string"));
                continue;
            }

            if (k == 0 && shape.System is not null && role == shape.System)
            {
                k++;
                continue;
            }

            var expected = i % 2 == 0 ? shape.User : shape.Assistant;
            if (role != expected)
            {
                findings.Add(new(FindingCodes.WrongRoleOrder, $"message {k} is from '{role}', expected '{expected}'"));
                continue;
            }

            if (empty)
            {
                findings.Add(new(FindingCodes.EmptyContent, $"message {k} is empty"));
                continue;
            }

            if (role == shape.Assistant && count > 0)
            {
                findings.Add(new(FindingCodes.LiteralImageToken, $"message {k} ({role}) contains {imageToken}"));
                continue;
            }

            placeholders += count;
            state.Last = role;
            i++;
            k++;
        }

        if (k == 0 && findings.Count == 0)
        {
            findings.Add(new(FindingCodes.MissingField, $"\"{shape.TurnsKey}\" is empty"));
        }

        state.Answered = i;
        return placeholders;
    }

    /// <summary>
    /// Whether a string value is blank, and how many placeholders it holds: unescaped text is read as raw UTF-8
    /// without making a string; text with escapes is decoded first.
    /// </summary>
    private (bool Empty, int Placeholders) Scan(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            // Unescaped into a pooled buffer (every user message holds a "\n"), not into a string.
            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length);
            try
            {
                var decoded = rented.AsSpan(0, reader.CopyString(rented));
                return (TextCheck.IsBlankUtf8(decoded), Occurrences(decoded));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }

        var body = reader.ValueSpan;
        return (body.IndexOfAnyExcept(" \t\r\n"u8) < 0, Occurrences(body));
    }

    /// <summary>The image token's occurrences in UTF-8 text, counted as <see cref="ValidationHelpers.Count"/> counts them in a string.</summary>
    private int Occurrences(ReadOnlySpan<byte> body)
    {
        var count = 0;
        var token = _tokenUtf8.AsSpan();
        if (token.Length > 0)
        {
            for (var at = body.IndexOf(token); at >= 0;)
            {
                count++;
                var next = body[(at + token.Length)..].IndexOf(token);
                at = next < 0 ? -1 : at + token.Length + next;
            }
        }

        return count;
    }

    /// <summary>Whether a field's kind (as <see cref="Kind"/> says it) is a field left out: absent or null.</summary>
    private static bool Absent(string kind) => kind is "missing" or "Null";

    private static string Kind(JsonTokenType t) => t switch
    {
        JsonTokenType.StartArray => "Array",
        JsonTokenType.StartObject => "Object",
        JsonTokenType.String => "String",
        JsonTokenType.Number => "Number",
        JsonTokenType.True => "True",
        JsonTokenType.False => "False",
        JsonTokenType.Null => "Null",
        _ => t.ToString(),
    };
}
