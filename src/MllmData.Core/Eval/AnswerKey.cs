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

/// <summary>Reads JSON Lines of objects, with the line number of each.</summary>
internal static class JsonLines
{
    public static IEnumerable<(JsonElement Element, long Line)> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"{path}: no such file");
        }

        long line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonElement e;
            try
            {
                using var doc = JsonDocument.Parse(text);
                e = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new InputDataException(path, $"line {line}", "not-json", ex.Message);
            }

            if (e.ValueKind != JsonValueKind.Object)
            {
                throw new InputDataException(path, $"line {line}", "not-object", "each line is one JSON object");
            }

            yield return (e, line);
        }
    }

    /// <summary>The question id as text: ids are strings in some benchmarks and numbers in others.</summary>
    public static string? Id(JsonElement e) =>
        e.TryGetProperty("question_id", out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;

    public static string? Str(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
