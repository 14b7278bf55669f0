using System.Globalization;
using System.Text.Json;
using MllmData.Records;
using MllmData.Json;

namespace MllmData.Adapters;

/// <summary>
/// Turns a row of a generic file (CSV or JSONL) into a record through the field mapping: image, question,
/// answer (a list means a majority vote), choices (multiple choice: the answer may be the index or the text), id.
/// A field's text is null when the row has no value for it (a missing key, a JSON null); an empty CSV cell is empty
/// text, so a blank question is an empty question in either file, and a blank id or answer counts as none.
/// </summary>
internal static class MappedRow
{
    public static readonly string[] Fields = ["image", "question", "answer", "choices", "id"];

    public static void CheckMap(SourceContext context)
    {
        foreach (var key in context.Map.Keys.Where(k => !Fields.Contains(k)))
        {
            throw new UsageException($"--map {key}=...: known fields are {string.Join(", ", Fields)}");
        }

        if (!context.Map.ContainsKey("answer") && !context.Map.ContainsKey("question"))
        {
            throw new UsageException($"source '{context.SourceName}' needs --map answer=COLUMN (and question=COLUMN for VQA rows)");
        }
    }

    /// <summary>Builds the record, or returns the reason the row cannot be one.</summary>
    /// <param name="context">The source being read.</param>
    /// <param name="adapter">The adapter's name.</param>
    /// <param name="file">The file the row is in.</param>
    /// <param name="rowId">The row's own name (its line or row number), the id when the mapping gives none.</param>
    /// <param name="text">A field's text.</param>
    /// <param name="list">A field's list, when it holds one.</param>
    /// <param name="taken">The ids of the file's earlier records: a mapped id seen before is a <c>duplicate-id</c>.</param>
    public static (InstructionRecord? Record, string? Reason, string? Detail) Make(
        SourceContext context, string adapter, string file, string rowId, Func<string, string?> text, Func<string, List<string>?> list, Json.JoinedIds taken)
    {
        string? Column(string field) => context.Map.TryGetValue(field, out var c) ? c : null;
        var image = Column("image") is { } ic ? text(ic) : null;
        var question = Column("question") is { } qc ? text(qc) : null;
        var answers = Column("answer") is { } ac ? list(ac) ?? (text(ac) is { Length: > 0 } one ? [one] : null) : null;
        var choices = Column("choices") is { } cc ? list(cc) : null;
        var id = Column("id") is { } idc && text(idc) is { } given && !TextCheck.IsBlank(given) ? given : rowId;
        // Ids are tracked only when the mapping names an id column (a row's own name is unique); then the rows that fall
        // back to their own name are tracked too, so no mapped id can repeat one of them.
        if (Column("id") is { } idColumn && taken.Contains(id))
        {
            return (null, RejectReasons.DuplicateId, $"id '{id}' (column '{idColumn}') is already the id of an earlier record");
        }

        if (Column("question") is not null && question is null)
        {
            return (null, RejectReasons.MissingField, $"no value in question column '{Column("question")}'");
        }

        if (question is not null && TextCheck.IsBlank(question))
        {
            return (null, RejectReasons.EmptyQuestion, $"the question (column '{Column("question")}') is {TextCheck.BlankKind(question)}");
        }

        if (Column("image") is not null && string.IsNullOrWhiteSpace(image))
        {
            return (null, RejectReasons.MissingField, $"no value in image column '{Column("image")}'");
        }

        var answer = answers is { Count: > 1 } ? VqaAnswers.MajorityVote(answers) : answers?.FirstOrDefault()?.Trim();
        if (TextCheck.IsBlank(answer))
        {
            // A value that shows nothing is a gap in the annotations: a reject, and the run goes on. No value at all is an
            // unanswered record (a test split), which stops a training build unless unanswered=eval.
            var blank = Column("answer") is { } column ? text(column) ?? (list(column) is { } all ? string.Concat(all) : null) : null;
            if (blank is not null && context.Choice("unanswered", "error", "error", "eval") != "eval")
            {
                return (null, RejectReasons.EmptyAnswer, $"the answer (column '{Column("answer")}') is {TextCheck.BlankKind(blank)}");
            }

            Sample.NoAnswer(context, file, rowId);
            answer = null;
        }

        string task;
        Turn turn;
        if (choices is { Count: > 1 } && question is not null)
        {
            if (Sample.ChoicesProblem(choices) is { } bad)
            {
                return (null, bad.Reason, bad.Detail);
            }

            var index = answer is null ? -1 : int.TryParse(answer, out var n) && n >= 0 && n < choices.Count ? n : choices.FindIndex(c => c.Trim() == answer);
            if (answer is not null && index < 0)
            {
                return (null, RejectReasons.WrongType, $"answer '{answer}' is neither an index nor one of the {choices.Count} choices");
            }

            task = "multiple-choice";
            turn = Sample.Question(question, index < 0 ? null : Sample.Letter(index), answer, new Dictionary<string, string> { ["options"] = Sample.Options(choices) });
        }
        else if (question is not null)
        {
            task = "vqa";
            turn = Sample.Question(question, answer);
        }
        else
        {
            task = "caption";
            turn = new Turn { Output = answer, RawAnswer = answer };
        }

        IReadOnlyList<ImageRef> images = image is null ? [] : [new ImageRef(image)];

        // A question without an image is text-only: it takes the text pack, whose templates never mention an image.
        task = images.Count == 0 && question is not null ? "text" : task;
        if (Column("id") is not null)
        {
            taken.Add(id);
        }

        return (Sample.Make(context, adapter, file, id, task, images, [turn], [new("row", rowId)]), null, null);
    }

    /// <summary>The detail of a <c>line-too-long</c> reject.</summary>
    public static string TooLong(long bytes, int max) =>
        string.Create(CultureInfo.InvariantCulture, $"the line is {bytes} bytes long; lines over {max} bytes are skipped without being held in memory");

    /// <summary>
    /// Why a JSON row's mapped fields cannot be read as their kind, or null when they can: image, question and id are text
    /// (a string, or a number or boolean by its JSON text); an answer is that or a list of those (an element may be an
    /// object with an <c>answer</c>, as VQA annotations have); choices are a list of those. An object or list where text
    /// belongs, or an element of another kind, is the record's <c>wrong-type</c>: read as absent, the question would be
    /// "missing", the answer unanswered, and a choices string would silently make the row an open question.
    /// </summary>
    public static string? WrongKind(SourceContext context, JsonElement e)
    {
        foreach (var field in Fields)
        {
            if (!context.Map.TryGetValue(field, out var key) || !e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            var label = $"\"{key}\" (mapped to {field})";
            var listed = field is "answer" or "choices";
            if (Scalar(v) && field != "choices")
            {
                continue;
            }

            if (!listed || v.ValueKind != JsonValueKind.Array)
            {
                return $"{label} is {JsonKinds.Describe(v)}, expected {(field == "choices" ? "a list" : listed ? "text or a list" : "text")}";
            }

            var i = 0;
            foreach (var x in v.EnumerateArray())
            {
                var answerObject = field == "answer" && x.ValueKind == JsonValueKind.Object;
                if (answerObject && x.TryGetProperty("answer", out var inner) && inner.ValueKind != JsonValueKind.Null && !Scalar(inner))
                {
                    return string.Create(CultureInfo.InvariantCulture, $"{label}[{i}].answer is {JsonKinds.Describe(inner)}, expected text");
                }

                if (!answerObject && !Scalar(x))
                {
                    return string.Create(CultureInfo.InvariantCulture, $"{label}[{i}] is {JsonKinds.Describe(x)}, expected text");
                }

                i++;
            }
        }

        return null;
    }

    /// <summary>
    /// A JSON list field's elements as text (numbers and booleans by their JSON text; an object by its <c>answer</c>, left
    /// out without one); null when the field is not a list. Kinds are checked first (<see cref="WrongKind"/>).
    /// </summary>
    public static List<string>? JsonList(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var list = new List<string>(v.GetArrayLength());
        foreach (var x in v.EnumerateArray())
        {
            if ((x.ValueKind == JsonValueKind.Object ? JsonText(x, "answer") : Scalar(x) ? Text(x) : null) is { } text)
            {
                list.Add(text);
            }
        }

        return list;
    }

    private static bool Scalar(JsonElement v) => v.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False;

    private static string? Text(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        _ => null,
    };

    /// <summary>A JSON field as text (numbers and booleans by their JSON text).</summary>
    public static string? JsonText(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? Text(v) : null;
}
