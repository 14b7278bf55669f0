using System.Globalization;
using System.Runtime.CompilerServices;
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
        MappedRow.CheckMap(context);
        await using var stream = context.Files.Open(path, context.Progress);
        using var csv = CsvReader.Create(stream, new CsvReaderOptions { TrackLineNumbers = true }, leaveOpen: false);
        var checkedHeader = false;
        while (await csv.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!checkedHeader)
            {
                foreach (var (field, column) in context.Map)
                {
                    if (!csv.TryGetFieldIndex(column, out _))
                    {
                        throw new Json.InputDataException(path, "line 1", "unknown-layout", $"no column '{column}' (mapped to {field}); columns: {string.Join(", ", csv.Headers)}");
                    }
                }

                checkedHeader = true;
            }

            var line = csv.LineNumber;
            string? Text(string column) => csv.GetStringOrNull(csv.GetFieldIndex(column)) is { Length: > 0 } v ? v : null;
            List<string>? List(string column) => Text(column) is { } v && v.Contains('|', StringComparison.Ordinal)
                ? [.. v.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)]
                : null;
            var (record, reason, detail) = MappedRow.Make(context, Name, path, string.Create(CultureInfo.InvariantCulture, $"r{csv.RowNumber}"), Text, List);
            yield return record is null
                ? Sample.Reject(context, path, string.Create(CultureInfo.InvariantCulture, $"line {line}"), reason!, detail!)
                : SourceItem.Of(record);
        }
    }
}
