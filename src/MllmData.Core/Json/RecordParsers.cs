using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MllmData.Json;

/// <summary>
/// One-pass Utf8JsonReader parsers for the hot record shapes (VQA questions and annotations, COCO
/// images and captions). A field of the wrong type becomes an error message, and the rest of the value
/// is still consumed, so the caller can reject the record and read on.
/// </summary>
public static class RecordParsers
{
    private const ParseStatus Ok = ParseStatus.Ok;
    private const ParseStatus More = ParseStatus.NeedMoreData;

    public static ParseStatus VqaQuestion(ref Utf8JsonReader r, out VqaQuestionDto? value, out string? error)
    {
        error = null;
        return Object(ref r, new VqaQuestionDto(), QuestionField, out value, ref error);
    }

    public static ParseStatus VqaAnnotation(ref Utf8JsonReader r, out VqaAnnotationDto? value, out string? error)
    {
        error = null;
        return Object(ref r, new VqaAnnotationDto(), AnnotationField, out value, ref error);
    }

    public static ParseStatus CocoImage(ref Utf8JsonReader r, out CocoImageDto? value, out string? error)
    {
        error = null;
        return Object(ref r, new CocoImageDto(), ImageField, out value, ref error);
    }

    public static ParseStatus CocoCaption(ref Utf8JsonReader r, out CocoCaptionDto? value, out string? error)
    {
        error = null;
        return Object(ref r, new CocoCaptionDto(), CaptionField, out value, ref error);
    }

    public static ParseStatus CocoInstance(ref Utf8JsonReader r, out CocoInstanceDto? value, out string? error)
    {
        error = null;
        return Object(ref r, new CocoInstanceDto(), InstanceField, out value, ref error);
    }

    public static ParseStatus CocoCategory(ref Utf8JsonReader r, out CocoCategoryDto? value, out string? error)
    {
        error = null;
        return Object(ref r, new CocoCategoryDto(), CategoryField, out value, ref error);
    }

    /// <summary>Reads the property name the reader is on and its value into the record.</summary>
    private delegate ParseStatus FieldReader<in T>(ref Utf8JsonReader r, T record, ref string? error);

    /// <summary>Walks an object's properties, handing each to <paramref name="field"/>; the one loop all record shapes share.</summary>
    private static ParseStatus Object<T>(ref Utf8JsonReader r, T record, FieldReader<T> field, out T? value, ref string? error)
        where T : class
    {
        value = null;
        if (r.TokenType != JsonTokenType.StartObject)
        {
            return NotAnObject(ref r, ref error);
        }

        // A key written twice is an error of the record (a JSON reader would keep one of the two values silently),
        // whether or not the key is read.
        var keys = default(KeySet);
        while (true)
        {
            if (!r.Read())
            {
                return More;
            }

            if (r.TokenType == JsonTokenType.EndObject)
            {
                value = record;
                return Ok;
            }

            keys.Note(ref r, ref error);
            if (field(ref r, record, ref error) == More)
            {
                return More;
            }
        }
    }

    /// <summary>Keys of one object held on the stack; an object with more keeps the rest in a list.</summary>
    private const int TrackedKeys = 16;

    /// <summary>The first <see cref="TrackedKeys"/> key hashes of an object, inline (no array).</summary>
    [System.Runtime.CompilerServices.InlineArray(TrackedKeys)]
    private struct HeldKeys
    {
        private ulong _first;
    }

    /// <summary>
    /// The keys of one object so far, by a 64-bit hash (XxHash3) of their unescaped bytes: the first <see cref="TrackedKeys"/>
    /// on the stack, any more in a list.
    /// </summary>
    private struct KeySet
    {
        private HeldKeys _held;
        private int _count;
        private List<ulong>? _more;

        /// <summary>Notes the property name the reader is on; one that came before in the object becomes the record's error (unless it has one).</summary>
        public void Note(ref Utf8JsonReader r, ref string? error)
        {
            if (Twice(ref r) && error is null)
            {
                error = JsonErrors.DoubledKey($"\"{r.GetString()}\"");
            }
        }

        private bool Twice(ref Utf8JsonReader r)
        {
            ulong key;
            if (!r.ValueIsEscaped && !r.HasValueSequence)
            {
                key = System.IO.Hashing.XxHash3.HashToUInt64(r.ValueSpan);
            }
            else
            {
                // "\u0061" and "a" are one key: the name is compared unescaped.
                key = System.IO.Hashing.XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(r.GetString()!));
            }

            var held = Math.Min(_count, TrackedKeys);
            for (var i = 0; i < held; i++)
            {
                if (_held[i] == key)
                {
                    return true;
                }
            }

            if (_more is not null && _more.Contains(key))
            {
                return true;
            }

            if (_count < TrackedKeys)
            {
                _held[_count] = key;
            }
            else
            {
                (_more ??= []).Add(key);
            }

            _count++;
            return false;
        }
    }

    private static ParseStatus QuestionField(ref Utf8JsonReader r, VqaQuestionDto d, ref string? error)
    {
        ParseStatus s;
        string? v;
        if (r.ValueTextEquals("question_id"u8))
        {
            s = Id(ref r, "question_id", out v, ref error);
            d.QuestionId = v;
        }
        else if (r.ValueTextEquals("image_id"u8))
        {
            s = Id(ref r, "image_id", out v, ref error);
            d.ImageId = v;
        }
        else if (r.ValueTextEquals("question"u8))
        {
            s = Text(ref r, "question", out v, ref error);
            d.Question = v;
        }
        else
        {
            s = Skip(ref r, ref error);
        }

        return s;
    }

    private static ParseStatus AnnotationField(ref Utf8JsonReader r, VqaAnnotationDto d, ref string? error)
    {
        ParseStatus s;
        string? v;
        if (r.ValueTextEquals("question_id"u8))
        {
            s = Id(ref r, "question_id", out v, ref error);
            d.QuestionId = v;
        }
        else if (r.ValueTextEquals("image_id"u8))
        {
            s = Id(ref r, "image_id", out v, ref error);
            d.ImageId = v;
        }
        else if (r.ValueTextEquals("multiple_choice_answer"u8))
        {
            s = Str(ref r, "multiple_choice_answer", out v, ref error);
            d.MultipleChoiceAnswer = v;
        }
        else if (r.ValueTextEquals("answer_type"u8))
        {
            s = Str(ref r, "answer_type", out v, ref error);
            d.AnswerType = v;
        }
        else if (r.ValueTextEquals("question_type"u8))
        {
            s = Str(ref r, "question_type", out v, ref error);
            d.QuestionType = v;
        }
        else if (r.ValueTextEquals("answers"u8))
        {
            s = Answers(ref r, out var answers, ref error);
            d.Answers = answers;
        }
        else
        {
            s = Skip(ref r, ref error);
        }

        return s;
    }

    private static ParseStatus AnswerField(ref Utf8JsonReader r, VqaAnswerDto a, ref string? error)
    {
        ParseStatus s;
        string? v;
        if (r.ValueTextEquals("answer"u8))
        {
            s = Str(ref r, "answer", out v, ref error);
            a.Answer = v;
        }
        else if (r.ValueTextEquals("answer_confidence"u8))
        {
            // Ten of these per question and no record uses them: their type is checked, no string is made.
            s = Check(ref r, "answer_confidence", id: false, ref error);
        }
        else if (r.ValueTextEquals("answer_id"u8))
        {
            s = Check(ref r, "answer_id", id: true, ref error);
        }
        else if (r.ValueTextEquals("raw_answer"u8))
        {
            s = Str(ref r, "raw_answer", out v, ref error);
            a.RawAnswer = v;
        }
        else
        {
            s = Skip(ref r, ref error);
        }

        return s;
    }

    private static ParseStatus ImageField(ref Utf8JsonReader r, CocoImageDto d, ref string? error)
    {
        ParseStatus s;
        if (r.ValueTextEquals("id"u8))
        {
            s = Id(ref r, "id", out var v, ref error);
            d.Id = v;
        }
        else if (r.ValueTextEquals("file_name"u8))
        {
            s = Text(ref r, "file_name", out var v, ref error);
            d.FileName = v;
        }
        else if (r.ValueTextEquals("width"u8))
        {
            s = Int(ref r, "width", out var n, ref error);
            d.Width = n;
        }
        else if (r.ValueTextEquals("height"u8))
        {
            s = Int(ref r, "height", out var n, ref error);
            d.Height = n;
        }
        else if (r.ValueTextEquals("domain"u8))
        {
            s = Str(ref r, "domain", out var v, ref error);
            d.Domain = v;
        }
        else if (r.ValueTextEquals("open_images_id"u8))
        {
            s = Text(ref r, "open_images_id", out var v, ref error);
            d.OpenImagesId = v;
        }
        else
        {
            s = Skip(ref r, ref error);
        }

        return s;
    }

    private static ParseStatus CaptionField(ref Utf8JsonReader r, CocoCaptionDto d, ref string? error)
    {
        ParseStatus s;
        string? v;
        if (r.ValueTextEquals("id"u8))
        {
            s = Id(ref r, "id", out v, ref error);
            d.Id = v;
        }
        else if (r.ValueTextEquals("image_id"u8))
        {
            s = Id(ref r, "image_id", out v, ref error);
            d.ImageId = v;
        }
        else if (r.ValueTextEquals("caption"u8))
        {
            s = Text(ref r, "caption", out v, ref error);
            d.Caption = v;
        }
        else
        {
            s = Skip(ref r, ref error);
        }

        return s;
    }

    private static ParseStatus InstanceField(ref Utf8JsonReader r, CocoInstanceDto d, ref string? error)
    {
        ParseStatus s;
        string? v;
        if (r.ValueTextEquals("id"u8))
        {
            s = Id(ref r, "id", out v, ref error);
            d.Id = v;
        }
        else if (r.ValueTextEquals("image_id"u8))
        {
            s = Id(ref r, "image_id", out v, ref error);
            d.ImageId = v;
        }
        else if (r.ValueTextEquals("category_id"u8))
        {
            s = Id(ref r, "category_id", out v, ref error);
            d.CategoryId = v;
        }
        else if (r.ValueTextEquals("iscrowd"u8))
        {
            if (!r.Read())
            {
                return More;
            }

            d.IsCrowd = r.TokenType switch
            {
                JsonTokenType.True => true,
                JsonTokenType.Number => r.TryGetDouble(out var n) && n != 0,
                _ => false,
            };
            if (r.TokenType is not (JsonTokenType.True or JsonTokenType.False or JsonTokenType.Number or JsonTokenType.Null))
            {
                error ??= $"\"iscrowd\" is {Describe(r.TokenType)}, expected 0 or 1";
            }

            s = SkipCurrent(ref r);
        }
        else if (r.ValueTextEquals("bbox"u8))
        {
            s = Box(ref r, d);
        }
        else
        {
            s = Skip(ref r, ref error);
        }

        return s;
    }

    /// <summary>The largest coordinate or size a <c>bbox</c> may hold, in pixels.</summary>
    public const double MaxBoxValue = 1e9;

    /// <summary>A <c>bbox</c> of four finite numbers within ±<see cref="MaxBoxValue"/>; anything else leaves a problem on the record, not an error.</summary>
    private static ParseStatus Box(ref Utf8JsonReader r, CocoInstanceDto d)
    {
        if (!r.Read())
        {
            return More;
        }

        if (r.TokenType != JsonTokenType.StartArray)
        {
            d.BboxProblem = $"\"bbox\" is {Describe(r.TokenType)}, expected [x, y, w, h]";
            return SkipCurrent(ref r);
        }

        var values = new List<double>(4);
        string? problem = null;
        while (true)
        {
            if (!r.Read())
            {
                return More;
            }

            if (r.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            if (r.TokenType == JsonTokenType.Number && r.TryGetDouble(out var n) && double.IsFinite(n))
            {
                // No image is a billion pixels on a side: a larger coordinate is a broken box, and would overflow the
                // exact decimal arithmetic of corners and areas.
                if (Math.Abs(n) > MaxBoxValue)
                {
                    problem ??= FormattableString.Invariant($"an element of \"bbox\" is {n:R}, beyond {MaxBoxValue:0} pixels");
                }

                values.Add(n);
                continue;
            }

            problem ??= $"an element of \"bbox\" is {Describe(r.TokenType)}, expected a number";
            if (SkipCurrent(ref r) == More)
            {
                return More;
            }
        }

        problem ??= values.Count == 4 ? null : $"\"bbox\" has {values.Count.ToString(CultureInfo.InvariantCulture)} numbers, expected 4 (x, y, w, h)";
        d.Bbox = problem is null ? [.. values] : null;
        d.BboxProblem = problem;
        return Ok;
    }

    private static ParseStatus CategoryField(ref Utf8JsonReader r, CocoCategoryDto d, ref string? error)
    {
        ParseStatus s;
        string? v;
        if (r.ValueTextEquals("id"u8))
        {
            s = Id(ref r, "id", out v, ref error);
            d.Id = v;
        }
        else if (r.ValueTextEquals("name"u8))
        {
            s = Str(ref r, "name", out v, ref error);
            d.Name = v;
        }
        else
        {
            s = Skip(ref r, ref error);
        }

        return s;
    }

    private static ParseStatus Answers(ref Utf8JsonReader r, out List<VqaAnswer>? answers, ref string? error)
    {
        answers = null;
        if (!r.Read())
        {
            return More;
        }

        if (r.TokenType == JsonTokenType.Null)
        {
            return Ok;
        }

        if (r.TokenType != JsonTokenType.StartArray)
        {
            error ??= $"\"answers\" is {Describe(r.TokenType)}, expected an array";
            return SkipCurrent(ref r);
        }

        answers = new List<VqaAnswer>(10);
        var fields = new VqaAnswerDto();
        while (true)
        {
            if (!r.Read())
            {
                return More;
            }

            if (r.TokenType == JsonTokenType.EndArray)
            {
                return Ok;
            }

            if (r.TokenType == JsonTokenType.String)
            {
                // Some third-party files list answers as plain strings.
                answers.Add(new VqaAnswer(ShortStrings.Of(ref r), null));
                continue;
            }

            if (r.TokenType != JsonTokenType.StartObject)
            {
                error ??= $"an element of \"answers\" is {Describe(r.TokenType)}, expected an object";
                if (SkipCurrent(ref r) == More)
                {
                    return More;
                }

                continue;
            }

            (fields.Answer, fields.RawAnswer) = (null, null);
            if (Object(ref r, fields, AnswerField, out _, ref error) == More)
            {
                return More;
            }

            answers.Add(new VqaAnswer(fields.Answer, fields.RawAnswer));
        }
    }

    private static ParseStatus NotAnObject(ref Utf8JsonReader r, ref string? error)
    {
        error = r.TokenType == JsonTokenType.Null ? "null where an object was expected" : $"{Describe(r.TokenType)} where an object was expected";
        return SkipCurrent(ref r);
    }

    /// <summary>Reads the value after a property name and skips it, still refusing a key written twice inside it.</summary>
    private static ParseStatus Skip(ref Utf8JsonReader r, ref string? error) => !r.Read() ? More : SkipChecked(ref r, ref error);

    /// <summary>Skips the value the reader is on, noting (as <paramref name="error"/>) a key written twice in any object inside it.</summary>
    private static ParseStatus SkipChecked(ref Utf8JsonReader r, ref string? error)
    {
        if (r.TokenType == JsonTokenType.StartArray)
        {
            while (true)
            {
                if (!r.Read())
                {
                    return More;
                }

                if (r.TokenType == JsonTokenType.EndArray)
                {
                    return Ok;
                }

                if (SkipChecked(ref r, ref error) == More)
                {
                    return More;
                }
            }
        }

        if (r.TokenType != JsonTokenType.StartObject)
        {
            return Ok;
        }

        var keys = default(KeySet);
        while (true)
        {
            if (!r.Read())
            {
                return More;
            }

            if (r.TokenType == JsonTokenType.EndObject)
            {
                return Ok;
            }

            keys.Note(ref r, ref error);
            if (!r.Read() || SkipChecked(ref r, ref error) == More)
            {
                return More;
            }
        }
    }

    private static ParseStatus SkipCurrent(ref Utf8JsonReader r) =>
        r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !r.TrySkip() ? More : Ok;

    /// <summary>A string value that recurs across records (an answer, a type): given again from the short-string table.</summary>
    private static ParseStatus Str(ref Utf8JsonReader r, string field, out string? value, ref string? error) => Value(ref r, field, out value, ref error, recurs: true);

    /// <summary>A string value of one record's own (a question, a caption, an image's file name): made as it is, not looked up first.</summary>
    private static ParseStatus Text(ref Utf8JsonReader r, string field, out string? value, ref string? error) => Value(ref r, field, out value, ref error, recurs: false);

    private static ParseStatus Value(ref Utf8JsonReader r, string field, out string? value, ref string? error, bool recurs)
    {
        value = null;
        if (!r.Read())
        {
            return More;
        }

        switch (r.TokenType)
        {
            case JsonTokenType.String:
                value = recurs ? ShortStrings.Of(ref r) : r.GetString();
                return Ok;
            case JsonTokenType.Null:
                return Ok;
            default:
                error ??= $"\"{field}\" is {Describe(r.TokenType)}, expected a string";
                return SkipCurrent(ref r);
        }
    }

    /// <summary>Reads a field's value and checks its type as <see cref="Str"/> (or <see cref="Id"/>) would, without keeping it.</summary>
    private static ParseStatus Check(ref Utf8JsonReader r, string field, bool id, ref string? error)
    {
        if (!r.Read())
        {
            return More;
        }

        if (r.TokenType is JsonTokenType.String or JsonTokenType.Null || (id && r.TokenType == JsonTokenType.Number))
        {
            return Ok;
        }

        error ??= id ? $"\"{field}\" is {Describe(r.TokenType)}, expected a number or string id" : $"\"{field}\" is {Describe(r.TokenType)}, expected a string";
        return SkipCurrent(ref r);
    }

    private static ParseStatus Id(ref Utf8JsonReader r, string field, out string? value, ref string? error)
    {
        value = null;
        if (!r.Read())
        {
            return More;
        }

        switch (r.TokenType)
        {
            case JsonTokenType.String:
                value = r.GetString();
                return Ok;
            case JsonTokenType.Number:
                value = NumberText(ref r);
                return Ok;
            case JsonTokenType.Null:
                return Ok;
            default:
                error ??= $"\"{field}\" is {Describe(r.TokenType)}, expected a number or string id";
                return SkipCurrent(ref r);
        }
    }

    private static ParseStatus Int(ref Utf8JsonReader r, string field, out int? value, ref string? error)
    {
        value = null;
        if (!r.Read())
        {
            return More;
        }

        if (r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var n))
        {
            value = n;
            return Ok;
        }

        if (r.TokenType == JsonTokenType.Null)
        {
            return Ok;
        }

        error ??= $"\"{field}\" is {Describe(r.TokenType)}, expected an integer";
        return SkipCurrent(ref r);
    }

    /// <summary>Slots of the per-thread table of recently read numeric ids (a power of two).</summary>
    private const int RecentIds = 16;

    [ThreadStatic]
    private static (long, string)[]? t_recentIds;

    /// <summary>An integral number as its digits (9.0 → "9"), else the number's text.</summary>
    private static string NumberText(ref Utf8JsonReader r)
    {
        if (r.TryGetInt64(out var l))
        {
            // Questions and annotations name the same ids one after the other: the last few are given again, not made again.
            var recent = t_recentIds ??= new (long, string)[RecentIds];
            ref var slot = ref recent[(int)(l & (RecentIds - 1))];
            if (slot.Item2 is null || slot.Item1 != l)
            {
                slot = (l, l.ToString(CultureInfo.InvariantCulture));
            }

            return slot.Item2;
        }

        var span = r.HasValueSequence ? r.ValueSequence.ToArray() : r.ValueSpan.ToArray();
        if (Utf8Parser.TryParse(span, out double d, out var used) && used == span.Length && d == Math.Floor(d) && Math.Abs(d) < 1e15)
        {
            return ((long)d).ToString(CultureInfo.InvariantCulture);
        }

        return Encoding.UTF8.GetString(span);
    }

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };
}
