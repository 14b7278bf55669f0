using System.Text.Json;
using MllmData.Adapters;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Eval;

/// <summary>Reads JSON Lines of objects, with the line number of each.</summary>
internal static class JsonLines
{
    public static IEnumerable<(JsonElement Element, long Line)> Read(string path)
    {
        // A data error (exit 2), as a missing input of build or validate is.
        if (Inputs.InputFiles.Missing(path) is { } missing)
        {
            throw Directory.Exists(path) ? new InputDataException(path, "-", "not-a-file", "is a folder, not a file: name a file in it (an evaluation build's answers.jsonl, say)") : missing;
        }

        // Bounded lines: a file without line breaks cannot grow memory.
        using var lines = new BoundedLineReader(Inputs.InputFiles.OpenChecked(path));
        while (lines.TryRead(out var read))
        {
            var line = read.Number;
            if (read.TooLong)
            {
                throw new InputDataException(path, $"line {line}", RejectReasons.LineTooLong, MappedRow.TooLong(read.TooLongBytes, lines.MaxLineBytes));
            }

            var bytes = read.Bytes;
            if (line == 1 && bytes.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                bytes = bytes[3..];
            }

            if (bytes.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            if (!TextCheck.IsValid(bytes.Span))
            {
                throw new InputDataException(path, $"line {line}", RejectReasons.InvalidUtf8, StreamingJsonReader.InvalidText);
            }

            JsonElement e;
            try
            {
                // A key written twice (an image, an answer) would decide what is excluded or scored by which copy a reader keeps.
                using var doc = JsonRecord.Parse(bytes, out var doubled)
                    ?? throw new InputDataException(path, $"line {line}", RejectReasons.DuplicateKey, doubled!);
                e = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw BoundedLineReader.LoneCarriageReturn(bytes.Span, path, line) ?? new InputDataException(path, $"line {line}", "not-json", Json.JsonErrors.InWords(ex));
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
            JsonValueKind.Number => NumberId(v),
            _ => null,
        } : null;

    /// <summary>A numeric id as its integer when it is whole (<c>3.0</c> and <c>3</c> are one question), else as written.</summary>
    private static string NumberId(JsonElement v) =>
        v.TryGetInt64(out var n) ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : v.TryGetDecimal(out var d) && d == decimal.Truncate(d) ? decimal.Truncate(d).ToString(System.Globalization.CultureInfo.InvariantCulture)
        : v.GetRawText();

    public static string? Str(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
