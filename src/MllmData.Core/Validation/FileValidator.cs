using System.Text;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Validation;

/// <summary>One bad record of a validated file.</summary>
public sealed record FileFinding(string File, string Where, long Line, string Code, string Message);

/// <summary>Totals for one validated file.</summary>
public sealed record FileSummary(string File, long Records, long Bad, long BlankLines);

/// <summary>Validates any JSONL file, or a JSON list, record by record, streaming.</summary>
public sealed class FileValidator(IFormatValidator validator)
{
    public FileSummary Validate(string path, Action<FileFinding> report)
    {
        using var stream = File.OpenRead(path);
        var first = -1;
        while ((first = stream.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
        {
        }

        stream.Position = 0;
        return first == '[' ? ValidateList(path, stream, report) : ValidateLines(path, stream, report);
    }

    private FileSummary ValidateLines(string path, Stream stream, Action<FileFinding> report)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        long lineNo = 0, records = 0, bad = 0, blank = 0;
        var findings = new List<Finding>();
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                blank++;
                continue;
            }

            records++;
            findings.Clear();
            try
            {
                using var doc = JsonDocument.Parse(line);
                Check(doc.RootElement, findings);
            }
            catch (JsonException ex)
            {
                findings.Add(new(FindingCodes.NotJson, ex.Message));
            }

            if (findings.Count > 0)
            {
                bad++;
                foreach (var f in findings)
                {
                    report(new FileFinding(path, $"line {lineNo}", lineNo, f.Code, f.Message));
                }
            }
        }

        return new FileSummary(path, records, bad, blank);
    }

    private FileSummary ValidateList(string path, Stream stream, Action<FileFinding> report)
    {
        using var reader = new StreamingJsonReader(stream, path);
        reader.Read();
        long index = 0, bad = 0;
        var findings = new List<Finding>();
        while (reader.TryReadValue<JsonDocument>(ParseDocument, out var doc, out _, out var error))
        {
            index++;
            findings.Clear();
            if (doc is null)
            {
                findings.Add(new(FindingCodes.NotObject, error ?? "not a JSON value"));
            }
            else
            {
                using (doc)
                {
                    Check(doc.RootElement, findings);
                }
            }

            if (findings.Count > 0)
            {
                bad++;
                foreach (var f in findings)
                {
                    report(new FileFinding(path, $"record {index}", index, f.Code, f.Message));
                }
            }
        }

        return new FileSummary(path, index, bad, 0);
    }

    private static ParseStatus ParseDocument(ref Utf8JsonReader reader, out JsonDocument? value, out string? error)
    {
        error = null;
        return JsonDocument.TryParseValue(ref reader, out value) ? ParseStatus.Ok : ParseStatus.NeedMoreData;
    }

    private void Check(JsonElement root, List<Finding> findings)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            findings.Add(new(FindingCodes.NotObject, $"a record is {root.ValueKind}, expected an object"));
            return;
        }

        validator.Validate(root, findings);
    }
}
