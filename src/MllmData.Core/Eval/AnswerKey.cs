using System.Text.Json;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Eval;

/// <summary>One line of <c>answers.jsonl</c>: what a question is scored against.</summary>
public sealed record AnswerKey(string QuestionId, IReadOnlyList<string> Answers, string? AnswerType, string? Category, IReadOnlyList<string>? Choices, string? CorrectChoice)
{
    /// <summary>The answer-format constraint the question states (<c>yes-no</c>, <c>number</c>, ...), or null.</summary>
    public string? Constraint { get; init; }

    /// <summary>Reads an answers file whole (an evaluation set is small), in file order.</summary>
    public static List<AnswerKey> ReadAll(string path)
    {
        var keys = new List<AnswerKey>();
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (e, line) in JsonLines.Read(path))
        {
            var id = JsonLines.Id(e) ?? throw new InputDataException(path, $"line {line}", "missing-field", "no \"question_id\" (string or number)");
            if (!seen.TryAdd(id, line))
            {
                throw new InputDataException(path, $"line {line}", "duplicate-id", $"question_id {id} is also on line {seen[id]}");
            }

            if (!e.TryGetProperty("answers", out var a) || a.ValueKind == JsonValueKind.Null)
            {
                throw new InputDataException(path, $"line {line}", RejectReasons.MissingField, "no \"answers\" list of strings");
            }

            var choices = StringList(e, "choices", path, line);
            var correct = OptionalString(e, "correct_choice", path, line);
            if (correct is not null && (correct.Length != 1 || correct[0] is < 'A' or > 'Z' || (choices is not null && correct[0] - 'A' >= choices.Count)))
            {
                throw new InputDataException(path, $"line {line}", RejectReasons.WrongType, choices is null
                    ? $"\"correct_choice\" is '{correct}', not an option letter A to Z"
                    : $"\"correct_choice\" is '{correct}', not the letter of one of its {choices.Count} choices (A to {Adapters.Sample.Letter(Math.Max(choices.Count - 1, 0))})");
            }

            keys.Add(new AnswerKey(
                id,
                StringList(e, "answers", path, line)!,
                OptionalString(e, "answer_type", path, line),
                OptionalString(e, "category", path, line),
                choices,
                correct)
            {
                Constraint = ReadConstraint(path, line, OptionalString(e, "constraint", path, line)),
            });
        }

        return keys;
    }

    /// <summary>A string field, or null when it is absent or null; any other value is a wrong-type data error naming the field.</summary>
    internal static string? OptionalString(JsonElement e, string key, string path, long line) =>
        !e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw new InputDataException(path, $"line {line}", RejectReasons.WrongType, $"\"{key}\" is {Kind(v)}, expected a string");

    /// <summary>A list of strings, or null when absent or null; a list holding anything else is a wrong-type data error naming the element.</summary>
    private static List<string>? StringList(JsonElement e, string key, string path, long line)
    {
        if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            throw new InputDataException(path, $"line {line}", RejectReasons.WrongType, $"\"{key}\" is {Kind(v)}, expected a list of strings");
        }

        var list = new List<string>();
        foreach (var x in v.EnumerateArray())
        {
            list.Add(x.ValueKind == JsonValueKind.String
                ? x.GetString()!
                : throw new InputDataException(path, $"line {line}", RejectReasons.WrongType, $"\"{key}\"[{list.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)}] is {Kind(x)}, expected a string"));
        }

        return list;
    }

    internal static string Kind(JsonElement v) => JsonKinds.Describe(v);

    private static string? ReadConstraint(string path, long line, string? value) =>
        value is null || Templates.AnswerConstraints.Types.Contains(value)
            ? value
            : throw new InputDataException(path, $"line {line}", "wrong-type", $"\"constraint\" is '{value}', not one of {string.Join(", ", Templates.AnswerConstraints.Types)}");
}

/// <summary>Model predictions in LLaVA's answer-file layout: one line per question, <c>{"question_id", "text"}</c> (or <c>"answer"</c>).</summary>
public static class PredictionFile
{
    /// <summary>Predicted text by question id; a question predicted twice is a data error naming both lines.</summary>
    public static Dictionary<string, string> Read(string path)
    {
        var predictions = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (e, line) in JsonLines.Read(path))
        {
            var id = JsonLines.Id(e) ?? throw new InputDataException(path, $"line {line}", "missing-field", "no \"question_id\" (string or number)");
            var text = AnswerKey.OptionalString(e, "text", path, line) ?? AnswerKey.OptionalString(e, "answer", path, line)
                ?? throw new InputDataException(path, $"line {line}", RejectReasons.MissingField, "no \"text\" (or \"answer\") string");
            if (!lines.TryAdd(id, line))
            {
                throw new InputDataException(path, $"line {line}", "duplicate-id", $"question_id {id} is predicted again (first on line {lines[id]})");
            }

            predictions[id] = text;
        }

        return predictions;
    }
}
