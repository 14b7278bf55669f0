using System.Globalization;
using System.Text.Json;
using MllmData.Adapters;
using MllmData.Formats;
using MllmData.Json;
using MllmData.Images;
using MllmData.Records;
using MllmData.Recipes;
using Serilog;

namespace MllmData.Pipeline.Steps;

/// <summary>What <c>--icl-shots</c>, <c>--icl-order</c> and <c>--icl-pool</c> ask for.</summary>
public sealed record IclSettings(int Shots, string Order, string? PoolFile, long Seed);

/// <summary>
/// M-ICL: puts K solved examples of the record's task before it, each with its own image (the examples' images first
/// in the record's images, then the query's). Candidates come from a first pass over the same source (through the
/// steps before this one, so they are checked and templated as the queries are) or from <c>--icl-pool</c> built
/// shards read back through the format modules; either way a bounded reservoir per task (<see cref="IclPool"/>), so
/// every query can draw from the whole input while memory stays flat. The pass runs when the first record arrives.
/// </summary>
public sealed class IclStep : IRecordStep
{
    public static readonly string OrderSeeded = Recipe.IclOrders[0];
    public static readonly string OrderSimilarLength = Recipe.IclOrders[1];
    public static readonly IReadOnlyList<string> Orders = Recipe.IclOrders;

    private readonly IclSettings _settings;
    private readonly ISourceAdapter _adapter;
    private readonly Func<SourceContext> _context;
    private readonly IReadOnlyList<IRecordStep> _before;
    private readonly ILogger _log;
    private IclPool? _pool;

    /// <summary>A step with its settings, the source's adapter and a way to make its context for the first pass; <paramref name="before"/> are the steps before this one, applied to candidates too.</summary>
    public IclStep(IclSettings settings, ISourceAdapter adapter, Func<SourceContext> context, IReadOnlyList<IRecordStep> before, ILogger log)
    {
        _settings = settings;
        _adapter = adapter;
        _context = context;
        _before = [.. before];
        _log = log;
        _identity = context().ImageRoot is { } root ? new ImageIdentity(new ImageRootCheck(root)) : null;
    }

    /// <summary>Compares the query's images with the examples' by content under the source's image root.</summary>
    private readonly ImageIdentity? _identity;

    /// <summary>Most examples per record.</summary>
    public const int MaxShots = 64;

    /// <summary>
    /// The step a recipe asks for on a source, or null without <c>icl_shots</c>; bad settings are refused (exit 1)
    /// before any file is touched.
    /// </summary>
    public static IclStep? For(SourceSpec spec, string name, ISourceAdapter adapter, Recipe recipe, IOutputFormat format, IReadOnlyList<IRecordStep> before, ILogger log)
    {
        if (recipe.IclShots == 0)
        {
            return recipe.IclPool is null ? null : throw new UsageException("--icl-pool: give --icl-shots K as well");
        }

        if (recipe.IclShots is < 0 or > MaxShots)
        {
            throw new UsageException($"--icl-shots must be 1..{MaxShots}, got {recipe.IclShots}");
        }

        if (!Orders.Contains(recipe.IclOrder))
        {
            throw new UsageException($"--icl-order must be {string.Join(" or ", Orders)}, got '{recipe.IclOrder}'");
        }

        if (!format.Capabilities.InContextExamples)
        {
            var able = FormatRegistry.All.Where(f => f.Capabilities.InContextExamples).Select(f => f.Name);
            throw new UsageException($"--icl-shots: {format.Name} has no place for in-context examples, each with its own image; use {string.Join(", ", able)}");
        }

        string? pool = null;
        if (recipe.IclPool is { } given)
        {
            pool = recipe.Folder is not null && !Path.IsPathRooted(given) ? Path.Combine(recipe.Folder, given) : given;
            _ = PoolFiles(pool);
        }
        else if (spec.Options.TryGetValue(Sample.Unanswered.Name, out var unanswered) && unanswered == "eval")
        {
            // Examples never come from an evaluation split: such a source draws them from a built training pool.
            throw new UsageException($"--icl-shots: source '{name}' is an evaluation split (--unanswered eval); its examples must come from --icl-pool FILE");
        }

        return new IclStep(
            new IclSettings(recipe.IclShots, recipe.IclOrder, pool, recipe.Seed),
            adapter,
            () => new SourceContext { SourceName = name, Inputs = spec.Inputs, Options = spec.Options, Map = spec.Map, ImageRoot = spec.ImageRoot, IncludeDetail = false, Seed = recipe.Seed },
            before,
            log);
    }

    /// <summary>The candidate pool, filled by the first pass (null until the first record).</summary>
    public IclPool? Pool => _pool;

    public SourceItem Apply(InstructionRecord record)
    {
        // M-ICL examples are image, instruction and response: a text-only record (conversation data mixed in beside
        // the image data) has no image for them to precede, and is passed on as it is, as it keeps its own instructions.
        if (record.Images.Count == 0)
        {
            return SourceItem.Of(record);
        }

        // IRecordStep is synchronous; the first pass is one blocking wait per source, off the caller's context.
        _pool ??= Task.Run(() => FillAsync(CancellationToken.None)).GetAwaiter().GetResult();
        var chosen = _pool.Choose(record, _settings.Shots, _settings.Order, _identity);
        if (chosen is null)
        {
            var candidates = _pool.CandidatesFor(record.Task);
            return SourceItem.Rejected(new Reject(
                record.Source, record.Provenance.File, record.Id, RejectReasons.TooFewExamples,
                $"--icl-shots {_settings.Shots}: {candidates} candidate examples of task '{record.Task}' (of at most {_pool.Capacity} kept), too few that are not this record and do not share its image (by path or by bytes)"));
        }

        return SourceItem.Of(record with
        {
            Examples = [.. chosen.Select(c => c.ToExample())],
            ExampleOrder = _settings.Order,
            Images = [.. chosen.Select(c => c.Image), .. record.Images],
        });
    }

    /// <summary>The first pass: the pool file's lines, or the source read once more, offered to a fresh reservoir.</summary>
    public async Task<IclPool> FillAsync(CancellationToken ct)
    {
        var pool = new IclPool(_settings.Seed, IclPool.CapacityFor(_settings.Shots));
        long offered = 0;
        var skipped = new SortedDictionary<string, long>(StringComparer.Ordinal);
        if (_settings.PoolFile is { } file)
        {
            foreach (var (record, task) in PoolRecords(file, skipped))
            {
                ct.ThrowIfCancellationRequested();
                if (Through(record) is not { } r)
                {
                    Skip(skipped, "rejected-by-the-source-steps");
                }
                else if (pool.Offer(r, task))
                {
                    offered++;
                }
                else
                {
                    Skip(skipped, "not-a-solved-single-image-record");
                }
            }

            if (offered == 0)
            {
                _log.Warning(
                    "--icl-pool {Pool}: no line is a solved single-image record to use as an example for source {Source} (lines passed over, by reason: {Skipped}); every query of it will be rejected as too-few-examples",
                    file, _context().SourceName, skipped.Count == 0 ? "none: the pool has no lines" : string.Join(", ", skipped.Select(kv => $"{kv.Key} {kv.Value}")));
            }
        }
        else
        {
            await foreach (var item in _adapter.ReadAsync(_context(), ct).ConfigureAwait(false))
            {
                if (item.Record is { } read && Through(read) is { } r && pool.Offer(r, r.Task))
                {
                    offered++;
                }
            }
        }

        _log.Information("in-context examples: {Kept} candidates kept of {Offered} solved single-image records ({Capacity} at most per task)", pool.Total, offered, pool.Capacity);
        return pool;
    }

    private InstructionRecord? Through(InstructionRecord record)
    {
        foreach (var step in _before)
        {
            // The queries' own pass counts each record (a contaminated one among them); this first pass only looks.
            var item = step.Peek(record);
            if (item.Record is null)
            {
                return null;
            }

            record = item.Record;
        }

        return record;
    }

    /// <summary>Shard files of a pool: the file itself, or the <c>data/</c> shards of a build folder.</summary>
    public static IReadOnlyList<string> PoolFiles(string path)
    {
        if (File.Exists(path))
        {
            return [path];
        }

        var data = Path.Combine(path, "data");
        var files = Directory.Exists(data)
            ? Directory.GetFiles(data).Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".parquet", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList()
            : [];
        return files.Count > 0
            ? files
            : throw new UsageException($"--icl-pool {path}: neither a file nor a build folder with shards in data/");
    }

    /// <summary>The valid lines of a pool's shards read back into records, each with its task (<c>meta.task</c>, or any task).</summary>
    /// <remarks>Lines that give no record are counted in <paramref name="skipped"/> by reason.</remarks>
    private static IEnumerable<(InstructionRecord Record, string Task)> PoolRecords(string path, SortedDictionary<string, long> skipped)
    {
        var options = new RenderOptions();
        var findings = new List<Finding>();
        foreach (var file in PoolFiles(path))
        {
            foreach (var (element, line) in Lines(file, skipped))
            {
                if (FormatRegistry.Detect(element) is not { } format)
                {
                    Skip(skipped, "unknown-format");
                    continue;
                }

                findings.Clear();
                format.CreateValidator(options).Validate(element, findings);
                if (findings.Count > 0)
                {
                    Skip(skipped, findings[0].Code);
                    continue;
                }

                InstructionRecord read;
                try
                {
                    read = format.Read(element, new LineOrigin(file, line), options);
                }
                catch (FormatException)
                {
                    Skip(skipped, "unreadable");
                    continue;
                }

                var meta = element.TryGetProperty("meta", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
                var task = meta.ValueKind == JsonValueKind.Object && meta.Str("task") is { Length: > 0 } t ? t : IclPool.AnyTask;
                var id = read.Id.StartsWith("line", StringComparison.Ordinal)
                    ? string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(file)}:{line}")
                    : read.Id;
                yield return (read with { Id = id, Task = task }, task);
            }
        }
    }

    private static void Skip(SortedDictionary<string, long> skipped, string reason) => skipped[reason] = skipped.GetValueOrDefault(reason) + 1;

    /// <summary>The objects of a JSON list or a JSONL file, with their 1-based numbers; other lines counted by reason.</summary>
    private static IEnumerable<(JsonElement Element, long Line)> Lines(string file, SortedDictionary<string, long> skipped)
    {
        if (file.EndsWith(".parquet", StringComparison.Ordinal))
        {
            // A Parquet pool's rows as its format's records (embedded images by their paths).
            foreach (var (record, row) in ShardReader.Records(file))
            {
                using var doc = JsonDocument.Parse(record.ToJsonString());
                yield return (doc.RootElement.Clone(), row);
            }

            yield break;
        }

        int first;
        using (var peek = File.OpenRead(file))
        {
            while ((first = peek.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
            {
            }
        }

        if (first == '[')
        {
            using var stream = File.OpenRead(file);
            foreach (var item in JsonElements.Read(stream, file, JsonLayout.TopLevelArray))
            {
                using (item)
                {
                    if (item.IsObject)
                    {
                        yield return (item.Element.Clone(), item.Index + 1);
                    }
                    else
                    {
                        Skip(skipped, "not-object");
                    }
                }
            }

            yield break;
        }

        // Bounded lines: a pool without line breaks cannot grow memory.
        using var lines = new BoundedLineReader(File.OpenRead(file));
        while (lines.TryRead(out var read))
        {
            if (read.TooLong)
            {
                Skip(skipped, RejectReasons.LineTooLong);
                continue;
            }

            var bytes = read.Bytes.Span;
            if (read.Number == 1 && bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                bytes = bytes[3..];
            }

            if (bytes.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            if (!TextCheck.IsValid(bytes))
            {
                Skip(skipped, RejectReasons.InvalidUtf8);
                continue;
            }

            JsonElement element;
            try
            {
                using var doc = JsonDocument.Parse(read.Bytes[(read.Bytes.Length - bytes.Length)..]);
                element = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                Skip(skipped, "not-json");
                continue;
            }

            if (element.ValueKind == JsonValueKind.Object)
            {
                yield return (element, read.Number);
            }
            else
            {
                Skip(skipped, "not-object");
            }
        }
    }
}
