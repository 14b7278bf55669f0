using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using MllmData.Json;
using MllmData.Model;
using MllmData.Validation;

namespace MllmData.Adapters;

/// <summary>
/// Existing instruction data (LLaVA, ShareGPT/LLaMA-Factory, ms-swift, OpenAI chat; JSON list or JSONL, text-only
/// records included) read back into the canonical record, so built and third-party data can be mixed.
/// Each line must pass its format's validator; its instructions are kept as they are.
/// </summary>
public sealed class InstructionsAdapter : ISourceAdapter
{
    public string Name => "instructions";

    public string Description => "existing instruction data: LLaVA, ShareGPT (LLaMA-Factory, ms-swift) or OpenAI chat files, JSON list or JSONL";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("file", true, "the JSON list or JSONL file")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("input-format", "auto (decided per record), llava, llava-question (LLaVA evaluation question files), sharegpt or openai", "auto") { Allowed = ["auto", "llava", "llava-question", "sharegpt", "openai"] },
    ];

    public string DefaultTemplatePack => "(kept as written)";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("file");
        var format = context.Choice("input-format", "auto", "auto", "llava", "llava-question", "sharegpt", "openai");
        var validators = new Dictionary<string, IFormatValidator>(StringComparer.Ordinal);
        var findings = new List<Finding>();
        foreach (var (element, where, number, error) in Lines(context, path))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (error is not null || element is not { ValueKind: JsonValueKind.Object } e)
            {
                yield return Sample.Reject(context, path, where, error is null ? FindingCodes.NotObject : FindingCodes.NotJson, error ?? "not a JSON object");
                continue;
            }

            var f = format == "auto" ? InstructionLineReader.Detect(e) : format;
            findings.Clear();
            if (f == "llava-question")
            {
                // A question file line: an evaluation record, valid when it has text.
                if (string.IsNullOrWhiteSpace(e.Str("text")))
                {
                    findings.Add(new(FindingCodes.EmptyContent, "\"text\" is empty"));
                }
            }
            else
            {
                if (!validators.TryGetValue(f, out var validator))
                {
                    validators[f] = validator = ValidatorRegistry.Create(f);
                }

                validator.Validate(e, findings);
            }

            if (findings.Count > 0)
            {
                yield return Sample.Reject(context, path, where, findings[0].Code, $"as {f}: {string.Join("; ", findings.Select(x => x.Message))}");
                continue;
            }

            var read = InstructionLineReader.Read(e, f, path, number);
            yield return SourceItem.Of(read with
            {
                Id = $"{context.SourceName}-{(f is "llava" or "llava-question" ? read.Id : string.Create(CultureInfo.InvariantCulture, $"l{number}"))}",
                Source = context.SourceName,
                Task = read.Images.Count > 0 ? "instructions" : "text",
                Provenance = read.Provenance with { Ids = [new("line", number.ToString(CultureInfo.InvariantCulture)), new("format", f)] },
            });
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Records of a JSON list, or lines of a JSONL file (blank lines skipped), parsed.</summary>
    private static IEnumerable<(JsonElement? Element, string Where, long Number, string? Error)> Lines(SourceContext context, string path)
    {
        // A look at the first byte decides between a JSON list and JSONL (a missing file is reported by Open below).
        var first = -1;
        if (File.Exists(path))
        {
            using var peek = File.OpenRead(path);
            while ((first = peek.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
            {
            }
        }
        if (first == '[')
        {
            foreach (var item in JsonElements.Read(context.Files.Open(path, context.Progress), path, JsonLayout.TopLevelArray))
            {
                using (item)
                {
                    yield return (item.IsObject ? item.Element.Clone() : null, item.Where("records"), item.Index + 1, item.IsObject ? null : item.Error);
                }
            }

            yield break;
        }

        using var reader = new StreamReader(context.Files.Open(path, context.Progress), Encoding.UTF8);
        long lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonElement? element = null;
            string? error = null;
            try
            {
                using var doc = JsonDocument.Parse(line);
                element = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                error = ex.Message;
            }

            yield return (element, string.Create(CultureInfo.InvariantCulture, $"line {lineNo}"), lineNo, error);
        }
    }
}
