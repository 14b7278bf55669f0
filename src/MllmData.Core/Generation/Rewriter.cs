using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Formats;
using MllmData.Json;
using MllmData.Records;
using MllmData.ModelCalls;
using MllmData.Output;
using MllmData.Parts;
using MllmData.Templates;
using Serilog;

namespace MllmData.Generation;

/// <summary>Settings of a rewrite run.</summary>
public sealed record RewriteOptions
{
    /// <summary><c>short</c>: only answers of at most <see cref="MaxAnswerWords"/> words; <c>all</c>: every answer.</summary>
    public string Select { get; init; } = "short";

    public int MaxAnswerWords { get; init; } = 3;

    /// <summary>Keep the raw answer when the rewrite fails or is inconsistent, instead of rejecting the record.</summary>
    public bool KeepRawOnFailure { get; init; }

    public int MaxOutputTokens { get; init; } = 120;

    public float Temperature { get; init; }

    public string? ImageRoot { get; init; }

    /// <summary>Captions by image file name, for the with-captions prompt.</summary>
    public IReadOnlyDictionary<string, List<string>>? Captions { get; init; }

    public string ImageToken { get; init; } = "<image>";

    /// <summary>The template library, for the output's dataset card (questions are recovered through the records' templates).</summary>
    public Templates.TemplateLibrary? Templates { get; init; }

    /// <summary>Lines taken out of questions before they reach the model: the response-format suffixes ("Reply with one word...").</summary>
    public IReadOnlySet<string> SuffixLines { get; init; } = new HashSet<string>();

    /// <summary>
    /// Ids of the templates whose packs are known (the library's and the build's own pack files): a record built from
    /// another pack may carry suffix lines that cannot be recognised, and the run says so.
    /// </summary>
    public IReadOnlySet<string>? KnownTemplates { get; init; }

    /// <summary>Templates tagged <c>brief</c> by id, with the templates of their pack a rewritten question is put in instead.</summary>
    public IReadOnlyDictionary<string, BriefTemplate>? BriefTemplates { get; init; }

    /// <summary>The suffixes that ask for a bare answer (tagged <c>brief</c> in their packs): a rewritten answer's question loses them.</summary>
    public IReadOnlySet<string> BriefLines { get; init; } = new HashSet<string>();

    /// <summary>
    /// The reply is a chain of reasoning ending in an "Answer: X" line (<c>--prompt rationale</c>): checked by
    /// <see cref="RewriteCheck.CheckRationale"/> instead of <see cref="RewriteCheck.Check"/>.
    /// </summary>
    public bool Rationale { get; init; }

    /// <summary>Records handled together; their calls run concurrently, their output is written in order.</summary>
    public int Window { get; init; } = 64;

    /// <summary><c>flag</c>: count object mentions of rewrites that the image does not hold; <c>reject</c>: and fail such rewrites; <c>off</c>.</summary>
    public string Hallucination { get; init; } = HallucinationTally.Flag;

    /// <summary>Constraint lines ("Answer yes or no.") of the template packs by text, with their type: a rewrite must obey the one its question ends with.</summary>
    public IReadOnlyDictionary<string, string> ConstraintLines { get; init; } = new Dictionary<string, string>();

    /// <summary>Annotated object categories by image file name (a COCO instances file), for the hallucination check.</summary>
    public IReadOnlyDictionary<string, HashSet<string>>? Instances { get; init; }
}

/// <summary>What a rewrite run did.</summary>
public sealed record RewriteResult(long Records, long Rewritten, long Rejects, bool Capped, string? CapReason, IReadOnlyDictionary<string, long> RejectsByReason);

/// <summary>Dry-run totals: what a run would send, and what it would cost.</summary>
public sealed record DryRunTotals(long Requests, long CacheHits, long PromptTokens, long MaxOutputTokens, decimal? EstimatedCost);

/// <summary>
/// Lengthens short answers of a built dataset through the model call path, keeping the raw answer beside
/// the rewrite and rejecting rewrites that drop or contradict it.
/// </summary>
public sealed class Rewriter(TemplatePack pack, RewriteOptions options, ILogger log)
{
    private static readonly JsonSerializerOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The response-format suffixes that ask for a word or a short phrase and for no checked constraint: a rewritten answer takes them out of its question.</summary>
    private readonly HashSet<string> _briefLines = [.. options.BriefLines.Where(l => !options.ConstraintLines.ContainsKey(l))];

    /// <summary>The pack's identity in cache keys: its id and a hash of its wording, so edited prompts are asked afresh.</summary>
    public string PromptVersion { get; } = $"{pack.Id}@{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pack.System + "\u001f" + string.Join("\u001f", pack.Templates.Select(t => t.Text)))))[..12]}";

    private sealed record Input(IOutputFormat Format, string Name, string Container, List<string> Shards)
    {
        /// <summary>The settings the rewritten shards are written with: the input's container, and its Parquet row groups.</summary>
        public RenderOptions Options(string imageToken) => new() { ImageToken = imageToken, Container = Container, RowGroupRecords = RowGroupRecords, RowGroupBytes = RowGroupBytes };

        public long RowGroupRecords { get; init; } = ParquetSettings.DefaultRowGroupRecords;

        public long RowGroupBytes { get; init; } = ParquetSettings.DefaultRowGroupBytes;
    }

    /// <summary>One input line and its calls; <see cref="Rejected"/> when it cannot be asked at all (e.g. a missing image).</summary>
    private sealed record Pending(JsonObject Line, string Shard, long LineNo, List<(Exchange Exchange, ChatRequest Request)> Calls, Reject? Rejected = null)
    {
        /// <summary>The answer-format constraint each call's question states (its last line), aligned with <see cref="Calls"/>.</summary>
        public List<string?> Constraints { get; init; } = [];

        /// <summary>Each call's exchange among the line's exchanges (its turn, and its entry in <c>meta.templates</c>), aligned with <see cref="Calls"/>.</summary>
        public List<int> Turns { get; init; } = [];

        /// <summary>The line's place in the whole input (its event's place in the run).</summary>
        public long Seq { get; init; }

        /// <summary>False: another worker's line under a split, asked nothing.</summary>
        public bool Owned { get; init; } = true;
    }

    /// <summary>An image of the with-image prompt that cannot be sent; the record becomes a reject, the run goes on.</summary>
    private sealed class ImageUnavailableException(string reason, string detail) : Exception(detail)
    {
        public string Reason { get; } = reason;
    }

    /// <summary>The most an image sent to the model may weigh (the hosted APIs refuse more than 20 MB).</summary>
    private const long MaxImageBytes = 20L * 1024 * 1024;

    public static string InputFormat(string inDir) => ReadInput(inDir).Format.Name;

    private static Input ReadInput(string inDir)
    {
        // Read as stats reads it: a folder without a manifest, a manifest that cannot be read or is no JSON object (or
        // names a key twice) is a data error naming the file.
        var manifestPath = Path.Combine(inDir, "manifest.json");
        using var doc = JsonSerializer.SerializeToDocument(Stats.StatsReader.Manifest(inDir));
        var root = doc.RootElement;
        var format = FormatRegistry.Get(root.Str("format") ?? throw new InputDataException(manifestPath, "-", "unknown-layout", "no \"format\""));
        if (!format.Capabilities.Readable)
        {
            throw new UsageException($"rewrite reads formats whose answers can be edited safely, not '{format.Name}' (build llava, sharegpt, swift, openai or m3it)");
        }

        var parquet = root.TryGetProperty("parquet", out var p) && p.ValueKind == JsonValueKind.Object ? p : (JsonElement?)null;
        if (parquet is { } embedded && embedded.Str("image_column") == "embed")
        {
            throw new UsageException($"rewrite: {inDir} is a Parquet build with the images' bytes in its rows; rewrite a build that carries image paths (--images reference or copy) and build Parquet from the result");
        }

        return new Input(
            format,
            root.Str("name") ?? "data",
            root.Str("container") ?? "jsonl",
            [.. root.GetProperty("shards").EnumerateArray().Select(s => Path.Combine(inDir, s.Str("path")!))])
        {
            RowGroupRecords = parquet is { } g && g.TryGetProperty("row_group_records", out var r) ? r.GetInt64() : ParquetSettings.DefaultRowGroupRecords,
            RowGroupBytes = parquet is { } h && h.TryGetProperty("row_group_bytes", out var b) ? b.GetInt64() : ParquetSettings.DefaultRowGroupBytes,
        };
    }

    /// <summary>Every request the run would make, with the line it belongs to, in input order.</summary>
    private IEnumerable<Pending> Plan(Input input, WorkSplit? split = null)
    {
        var view = new ExchangeOptions { ImageToken = options.ImageToken, DropLines = options.SuffixLines };
        var plain = new ExchangeOptions { ImageToken = options.ImageToken };
        (_unknownTemplates, _unknownExample) = (0, null);
        long seq = -1;
        foreach (var shard in input.Shards)
        {
            foreach (var (line, lineNo) in ShardReader.Records(shard))
            {
                seq++;
                if (split is not null && !split.Owns(OwnerKey(line, shard, lineNo)))
                {
                    yield return new Pending(line, shard, lineNo, []) { Seq = seq, Owned = false };
                    continue;
                }

                NoteTemplates(line);
                var images = input.Format.Images(line);
                var calls = new List<(Exchange, ChatRequest)>();
                var constraints = new List<string?>();
                var turns = new List<int>();
                Reject? rejected = null;

                // The constraint lines ("Answer yes or no.") as the questions carry them, before any line is dropped.
                var stated = options.ConstraintLines.Count == 0 ? null : input.Format.Exchanges(line, plain).Select(e => StatedConstraint(e.Question)).ToList();
                var index = -1;
                foreach (var exchange in input.Format.Exchanges(line, view))
                {
                    index++;
                    if (options.Select == "short" && exchange.Answer.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length > options.MaxAnswerWords)
                    {
                        continue;
                    }

                    // A question that is nothing but a response-format suffix (and the image) gives the model nothing to
                    // answer in a sentence, and taking the suffix off would leave it empty: its answer stays as it is.
                    if (TextCheck.IsBlank(exchange.Question))
                    {
                        continue;
                    }

                    try
                    {
                        calls.Add((exchange, Request(exchange, images)));
                        constraints.Add(stated is not null && index < stated.Count ? stated[index] : null);
                        turns.Add(index);
                    }
                    catch (ImageUnavailableException ex)
                    {
                        rejected = new Reject("rewrite", shard, $"line {lineNo}", ex.Reason, ex.Message);
                        calls.Clear();
                        break;
                    }
                }

                yield return new Pending(line, shard, lineNo, calls, rejected) { Constraints = constraints, Turns = turns, Seq = seq };
            }
        }

        if (_unknownTemplates > 0)
        {
            log.Warning(
                "rewrite: {Records} records were built from templates no pack here knows (such as '{Template:l}'): response-format lines of their pack (\"Answer in one word.\") cannot be told from the question and stay on it; name the build's pack file with --templates FILE",
                _unknownTemplates, _unknownExample);
        }
    }

    /// <summary>
    /// A question whose template asks for brevity in its own words ("{question} Keep it short.") is put in the words of a
    /// template of the same pack that does not, picked by the record and turn; <c>meta.templates</c> names the new one.
    /// A line without meta (sharegpt, swift) is matched against the text of every such template.
    /// </summary>
    private void Reword(Pending pending, Exchange exchange, int turn)
    {
        if (options.BriefTemplates is not { Count: > 0 } brief)
        {
            return;
        }

        var ids = pending.Line["meta"] is JsonObject meta && meta["templates"] is JsonArray list && turn < list.Count ? list : null;
        IEnumerable<BriefTemplate> candidates;
        if (ids?[turn] is JsonValue v && v.TryGetValue<string>(out var id))
        {
            // The record names its template: that one is reworded, and no other.
            if (!brief.TryGetValue(id, out var named))
            {
                return;
            }

            candidates = [named];
        }
        else
        {
            candidates = _briefByLength;
        }

        var key = $"{(pending.Line["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var recordId) ? recordId : pending.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture))}\u001f{turn}";
        string? instead = null;
        exchange.EditQuestionLines?.Invoke(line =>
        {
            if (instead is not null || candidates.Select(c => c.Reword(line, options.ImageToken, key)).FirstOrDefault(r => r is not null) is not { } reworded)
            {
                return line;
            }

            instead = reworded.Id;
            return reworded.Line;
        });
        if (instead is not null && ids is not null)
        {
            ids[turn] = instead;
        }
    }

    /// <summary>The brief templates, most words around the question first: a template whose text another's ends with is not taken for it.</summary>
    private readonly BriefTemplate[] _briefByLength = [.. (options.BriefTemplates?.Values ?? []).OrderByDescending(c => c.Brief.Text.Length).ThenBy(c => c.Brief.Id, StringComparer.Ordinal)];

    private long _unknownTemplates;
    private string? _unknownExample;

    /// <summary>Counts a record whose <c>meta.templates</c> names a template of no known pack.</summary>
    private void NoteTemplates(System.Text.Json.Nodes.JsonObject line)
    {
        if (options.KnownTemplates is not { } known || line["meta"] is not System.Text.Json.Nodes.JsonObject meta || meta["templates"] is not System.Text.Json.Nodes.JsonArray ids)
        {
            return;
        }

        foreach (var id in ids)
        {
            if (id is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var text) && !known.Contains(text))
            {
                _unknownTemplates++;
                _unknownExample ??= text;
                return;
            }
        }
    }

    private ChatRequest Request(Exchange exchange, IReadOnlyList<string> images)
    {
        var slots = new Dictionary<string, string> { ["question"] = exchange.Question, ["answer"] = exchange.Answer };
        if (pack.Placeholders.Contains("captions"))
        {
            var captions = images.SelectMany(i => options.Captions is not null && options.Captions.TryGetValue(Path.GetFileName(i), out var c) ? c : []).ToList();
            slots["captions"] = captions.Count > 0 ? string.Join("\n", captions.Select(c => "- " + c)) : "(none)";
        }

        var user = new ChatMessage("user", pack.Templates[0].Render(slots));
        if (pack.Id.Contains("image", StringComparison.Ordinal))
        {
            user = user with { Images = [.. images.Select(LoadImage)] };
        }

        return new ChatRequest([new ChatMessage("system", pack.System.Trim()), user], options.MaxOutputTokens, options.Temperature, PromptVersion);
    }

    private ChatImage LoadImage(string pathOrUrl)
    {
        if (pathOrUrl.StartsWith("data:", StringComparison.Ordinal))
        {
            var comma = pathOrUrl.IndexOf(',', StringComparison.Ordinal);
            var semicolon = pathOrUrl.IndexOf(';', StringComparison.Ordinal);
            if (comma < 0 || semicolon < 5 || semicolon > comma)
            {
                throw new ImageUnavailableException(RejectReasons.BadImageType, "an image data URL without a media type and base64 data");
            }

            try
            {
                return new ChatImage(Convert.FromBase64String(pathOrUrl[(comma + 1)..]), pathOrUrl[5..semicolon], 0, 0);
            }
            catch (FormatException)
            {
                throw new ImageUnavailableException(RejectReasons.BadImageType, "an image data URL whose base64 data does not decode");
            }
        }

        // A URL (or another URI) is no file under the root: said as what it is, not as a file that is missing.
        if (ImageUrls.IsUrl(pathOrUrl))
        {
            throw new ImageUnavailableException(RejectReasons.BadImagePath, $"image {pathOrUrl} is a URI, not a file: the with-image prompt sends the bytes of image files under --image-root (URLs are not fetched)");
        }

        var root = options.ImageRoot ?? throw new UsageException("the with-image prompt needs --image-root to read the images");
        var rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
        string full;
        try
        {
            full = Path.GetFullPath(Path.Combine(rootFull, pathOrUrl));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ImageUnavailableException(RejectReasons.MissingImage, $"image path {pathOrUrl} is not a usable path");
        }

        if (!full.StartsWith(rootFull, StringComparison.Ordinal))
        {
            throw new ImageUnavailableException(RejectReasons.ImageOutsideRoot, $"image {pathOrUrl} is outside {root}");
        }

        try
        {
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                throw new ImageUnavailableException(RejectReasons.MissingImage, $"no image {pathOrUrl} under {root}");
            }

            if (info.Length > MaxImageBytes)
            {
                throw new ImageUnavailableException(RejectReasons.ImageTooLarge, $"image {pathOrUrl} is {info.Length} bytes, more than {MaxImageBytes}");
            }

            var bytes = File.ReadAllBytes(full);
            return new ChatImage(bytes, ImageMedia.Sniff(bytes) ?? "image/jpeg", 0, 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ImageUnavailableException(RejectReasons.MissingImage, $"image {pathOrUrl} under {root} cannot be read: {ex.GetType().Name}");
        }
    }

    /// <summary>Every request a run over <paramref name="inDir"/> would make, in the order it makes them (the Batch path's input).</summary>
    public IEnumerable<ChatRequest> Requests(string inDir) => Plan(ReadInput(inDir)).SelectMany(p => p.Calls.Select(c => c.Request));

    /// <summary>Counts what a run would send without calling anything; cached requests are free.</summary>
    public DryRunTotals DryRun(string inDir, string identity, ResponseCache? cache, PriceTable prices, string model)
    {
        long requests = 0, hits = 0, prompt = 0, output = 0;
        foreach (var pending in Plan(ReadInput(inDir)))
        {
            foreach (var (_, request) in pending.Calls)
            {
                if (cache?.Get(ResponseCache.Key(identity, request)) is not null)
                {
                    hits++;
                    continue;
                }

                requests++;
                prompt += TokenCounter.Prompt(request);
                output += request.MaxOutputTokens;
            }
        }

        return new DryRunTotals(requests, hits, prompt, output, prices.Cost(model, prompt, output));
    }

    /// <summary>Whose a line is under a split: its record id, or where it stands when it has none.</summary>
    private static string OwnerKey(JsonObject line, string shard, long lineNo) =>
        line["id"] is JsonValue v && v.TryGetValue<string>(out var id) ? id : $"{Path.GetFileName(shard)}:{lineNo}";

    /// <summary>Records per shard of the rewritten output.</summary>
    private const long ShardRecords = 100_000;

    public async Task<RewriteResult> RunAsync(string inDir, string outDir, ModelCallPath calls, CancellationToken ct, WorkSplit? split = null, string? priceTable = null)
    {
        var input = ReadInput(inDir);
        if (Path.GetFullPath(inDir) == Path.GetFullPath(outDir))
        {
            throw new UsageException("--in and --out must be different folders");
        }

        using var folder = OutputFolder.Open(outDir, input.Shards);
        using var shards = split is null ? new ShardWriter(folder.StagingData, input.Name, ShardRecords, 0, input.Container, input.Format.Capabilities.UploadLimits, input.Options(options.ImageToken).Parquet(input.Format)) : null;
        using var rejects = split is null ? new RejectWriter(folder.Staging) : null;
        using var part = split is null ? null : new PartWriter(folder.Staging);
        var partByReason = new SortedDictionary<string, long>(StringComparer.Ordinal);
        void Reject(Pending pending, Reject reject)
        {
            if (part is null)
            {
                rejects!.Write(reject with { File = Path.GetRelativePath(outDir, reject.File).Replace('\\', '/') });
                return;
            }

            // The merge gives the shard path relative to its own output folder.
            part.Reject(pending.Seq, reject with { File = Path.GetFullPath(reject.File) }, "rel");
            partByReason[reject.Reason] = partByReason.GetValueOrDefault(reject.Reason) + 1;
        }

        long records = 0, rewritten = 0, withImages = 0;
        var hallucinations = options.Hallucination != HallucinationTally.Off && (options.Instances is not null || options.Captions is not null) ? new HallucinationTally() : null;
        string? capReason = null;
        var window = new List<Pending>(options.Window);
        using var plan = Plan(input, split).GetEnumerator();
        var more = true;
        while (more && capReason is null)
        {
            window.Clear();
            while (window.Count < options.Window && (more = plan.MoveNext()))
            {
                if (plan.Current.Owned)
                {
                    window.Add(plan.Current);
                }
            }

            // Start every call of the window (the call path bounds concurrency), then finish records in order.
            var tasks = window.Select(p => p.Calls.Select(c => Call(calls, c.Request, ct)).ToList()).ToList();
            for (var i = 0; i < window.Count; i++)
            {
                var pending = window[i];
                if (pending.Rejected is { } unaskable)
                {
                    // Paths as the output shows them: the shard relative to the output, the image root by name.
                    Reject(pending, unaskable with
                    {
                        Detail = options.ImageRoot is { } root ? unaskable.Detail.Replace(root, "--image-root", StringComparison.Ordinal) : unaskable.Detail,
                    });
                    log.Debug("rewrite reject {Reason} {Shard} line {Line}: {Detail}", unaskable.Reason, pending.Shard, pending.LineNo, unaskable.Detail);
                    continue;
                }

                var outcomes = new List<(Exchange Exchange, ChatResult? Result, string? Reason, string? Detail)>();
                var callIndex = -1;
                foreach (var (call, task) in pending.Calls.Zip(tasks[i]))
                {
                    callIndex++;
                    var (result, failure) = await task.ConfigureAwait(false);
                    if (failure is BudgetExceededException budget)
                    {
                        capReason ??= budget.Message;
                        break;
                    }

                    if (failure is ModelCallException mce)
                    {
                        outcomes.Add((call.Exchange, null, mce.ReasonCode, mce.Message));
                        continue;
                    }

                    var outcome = RewriteCheck.TextProblem(result!.Text, [options.ImageToken, .. input.Format.Capabilities.ReservedTags]) is { } bad
                        ? (call.Exchange, result, bad.Reason, $"rewrite \"{Shorten(result.Text)}\" {bad.Detail}")
                        : options.Rationale ? RationaleOutcome(call.Exchange, result) : AnswerOutcome(call.Exchange, result);
                    if (outcome.Item3 is null && pending.Constraints.ElementAtOrDefault(callIndex) is { } constraint && !AnswerConstraints.Satisfies(constraint, result!.Text))
                    {
                        // A lengthened answer must still obey the format its question asks for ("Answer yes or no.").
                        outcome = (call.Exchange, result, RejectReasons.ConstraintViolated, $"rewrite \"{Shorten(result.Text)}\" does not obey the {constraint} constraint of its question");
                    }

                    outcomes.Add(outcome);
                }

                // The object mentions of the rewrites, against the image's annotations and captions (COCO images only).
                HallucinationResult? objects = null;
                if (hallucinations is not null && capReason is null && ObjectsOf(input.Format.Images(pending.Line)) is { } known)
                {
                    for (var o = 0; o < outcomes.Count; o++)
                    {
                        var (exchange, result, reason, _) = outcomes[o];
                        if (reason is null && result is not null && options.Hallucination == HallucinationTally.Reject
                            && HallucinationTally.Check([result.Text], known.Categories, known.Captions) is { Hallucinated.Count: > 0 } bad)
                        {
                            outcomes[o] = (exchange, result, RejectReasons.HallucinatedObject, $"rewrite \"{Shorten(result.Text)}\": {bad.Detail()}");
                        }
                    }

                    objects = HallucinationTally.Check(outcomes.Where(o => o.Result is not null).Select(o => o.Result!.Text), known.Categories, known.Captions);
                    hallucinations.Add(objects);
                }

                if (capReason is not null)
                {
                    // Records from here on are left for a later run; what is written stays whole.
                    foreach (var rest in tasks.Skip(i).SelectMany(t => t))
                    {
                        await rest.ConfigureAwait(false);
                    }

                    break;
                }

                var failed = outcomes.FirstOrDefault(o => o.Reason is not null);
                if (failed.Reason is not null && !options.KeepRawOnFailure)
                {
                    Reject(pending, new Reject("rewrite", pending.Shard, $"line {pending.LineNo}", failed.Reason, failed.Detail!));
                    log.Debug("rewrite reject {Reason} {Shard} line {Line}: {Detail}", failed.Reason, pending.Shard, pending.LineNo, failed.Detail);
                    continue;
                }

                var raw = new JsonArray();
                for (var o = 0; o < outcomes.Count; o++)
                {
                    var (exchange, result, reason, _) = outcomes[o];
                    raw.Add(exchange.Answer);
                    if (reason is null && result is not null)
                    {
                        exchange.SetAnswer(result.Text);

                        // A sentence now answers it: a suffix asking for a word or a phrase would contradict it. Suffixes
                        // tagged with a constraint stay, since the rewrite was held to them.
                        exchange.DropQuestionLines(_briefLines);
                        Reword(pending, exchange, pending.Turns.ElementAtOrDefault(o));
                        rewritten++;
                    }
                }

                if (objects is not null && pending.Line["meta"] is JsonObject checkedMeta)
                {
                    checkedMeta["hallucination"] = objects.ToJson();
                }

                if (outcomes.Count > 0 && pending.Line["meta"] is JsonObject meta)
                {
                    meta["rewrite"] = new JsonObject
                    {
                        ["model"] = calls.ModelName,
                        ["prompt_version"] = PromptVersion,
                        ["raw_answers"] = raw,
                        ["kept_raw"] = new JsonArray([.. outcomes.Select(o => (JsonNode?)JsonValue.Create(o.Reason is not null))]),
                    };
                }

                var hasImages = input.Format.Images(pending.Line).Count > 0;
                var bytes = Encoding.UTF8.GetBytes(pending.Line.ToJsonString(LineOptions) + "\n");
                if (part is not null)
                {
                    part.Line(pending.Seq, bytes, hasImages);
                }
                else
                {
                    shards!.WriteLine(bytes, hasImages);
                }

                withImages += hasImages ? 1 : 0;
                records++;
            }
        }

        calls.Usage.WarnIfEstimated(log, "rewrite");
        var recipeSha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"rewrite|{PromptVersion}|{calls.ModelName}|{options}")));
        if (part is not null)
        {
            var sha = part.Complete();
            var json = PartManifest.Header(PartManifest.RewriteKind, split!, input.Name, input.Format, input.Options(options.ImageToken), ShardRecords, 0, 0, recipeSha);
            json["inputs"] = PartManifest.Inputs(input.Shards.ToDictionary(Path.GetFullPath, HashFile));
            json["model"] = calls.ModelName;
            json["price_table"] = priceTable;
            json["prompt_version"] = PromptVersion;
            json["rewritten_answers"] = rewritten;
            json["capped"] = capReason is not null;
            json["cap"] = capReason;
            json["usage"] = calls.Usage.ToJson();
            PartManifest.Complete(json, part, sha, partByReason);
            PartManifest.Write(folder.Staging, json);
            folder.Commit(OutputFolder.PartFile);
            log.Information("rewrite part {Index} of {Count}: {Records} records, {Rewritten} answers rewritten, {Rejects} rejects{Capped}", split!.Index, split.Count, records, rewritten, part.Rejects, capReason is null ? string.Empty : $"; capped: {capReason}");
            return new RewriteResult(records, rewritten, part.Rejects, capReason is not null, capReason, partByReason);
        }

        var shardInfos = shards!.Complete(folder.Staging);
        rejects!.Complete();
        input.Format.WriteSideFiles(new SideFileContext(folder.Staging, input.Name, shardInfos, input.Options(options.ImageToken), withImages));
        var usage = calls.Usage;
        var cost = calls.EstimatedCost;
        var manifest = new Manifest
        {
            Name = input.Name,
            Format = input.Format.Name,
            ToolVersion = Pipeline.BuildPipeline.ToolVersion,
            RecipeSha256 = recipeSha,
            Records = records,
            Shards = shardInfos,
            Rejects = rejects.Count,
            RejectsByReason = rejects.ByReason,
            Inputs = input.Shards.ToDictionary(s => Path.GetRelativePath(outDir, s).Replace('\\', '/'), HashFile),
            Container = input.Container,
            Parquet = input.Options(options.ImageToken).Parquet(input.Format),
            UploadLimits = input.Format.Capabilities.UploadLimits,
            SplitReason = shards!.SplitReason,
            WriteExtra = w =>
            {
                w.WriteStartObject("rewrite");
                w.WriteString("model", calls.ModelName);
                w.WriteString("prompt_version", PromptVersion);
                w.WriteBoolean("capped", capReason is not null);
                if (capReason is not null)
                {
                    w.WriteString("cap", capReason);
                }

                w.WriteNumber("rewritten_answers", rewritten);
                w.WriteEndObject();
                hallucinations?.WriteTo(w, options.Hallucination);
                usage.WriteTo(w, cost);
            },
        };
        manifest = Pipeline.DatasetCard.WriteDerived(folder.Staging, manifest, "rewrite", options.Templates, options.ImageToken);
        AtomicFile.Write(Path.Combine(folder.Staging, OutputFolder.ManifestFile), manifest.WriteTo);
        folder.Commit();
        log.Information(
            "rewrite: {Records} records, {Rewritten} answers rewritten, {Rejects} rejects; {Requests} requests, {Hits} cache hits, {Attempts} HTTP attempts, {Retries} retries, {RateLimited} rate-limited, {In} tokens in, {Out} tokens out, estimated cost {Cost}{Capped}",
            records, rewritten, rejects.Count, usage.Requests, usage.CacheHits, usage.Attempts, usage.Retries, usage.RateLimited, usage.InputTokens, usage.OutputTokens,
            cost is null ? "unknown (model not in the price table)" : string.Create(CultureInfo.InvariantCulture, $"${cost:0.####}"),
            capReason is null ? string.Empty : $"; capped: {capReason}");
        return new RewriteResult(records, rewritten, rejects.Count, capReason is not null, capReason, rejects.ByReason);
    }

    private static async Task<(ChatResult? Result, Exception? Failure)> Call(ModelCallPath calls, ChatRequest request, CancellationToken ct)
    {
        try
        {
            return (await calls.CompleteAsync(request, ct).ConfigureAwait(false), null);
        }
        catch (Exception ex) when (ex is ModelCallException or BudgetExceededException)
        {
            return (null, ex);
        }
    }

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static (Exchange, ChatResult?, string?, string?) AnswerOutcome(Exchange exchange, ChatResult result)
    {
        var check = RewriteCheck.Check(exchange.Answer, result.Text);
        return (exchange, result, check, check is null ? null : $"rewrite \"{Shorten(result.Text)}\" does not keep the answer \"{exchange.Answer}\"");
    }

    private static (Exchange, ChatResult?, string?, string?) RationaleOutcome(Exchange exchange, ChatResult result)
    {
        var check = RewriteCheck.CheckRationale(exchange.Answer, result.Text);
        var detail = check.Reason switch
        {
            null => null,
            RejectReasons.RationaleAnswerMismatch => $"rationale \"{Shorten(result.Text)}\" ends in the answer \"{check.FinalAnswer}\", not \"{exchange.Answer}\"",
            RejectReasons.RationaleNoReasoning => $"rationale \"{Shorten(result.Text)}\" is only the answer line, with no reasoning before it",
            _ => $"rationale \"{Shorten(result.Text)}\" does not end in a line \"Answer: {exchange.Answer}\"",
        };
        return (exchange, result, check.Reason, detail);
    }

    /// <summary>The constraint type a question's last line states, or null.</summary>
    private string? StatedConstraint(string question)
    {
        var last = question.TrimEnd();
        var nl = last.LastIndexOf('\n');
        return options.ConstraintLines.TryGetValue((nl < 0 ? last : last[(nl + 1)..]).Trim(), out var type) ? type : null;
    }

    /// <summary>The annotated categories and captions of a record's images, or null when no image is in the instances or captions file.</summary>
    private (List<string> Categories, List<string> Captions)? ObjectsOf(IReadOnlyList<string> images)
    {
        var categories = new List<string>();
        var captions = new List<string>();
        var known = false;
        foreach (var name in images.Where(i => !i.StartsWith("data:", StringComparison.Ordinal)).Select(Path.GetFileName))
        {
            if (options.Instances is not null && options.Instances.TryGetValue(name!, out var objects))
            {
                known = true;
                categories.AddRange(objects);
            }

            if (options.Captions is not null && options.Captions.TryGetValue(name!, out var said))
            {
                known = true;
                captions.AddRange(said);
            }
        }

        return known ? (categories, captions) : null;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}

/// <summary>A template that asks for brevity in its own words, and the templates of its pack that ask a question plainly.</summary>
public sealed record BriefTemplate(InstructionTemplate Brief, IReadOnlyList<InstructionTemplate> Instead)
{
    /// <summary>
    /// The line in the words of one of <see cref="Instead"/> (picked by <paramref name="key"/>) when it is the brief
    /// template's text around a question (after the image token, where a format puts it on the same line); else null.
    /// </summary>
    public (string Line, string Id)? Reword(string line, string imageToken, string key)
    {
        var at = Brief.Text.IndexOf("{question}", StringComparison.Ordinal);
        var (prefix, suffix) = (Brief.Text[..at], Brief.Text[(at + "{question}".Length)..]);
        var lead = line.StartsWith(imageToken, StringComparison.Ordinal) ? imageToken : string.Empty;
        var rest = line[lead.Length..];
        if (rest.Length <= prefix.Length + suffix.Length || !rest.StartsWith(prefix, StringComparison.Ordinal) || !rest.EndsWith(suffix, StringComparison.Ordinal))
        {
            return null;
        }

        var question = rest[prefix.Length..^suffix.Length];
        if (string.IsNullOrWhiteSpace(question))
        {
            return null;
        }

        var pick = Instead[(int)(System.IO.Hashing.XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key)) % (ulong)Instead.Count)];
        return (lead + pick.Render(new Dictionary<string, string>(StringComparer.Ordinal) { ["question"] = question }), pick.Id);
    }
}
