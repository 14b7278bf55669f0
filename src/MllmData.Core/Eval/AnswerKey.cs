using System.Text.Json;
using MllmData.Json;

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

            if (!e.TryGetProperty("answers", out var a) || a.ValueKind != JsonValueKind.Array || a.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            {
                throw new InputDataException(path, $"line {line}", "missing-field", "no \"answers\" list of strings");
            }

            keys.Add(new AnswerKey(
                id,
                [.. a.EnumerateArray().Select(x => x.GetString()!)],
                JsonLines.Str(e, "answer_type"),
                JsonLines.Str(e, "category"),
                e.TryGetProperty("choices", out var c) && c.ValueKind == JsonValueKind.Array ? [.. c.EnumerateArray().Select(x => x.GetString() ?? string.Empty)] : null,
                JsonLines.Str(e, "correct_choice"))
            {
                Constraint = ReadConstraint(path, line, JsonLines.Str(e, "constraint")),
            });
        }

        return keys;
    }

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
            var text = JsonLines.Str(e, "text") ?? JsonLines.Str(e, "answer")
                ?? throw new InputDataException(path, $"line {line}", "missing-field", "no \"text\" (or \"answer\") string");
            if (!lines.TryAdd(id, line))
            {
                throw new InputDataException(path, $"line {line}", "duplicate-id", $"question_id {id} is predicted again (first on line {lines[id]})");
            }

            predictions[id] = text;
        }

        return predictions;
    }
}
