using System.Text;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Formats;

/// <summary>One bad record of a validated file.</summary>
public sealed record FileFinding(string File, string Where, long Line, string Code, string Message);

/// <summary>Totals for one validated file.</summary>
public sealed record FileSummary(string File, long Records, long Bad, long BlankLines);

/// <summary>Validates any JSONL file, a JSON list, or a Parquet shard of ours, record by record, streaming.</summary>
public sealed class FileValidator(IFormatValidator validator)
{
    public FileSummary Validate(string path, Action<FileFinding> report)
    {
        if (path.EndsWith(".parquet", StringComparison.Ordinal))
        {
            return ValidateParquet(path, report);
        }

        using var stream = Inputs.InputFiles.OpenChecked(path);
        var first = -1;
        while ((first = stream.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
        {
        }

        stream.Position = 0;
        return first == '[' ? ValidateList(path, stream, report) : ValidateLines(path, stream, report);
    }

    private FileSummary ValidateLines(string path, Stream stream, Action<FileFinding> report)
    {
        // Bytes that are not UTF-8 stop the reading with a finding, instead of being read as U+FFFD and called clean.
        using var reader = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        long lineNo = 0, records = 0, bad = 0, blank = 0;
        var findings = new List<Finding>();
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException)
            {
                bad++;
                report(new FileFinding(path, $"line {lineNo + 1}", lineNo + 1, Records.RejectReasons.InvalidUtf8, "the file is not valid UTF-8 text from here on (or near here); the rest is not read"));
                break;
            }

            if (line is null)
            {
                break;
            }

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
                using var doc = Json.JsonRecord.Parse(Encoding.UTF8.GetBytes(line), out var doubled);
                if (doc is null)
                {
                    // A consumer's reader would keep one of the two values: which one is not the file's to say.
                    findings.Add(new(FindingCodes.DuplicateKey, doubled!));
                }
                else
                {
                    Check(doc.RootElement, findings);
                }
            }
            catch (JsonException ex)
            {
                findings.Add(new(FindingCodes.NotJson, Json.JsonErrors.InWords(ex)));
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
        long records = 0, bad = 0;
        var findings = new List<Finding>();
        foreach (var item in JsonElements.Read(stream, path, JsonLayout.TopLevelArray))
        {
            using (item)
            {
                records++;
                findings.Clear();
                if (item.Parsed)
                {
                    Check(item.Element, findings);
                }
                else
                {
                    findings.Add(new(Json.JsonErrors.IsDoubledKey(item.Error) ? FindingCodes.DuplicateKey : FindingCodes.NotJson, item.Error!));
                }
                if (findings.Count > 0)
                {
                    bad++;
                    foreach (var f in findings)
                    {
                        report(new FileFinding(path, $"record {item.Index + 1}", item.Index + 1, f.Code, f.Message));
                    }
                }
            }
        }

        return new FileSummary(path, records, bad, 0);
    }

    /// <summary>Each row as the format's JSON record; embedded images must be there and be images.</summary>
    private FileSummary ValidateParquet(string path, Action<FileFinding> report)
    {
        long records = 0, bad = 0;
        var findings = new List<Finding>();
        foreach (var (record, number, images) in ShardReader.ParquetRows(path))
        {
            records++;
            findings.Clear();
            using (var doc = JsonDocument.Parse(record.ToJsonString()))
            {
                Check(doc.RootElement, findings);
            }

            for (var i = 0; i < images.Count; i++)
            {
                if (images[i].Bytes is not { } bytes)
                {
                    findings.Add(new(FindingCodes.MissingField, $"image {i} ({images[i].Path}) has no bytes"));
                }
                else if (ImageMedia.Sniff(bytes) is null)
                {
                    findings.Add(new(FindingCodes.BadImageType, $"image {i} ({images[i].Path}): its bytes are no known image type"));
                }
            }

            if (findings.Count > 0)
            {
                bad++;
                foreach (var f in findings)
                {
                    report(new FileFinding(path, $"row {number}", number, f.Code, f.Message));
                }
            }
        }

        return new FileSummary(path, records, bad, 0);
    }

    private void Check(JsonElement root, List<Finding> findings)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            findings.Add(new(FindingCodes.NotObject, $"a record is {root.ValueKind}, expected an object"));
            return;
        }

        // Text a build would refuse (a lone surrogate escape, a control character) is a finding here too.
        if (TextProblem(root) is { } problem)
        {
            findings.Add(problem);
            return;
        }

        validator.Validate(root, findings);
    }

    /// <summary>The first string of the record (names and values, at any depth) that is not valid text or holds a control character.</summary>
    private static Finding? TextProblem(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                string text;
                try
                {
                    text = e.GetString()!;
                }
                catch (InvalidOperationException)
                {
                    return new(Records.RejectReasons.InvalidUtf8, StreamingJsonReader.InvalidText);
                }

                return TextCheck.ControlAt(text) is { } at
                    ? new(Records.RejectReasons.ControlCharacters, System.FormattableString.Invariant($"a text holds the control character U+{(int)text[at]:X4} at character {at + 1}"))
                    : null;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = p.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return new(Records.RejectReasons.InvalidUtf8, StreamingJsonReader.InvalidText);
                    }

                    if (TextCheck.ControlAt(name) is { } k)
                    {
                        return new(Records.RejectReasons.ControlCharacters, System.FormattableString.Invariant($"a key holds the control character U+{(int)name[k]:X4} at character {k + 1}"));
                    }

                    if (TextProblem(p.Value) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray())
                {
                    if (TextProblem(item) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }
}
