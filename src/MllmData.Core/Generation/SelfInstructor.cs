using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MllmData.Adapters;
using MllmData.Records;
using MllmData.ModelCalls;
using MllmData.Pipeline;
using MllmData.Templates;
using Serilog;

namespace MllmData.Generation;

/// <summary>Settings of a self-instruct run.</summary>
public sealed record SelfInstructOptions
{
    /// <summary>Any of <c>conversation</c>, <c>detail</c>, <c>complex</c>, <c>tool-use</c>.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = ["conversation", "detail", "complex"];

    public int PerImage { get; init; } = 1;

    public long Seed { get; init; }

    /// <summary>Few-shot examples per request, chosen per image from the pack's examples.</summary>
    public int FewShot { get; init; } = 2;

    public int MaxOutputTokens { get; init; } = 700;

    public float Temperature { get; init; } = 0.7f;

    public string SourceName { get; init; } = "self-instruct";

    public string File { get; init; } = string.Empty;

    /// <summary>Shortest answer, in words, for conversation turns, complex answers and detailed descriptions.</summary>
    public int MinAnswerWords { get; init; } = 3;

    public int MinComplexWords { get; init; } = 25;

    public int MinDetailWords { get; init; } = 40;

    public int MaxWords { get; init; } = 500;

    public double DuplicateThreshold { get; init; } = 0.7;

    public int Window { get; init; } = 64;

    /// <summary>The tool-use kind's catalogue.</summary>
    public ToolCatalogue? Tools { get; init; }

    /// <summary>The tool-use kind: every object category of the input, which detector and counter calls may name.</summary>
    public IReadOnlySet<string> Categories { get; init; } = new HashSet<string>();

    /// <summary><c>flag</c> (count hallucinated object mentions), <c>reject</c> (and reject such records) or <c>off</c>.</summary>
    public string Hallucination { get; init; } = HallucinationTally.Flag;

    /// <summary>The contexts are COCO images (captions and instances), whose object mentions can be checked.</summary>
    public bool CocoContexts { get; init; }
}

/// <summary>What a self-instruct run did.</summary>
/// <remarks><c>MaxKeptRougeL</c> is the highest exact score the filter computed for a kept question; pairs it skipped are below the threshold by its bounds.</remarks>
public sealed record SelfInstructResult(IReadOnlyDictionary<string, long> RecordsByKind, bool Capped, string? CapReason, double MaxKeptRougeL)
{
    /// <summary>Object mentions of the generated answers and those the image does not support (null when the check is off).</summary>
    public HallucinationTally? Hallucinations { get; init; }
}

/// <summary>
/// Generates conversations, detailed descriptions and complex-reasoning samples from symbolic image
/// contexts (captions and boxes) through the model call path, parses and filters them, and writes records.
/// </summary>
public sealed class SelfInstructor
{
    public const string PackPrefix = "self-instruct-";

    private readonly Dictionary<string, TemplatePack> _packs;
    private readonly TemplateEngine _detailInstructions;
    private readonly SelfInstructOptions _options;
    private readonly ILogger _log;
    private readonly ToolUse? _toolUse;

    public SelfInstructor(TemplateLibrary library, SelfInstructOptions options, ILogger log)
    {
        _options = options;
        _log = log;
        _packs = options.Kinds.ToDictionary(k => k, k => k is "conversation" or "detail" or "complex" or ToolUse.Kind
            ? library.Get(PackPrefix + k)
            : throw new UsageException($"unknown kind '{k}'; kinds are conversation, detail, complex and tool-use"));
        if (_packs.TryGetValue(ToolUse.Kind, out var toolPack))
        {
            var catalogue = options.Tools ?? throw new UsageException("the tool-use kind needs a tool catalogue (--tools)");
            _toolUse = new ToolUse(catalogue, options.Categories);
            _packs[ToolUse.Kind] = ToolUse.ExamplesFor(toolPack, catalogue);
        }

        foreach (var (kind, pack) in _packs.Where(p => p.Value.Examples.Count < options.FewShot))
        {
            throw new UsageException($"pack {pack.Id} has {pack.Examples.Count} examples; --few-shot {options.FewShot} needs that many");
        }

        _detailInstructions = new TemplateEngine(library.Get("caption-detailed"), options.Seed, suffix: "none");
        PromptVersions = _packs.ToDictionary(p => p.Key, p => p.Key == ToolUse.Kind ? $"{Version(p.Value)}+tools@{options.Tools!.Sha256[..12]}" : Version(p.Value));
    }

    /// <summary>Per kind: the pack id and a hash of its wording and examples.</summary>
    public IReadOnlyDictionary<string, string> PromptVersions { get; }

    private static string Version(TemplatePack pack)
    {
        var text = pack.System + "\u001f" + string.Join("\u001f", pack.Templates.Select(t => t.Text)) + "\u001f" + string.Join("\u001f", pack.Examples.Select(e => e.Id + "\u001e" + e.Context + "\u001e" + e.Response));
        return $"{pack.Id}@{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12]}";
    }

    private sealed record Job(ImageContext Context, string Kind, int Index, IReadOnlyList<string> ExampleIds, ChatRequest Request);

    private string RecordId(Job job) => string.Create(CultureInfo.InvariantCulture, $"{_options.SourceName}-{job.Kind}-img{job.Context.ImageId}-{job.Index}");

    /// <summary>What a part's event carries for the merge: the kind, and for questions the merge checks, the questions and where a reject would point.</summary>
    private static string Flags(string kind, IReadOnlyList<string>? questions = null, Reject? at = null)
    {
        var o = new JsonObject { ["kind"] = kind };
        if (questions is not null && at is not null)
        {
            o["questions"] = new JsonArray([.. questions.Select(q => (JsonNode)q)]);
            o["source"] = at.Source;
            o["file"] = at.File;
            o["position"] = at.Position;
        }

        return o.ToJsonString();
    }

    /// <summary>Every request, in a fixed order: image by image, kind by kind, sample by sample.</summary>
    private IEnumerable<Job> Plan(IEnumerable<ImageContext> contexts)
    {
        foreach (var context in contexts)
        {
            if (context.Captions.Count == 0 && context.Objects.Count == 0)
            {
                continue;
            }

            foreach (var kind in _options.Kinds)
            {
                for (var k = 0; k < _options.PerImage; k++)
                {
                    var pack = _packs[kind];
                    var examples = PickExamples(pack, context.ImageId, kind, k);
                    var system = kind == ToolUse.Kind ? _toolUse!.System(pack) : pack.System.Trim();
                    var messages = new List<ChatMessage> { new("system", system) };
                    foreach (var e in examples)
                    {
                        messages.Add(new ChatMessage("user", pack.Templates[0].Render(new Dictionary<string, string> { ["context"] = e.Context.Trim() })));
                        messages.Add(new ChatMessage("assistant", e.Response.Trim()));
                    }

                    messages.Add(new ChatMessage("user", pack.Templates[0].Render(new Dictionary<string, string> { ["context"] = context.Render() })));

                    // The sample number is part of the prompt version, so N samples of one image are N cached answers.
                    var version = _options.PerImage > 1 ? $"{PromptVersions[kind]}#{k}" : PromptVersions[kind];
                    yield return new Job(context, kind, k, [.. examples.Select(e => e.Id)], new ChatRequest(messages, _options.MaxOutputTokens, _options.Temperature, version));
                }
            }
        }
    }

    /// <summary>A seeded, recorded choice and order of few-shot examples for one image, kind and sample.</summary>
    private List<FewShotExample> PickExamples(TemplatePack pack, string imageId, string kind, int k)
    {
        var pool = pack.Examples.ToList();
        var chosen = new List<FewShotExample>();
        for (var i = 0; i < _options.FewShot && pool.Count > 0; i++)
        {
            var pick = SeededChoice.Pick(_options.Seed, $"{imageId}|{k}", i, "few-shot:" + kind, pool.Count);
            chosen.Add(pool[pick]);
            pool.RemoveAt(pick);
        }

        return chosen;
    }

    /// <summary>Every request a run over <paramref name="contexts"/> would make, in the order it makes them (the Batch path's input).</summary>
    public IEnumerable<ChatRequest> Requests(IEnumerable<ImageContext> contexts) => Plan(contexts).Select(j => j.Request);

    public DryRunTotals DryRun(IEnumerable<ImageContext> contexts, string identity, ResponseCache? cache, PriceTable prices, string model)
    {
        long requests = 0, hits = 0, prompt = 0, output = 0;
        foreach (var job in Plan(contexts))
        {
            if (cache?.Get(ResponseCache.Key(identity, job.Request)) is not null)
            {
                hits++;
                continue;
            }

            requests++;
            prompt += TokenCounter.Prompt(job.Request);
            output += job.Request.MaxOutputTokens;
        }

        return new DryRunTotals(requests, hits, prompt, output, prices.Cost(model, prompt, output));
    }

    public async Task<SelfInstructResult> RunAsync(IEnumerable<ImageContext> contexts, RecordSink sink, ModelCallPath calls, CancellationToken ct, Parts.WorkSplit? split = null)
    {
        var filter = new NearDuplicateFilter(_options.DuplicateThreshold);
        var byKind = _options.Kinds.ToDictionary(k => k, _ => 0L);
        var hallucinations = _options.Hallucination != HallucinationTally.Off && _options.CocoContexts ? new HallucinationTally() : null;
        string? capReason = null;
        using var plan = Plan(contexts).GetEnumerator();
        var window = new List<Job>(_options.Window);
        var more = true;
        while (more && capReason is null)
        {
            window.Clear();
            while (window.Count < _options.Window && (more = plan.MoveNext()))
            {
                window.Add(plan.Current);
            }

            var owned = window.Select(j => split is null || split.Owns(RecordId(j))).ToList();
            var tasks = window.Select((j, k) => owned[k] ? Call(calls, j.Request, ct) : Task.FromResult<(ChatResult?, Exception?)>((null, null))).ToList();
            for (var i = 0; i < window.Count; i++)
            {
                var job = window[i];
                if (!owned[i])
                {
                    // Another worker's sample: its one event is counted in the run's order.
                    sink.Skip();
                    continue;
                }

                var (result, failure) = await tasks[i].ConfigureAwait(false);
                if (failure is BudgetExceededException budget)
                {
                    capReason = budget.Message;
                    foreach (var rest in tasks.Skip(i + 1))
                    {
                        await rest.ConfigureAwait(false);
                    }

                    break;
                }

                var where = string.Create(CultureInfo.InvariantCulture, $"image {job.Context.ImageId} {job.Kind} #{job.Index}");
                sink.PartFlags = split is null ? "-" : Flags(job.Kind);
                if (failure is ModelCallException mce)
                {
                    sink.Reject(new Reject(_options.SourceName, _options.File, where, mce.ReasonCode, mce.Message));
                    continue;
                }

                if (RewriteCheck.TextProblem(result!.Text, sink.MediaPlaceholders) is { } bad)
                {
                    // Model text no dataset may hold (a control or invisible character, a counted placeholder), as in rewrite.
                    sink.Reject(new Reject(_options.SourceName, _options.File, where, bad.Reason, $"the generated text {bad.Detail}"));
                    continue;
                }

                var (turns, reason, detail) = Parse(job.Kind, job.Context, job.Index, result.Text, split is null ? filter : null);
                if (split is not null && reason is null && job.Kind != "detail")
                {
                    // The merge decides near duplicates against every earlier sample: it gets the questions and the reject it would write.
                    var at = sink.Paths?.Of(new Reject(_options.SourceName, _options.File, where, NearDuplicate, string.Empty)) ?? new Reject(_options.SourceName, _options.File, where, NearDuplicate, string.Empty);
                    sink.PartFlags = Flags(job.Kind, [.. turns!.Select(t => t.Instruction ?? string.Empty)], at);
                }

                if (reason is not null)
                {
                    if (reason == NearDuplicate && hallucinations is not null)
                    {
                        // Counted as a worker of a job array counts it (it cannot know yet that the merge drops it), so
                        // the manifest's totals are the same either way: every generation that parsed is checked.
                        hallucinations.Add(HallucinationTally.Check(turns!.Select(t => t.Output ?? string.Empty), job.Context.Objects.Select(o => o.Category), job.Context.Captions));
                    }

                    sink.Reject(new Reject(_options.SourceName, _options.File, where, reason, detail!));
                    continue;
                }

                var extra = new JsonObject
                {
                    ["kind"] = job.Kind,
                    ["seed_examples"] = Sample.Array(job.ExampleIds),
                    ["prompt_version"] = job.Request.PromptVersion,
                    ["model"] = calls.ModelName,
                    ["usage"] = new JsonObject { ["input_tokens"] = result.InputTokens, ["output_tokens"] = result.OutputTokens },
                };
                if (hallucinations is not null)
                {
                    // The answers the model wrote, against the image's annotated categories and what its captions name.
                    var check = HallucinationTally.Check(turns!.Select(t => t.Output ?? string.Empty), job.Context.Objects.Select(o => o.Category), job.Context.Captions);
                    hallucinations.Add(check);
                    extra["hallucination"] = check.ToJson();
                    if (_options.Hallucination == HallucinationTally.Reject && check.Hallucinated.Count > 0)
                    {
                        sink.Reject(new Reject(_options.SourceName, _options.File, where, RejectReasons.HallucinatedObject, check.Detail()));
                        continue;
                    }
                }

                var record = new InstructionRecord
                {
                    Id = RecordId(job),
                    Source = _options.SourceName,
                    Task = "self-instruct-" + job.Kind,
                    Images = [new ImageRef(job.Context.FileName) { Width = job.Context.Width > 0 ? job.Context.Width : null, Height = job.Context.Height > 0 ? job.Context.Height : null }],
                    Turns = turns!,
                    Tools = job.Kind == ToolUse.Kind ? _options.Tools!.Specs : [],
                    Provenance = new Provenance { Adapter = "self-instruct", File = _options.File, Ids = [new("image_id", job.Context.ImageId)], Seed = _options.Seed, Extra = extra },
                };
                if (job.Kind == ToolUse.Kind)
                {
                    _toolUse!.Describe(turns![0], extra);
                }

                if (job.Kind == "detail")
                {
                    record = _detailInstructions.Apply(record with { Turns = [new Turn { Output = turns![0].Output, RawAnswer = turns[0].Output }] });
                }

                if (sink.Write(record))
                {
                    byKind[job.Kind]++;
                }
            }
        }

        _log.Information(
            "self-instruct: {Records}; {Requests} requests, {Hits} cache hits, {Attempts} HTTP attempts, {Retries} retries, {RateLimited} rate-limited, {In} tokens in, {Out} tokens out{Capped}",
            string.Join(", ", byKind.Select(kv => $"{kv.Value} {kv.Key}")), calls.Usage.Requests, calls.Usage.CacheHits, calls.Usage.Attempts, calls.Usage.Retries,
            calls.Usage.RateLimited, calls.Usage.InputTokens, calls.Usage.OutputTokens, capReason is null ? string.Empty : $"; capped: {capReason}");
        if (hallucinations is not null)
        {
            _log.Information(
                "self-instruct: {With} of {Checked} records mention an object the image does not hold (CHAIR_s {ChairS:0.0000}); {Hallucinated} of {Mentions} object mentions (CHAIR_i {ChairI:0.0000})",
                hallucinations.RecordsWithHallucination, hallucinations.Records, hallucinations.ChairS, hallucinations.HallucinatedMentions, hallucinations.Mentions, hallucinations.ChairI);
        }

        return new SelfInstructResult(byKind, capReason is not null, capReason, filter.MaxKeptScore) { Hallucinations = hallucinations };
    }

    /// <summary>Parses and filters one generation; the turns, or the reject reason and detail.</summary>
    public const string NearDuplicate = "near-duplicate";

    /// <summary>
    /// The near-duplicate check of one sample's questions: against the whole pool so far, and against each other; the
    /// reject detail, or null when they are kept (and added to the pool). <c>mllmdata merge</c> runs it over the parts' samples in order.
    /// </summary>
    public static string? Duplicate(NearDuplicateFilter filter, IReadOnlyList<string> questions, double threshold)
    {
        var local = new NearDuplicateFilter(threshold);
        foreach (var q in questions)
        {
            var (score, _) = filter.Nearest(q);
            if (score > threshold || !local.TryAdd(q, out score))
            {
                return string.Create(CultureInfo.InvariantCulture, $"question \"{q}\" has ROUGE-L {score:0.00} against an earlier one");
            }
        }

        foreach (var q in questions)
        {
            filter.TryAdd(q, out _);
        }

        return null;
    }

    /// <summary>Parses and checks a response; with no <paramref name="filter"/> (a worker of a split) the near-duplicate check is left to the merge.</summary>
    private (IReadOnlyList<Turn>? Turns, string? Reason, string? Detail) Parse(string kind, ImageContext context, int index, string text, NearDuplicateFilter? filter)
    {
        List<(string Question, string Answer)> pairs;
        Turn? toolTurn = null;
        if (kind == ToolUse.Kind)
        {
            var traced = _toolUse!.Parse(text, context);
            if (traced.Reason is not null)
            {
                return (null, traced.Reason, traced.Detail);
            }

            toolTurn = traced.Turn!;
            pairs = [(toolTurn.Instruction!, toolTurn.Output!)];
        }
        else if (kind == "detail")
        {
            var description = GenerationParser.Description(text);
            if (description is null)
            {
                return (null, "unparsable", "no description in the response");
            }

            pairs = [(string.Empty, description)];
        }
        else
        {
            var turns = GenerationParser.Turns(text);
            if (turns is null)
            {
                return (null, "unparsable", "no alternating question and answer blocks in the response");
            }

            pairs = kind == "complex" ? [turns[0]] : [.. turns];
        }

        foreach (var (q, a) in pairs)
        {
            var words = SampleFilters.Words(a);
            var min = kind switch { "detail" => _options.MinDetailWords, "complex" => _options.MinComplexWords, _ => _options.MinAnswerWords };
            if (words < min)
            {
                return (null, "too-short", $"an answer of {words} words; at least {min}");
            }

            if (words > _options.MaxWords || SampleFilters.Words(q) > 80)
            {
                return (null, "too-long", $"an answer of {words} words; at most {_options.MaxWords}");
            }

            if (SampleFilters.Leaks(a) || SampleFilters.Leaks(q))
            {
                return (null, "leak", "the text mentions captions, boxes or coordinates, which the image does not show");
            }
        }

        IReadOnlyList<Turn> parsed = toolTurn is not null ? [toolTurn] : [.. pairs.Select(p => new Turn { Instruction = p.Question, Output = p.Answer, RawAnswer = p.Answer })];
        if (kind != "detail" && filter is not null && Duplicate(filter, [.. pairs.Select(p => p.Question)], _options.DuplicateThreshold) is { } duplicate)
        {
            // The turns go with the reject: a near duplicate was still generated, and its text is checked like any other.
            return (parsed, NearDuplicate, duplicate);
        }

        return (parsed, null, null);
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
}
