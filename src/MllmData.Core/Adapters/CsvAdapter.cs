using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Unicode;
using CsvHelper;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>Any CSV file with a header row and a field mapping; lists (answers, choices) are '|'-separated cells.</summary>
public sealed class CsvAdapter : ISourceAdapter
{
    public string Name => "csv";

    public string Description => "any CSV file with a header, read through --map image=COL --map question=COL --map answer=COL [--map choices=COL --map id=COL]; lists are '|'-separated";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("file", true, "the CSV file (RFC 4180; quoted fields may hold commas and newlines)")];

    public IReadOnlyList<AdapterOption> Options { get; } = [Sample.Unanswered];

    public string DefaultTemplatePack => "vqa-short";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("file");
        var taken = new Json.JoinedIds();
        MappedRow.CheckMap(context);

        // Lines over the limit are cut out below the parser, and a record (quoted line breaks) may not grow past it either.
        var capped = new LineCappedStream(context.Files.Open(path, context.Progress));
        var malformed = new List<(long Line, CsvMalformedReason Reason)>();
        var options = new CsvReaderOptions
        {
            TrackLineNumbers = true,
            FieldCountMismatch = CsvFieldCountHandling.Skip,
            MaxRecordSize = capped.MaxLineBytes,
            OnMalformedRecord = m => malformed.Add((m.LineNumber, m.Reason)),
        };
        using var csv = CsvReader.Create(capped, options, leaveOpen: false);
        var checkedHeader = false;
        var rejects = new List<(long Line, string Reason, string Detail)>();
        while (true)
        {
            bool more;
            string? tooLarge = null;
            try
            {
                more = await csv.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (CsvFormatException ex)
            {
                // A record over the limit (typically a quote never closed): nothing after it can be read reliably.
                (more, tooLarge) = (false, ex.Message);
            }

            var line = more ? csv.LineNumber : long.MaxValue;
            var lastLine = more && capped.Dropped.Count > 0 ? line + Enumerable.Range(0, csv.FieldCount).Sum(i => csv.GetRawSpan(i).Count((byte)'\n')) : line;
            string? recordReason = null;
            string? recordDetail = null;
            foreach (var group in malformed.GroupBy(m => m.Line))
            {
                var worst = group.Select(m => m.Reason).OrderBy(r => r == CsvMalformedReason.StrayQuote ? 1 : 0).First();
                if (group.Key < line)
                {
                    rejects.Add((group.Key, RejectReasons.MalformedRow, Describe(worst)));
                }
                else if (worst != CsvMalformedReason.StrayQuote)
                {
                    // A stray quote inside an unquoted field (5" screen) is kept as text, as most CSV readers do.
                    (recordReason, recordDetail) = (RejectReasons.MalformedRow, Describe(worst));
                }
            }

            malformed.Clear();
            while (capped.Dropped.TryPeek(out var dropped) && dropped.Line <= lastLine)
            {
                capped.Dropped.Dequeue();
                var detail = MappedRow.TooLong(dropped.Bytes, capped.MaxLineBytes);
                if (dropped.Line < line)
                {
                    rejects.Add((dropped.Line, RejectReasons.LineTooLong, detail));
                }
                else
                {
                    (recordReason, recordDetail) = (RejectReasons.LineTooLong, $"line {dropped.Line.ToString(CultureInfo.InvariantCulture)} of the row: {detail}");
                }
            }

            foreach (var (at, code, text) in rejects.OrderBy(r => r.Line))
            {
                yield return Sample.Reject(context, path, string.Create(CultureInfo.InvariantCulture, $"line {at}"), code, text);
            }

            rejects.Clear();
            if (tooLarge is not null)
            {
                yield return Sample.Reject(context, path, "after the last row read", RejectReasons.LineTooLong, $"{tooLarge} (a quote that is never closed?); the rest of the file is not read");
            }

            if (!more)
            {
                break;
            }

            if (!checkedHeader)
            {
                foreach (var (field, column) in context.Map)
                {
                    if (!csv.TryGetFieldIndex(column, out _))
                    {
                        throw new Json.InputDataException(path, "line 1", "unknown-layout", $"no column '{column}' (mapped to {field}); columns: {string.Join(", ", csv.Headers)}");
                    }

                    // A reader takes the first of two same-named columns without a word; every row would be read from a guess.
                    // The lookup falls back to any case when no header is spelled exactly so; the count follows it.
                    var exact = csv.Headers.Count(h => h == column);
                    if ((exact > 0 ? exact : csv.Headers.Count(h => string.Equals(h, column, StringComparison.OrdinalIgnoreCase))) is var times and > 1)
                    {
                        throw new Json.InputDataException(path, "line 1", RejectReasons.DuplicateKey, $"the column '{column}' (mapped to {field}) is named {times} times in the header; which one is meant cannot be told (rename the others)");
                    }
                }

                checkedHeader = true;
            }

            var where = string.Create(CultureInfo.InvariantCulture, $"line {line}");
            if (recordReason is null && !Enumerable.Range(0, csv.FieldCount).All(i => Utf8.IsValid(csv.GetRawSpan(i))))
            {
                (recordReason, recordDetail) = (RejectReasons.InvalidUtf8, "a field is not valid UTF-8 text");
            }

            if (recordReason is not null)
            {
                yield return Sample.Reject(context, path, where, recordReason, recordDetail!);
                continue;
            }

            string? Text(string column) => csv.GetStringOrNull(csv.GetFieldIndex(column)) ?? string.Empty;
            List<string>? List(string column) => Text(column) is { } v && v.Contains('|', StringComparison.Ordinal)
                ? [.. v.Split('|', StringSplitOptions.TrimEntries)] // an empty entry stays: dropping it would move the options after it
                : null;
            var (record, reason, rowDetail) = MappedRow.Make(context, Name, path, string.Create(CultureInfo.InvariantCulture, $"r{csv.RowNumber}"), Text, List, taken);
            yield return record is null
                ? Sample.Reject(context, path, where, reason!, rowDetail!)
                : SourceItem.Of(record);
        }
    }

    private static string Describe(CsvMalformedReason reason) => reason switch
    {
        CsvMalformedReason.UnterminatedQuote => "a quoted field is never closed",
        CsvMalformedReason.TextAfterClosingQuote => "text follows the closing quote of a field",
        CsvMalformedReason.LineBreakInQuotes => "a line break inside a quoted field",
        CsvMalformedReason.FieldCountMismatch => "the row has a different number of fields from the header",
        CsvMalformedReason.StrayQuote => "a quote inside an unquoted field",
        _ => reason.ToString(),
    };
}
