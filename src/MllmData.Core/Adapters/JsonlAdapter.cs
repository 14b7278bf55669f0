using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>Any JSONL file with a field mapping (<c>--map image=KEY --map question=KEY --map answer=KEY --map choices=KEY</c>).</summary>
public sealed class JsonlAdapter : ISourceAdapter
{
    public string Name => "jsonl";

    public string Description => "any JSONL file, one object per line, read through --map image=KEY --map question=KEY --map answer=KEY [--map choices=KEY --map id=KEY]";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("file", true, "the JSONL file (blank lines are skipped)")];

    public IReadOnlyList<AdapterOption> Options { get; } = [Sample.Unanswered];

    public string DefaultTemplatePack => "vqa-short";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("file");
        var taken = new Json.JoinedIds();
        MappedRow.CheckMap(context);
        using var lines = new BoundedLineReader(context.Files.Open(path, context.Progress));
        while (lines.TryRead(out var line))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lineNo = line.Number;
            var where = string.Create(CultureInfo.InvariantCulture, $"line {lineNo}");
            if (line.TooLong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.LineTooLong, MappedRow.TooLong(line.TooLongBytes, lines.MaxLineBytes));
                continue;
            }

            var bytes = line.Bytes;
            if (lineNo == 1 && bytes.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                bytes = bytes[3..];
            }

            if (bytes.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            JsonDocument? doc = null;
            string? parseError = null;
            string? doubled = null;
            try
            {
                // The document reads the line's bytes in place; it is disposed before the next line is read.
                doc = JsonRecord.Parse(bytes, out doubled);
            }
            catch (JsonException ex)
            {
                parseError = Json.JsonErrors.InWords(ex);
                if (BoundedLineReader.LoneCarriageReturn(bytes.Span, path, lineNo) is { } crLines)
                {
                    throw crLines;
                }
            }

            if (doc is null)
            {
                yield return doubled is not null
                    ? Sample.Reject(context, path, where, RejectReasons.DuplicateKey, doubled)
                    : Sample.Reject(context, path, where, "not-json", parseError!);
                continue;
            }

            using (doc)
            {
                var e = doc.RootElement;
                if (e.ValueKind != JsonValueKind.Object)
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.WrongType, "the line is not a JSON object");
                    continue;
                }

                if (!TextCheck.IsValid(bytes.Span))
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.InvalidUtf8, StreamingJsonReader.InvalidText);
                    continue;
                }

                if (MappedRow.WrongKind(context, e) is { } wrong)
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                    continue;
                }

                var (record, reason, detail) = MappedRow.Make(context, Name, path, $"l{lineNo}", key => MappedRow.JsonText(e, key), key => MappedRow.JsonList(e, key), taken);
                yield return record is null ? Sample.Reject(context, path, where, reason!, detail!) : SourceItem.Of(record);
            }
        }
    }
}
