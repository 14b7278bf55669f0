using MllmData.ModelCalls;
using MllmData.Recipes;
using MllmData.Templates;
using Serilog;

namespace MllmData.Generation;

/// <summary>Wires a rewrite from its settings: prompt pack, endpoint and key from the environment, cache, limits.</summary>
public static class RewriteRunner
{
    /// <summary>The task of prompt packs whose replies are chains of reasoning ending in "Answer: X" (<c>--prompt rationale</c>).</summary>
    public const string RationaleTask = "rationale";

    public static Rewriter Prepare(RewriteSettings s, TemplateLibrary library, ILogger log, out TemplatePack pack)
    {
        pack = library.Get(s.Prompt.EndsWith(".yaml", StringComparison.Ordinal) ? s.Prompt : "rewrite-" + s.Prompt);
        if (pack.Placeholders.Contains("captions") && s.Captions is null)
        {
            throw new UsageException("the with-captions prompt needs captions (--captions FILE, a COCO captions file)");
        }

        if (s.Instances is { } instances && !File.Exists(instances))
        {
            throw new UsageException($"--instances {instances}: no such file (a COCO instances file)");
        }

        if (s.Select is not ("short" or "all"))
        {
            throw new UsageException($"select must be short or all, got '{s.Select}'");
        }

        // The library's packs and the build's own pack files: the suffixes of either are response-format lines of the questions.
        var packs = library.Packs.Concat((s.TemplatePacks ?? []).Select(library.Get)).ToList();
        return new Rewriter(pack, new RewriteOptions
        {
            Select = s.Select,
            MaxAnswerWords = s.MaxAnswerWords,
            KeepRawOnFailure = s.KeepRawOnFailure,
            MaxOutputTokens = s.MaxOutputTokens,
            ImageRoot = s.ImageRoot,
            Captions = s.Captions is null ? null : Json.CocoCaptionFile.ByFileName(s.Captions),
            Window = Math.Max(16, s.Concurrency * 4),
            Rationale = pack.Task == RationaleTask,
            Hallucination = s.Hallucination,
            Instances = s.Instances is null ? null : ImageContext.CategoriesByFileName(s.Instances),
            ConstraintLines = ConstraintLines(packs),
            Templates = library,
            SuffixLines = packs.SelectMany(p => p.Suffixes).Select(x => x.Text.Trim()).ToHashSet(StringComparer.Ordinal),
            BriefLines = packs.SelectMany(p => p.Suffixes).Where(x => x.Tags.Contains("brief")).Select(x => x.Text.Trim()).ToHashSet(StringComparer.Ordinal),
            KnownTemplates = packs.SelectMany(p => p.Templates).Select(t => t.Id).ToHashSet(StringComparer.Ordinal),
            BriefTemplates = BriefTemplates(packs),
        }, log);
    }

    /// <summary>
    /// The templates tagged <c>brief</c> that ask a question and nothing else ("{question} Keep it short."), each with the
    /// templates of its pack that ask it plainly (not brief, not instruction-only, no answer constraint); packs without
    /// such templates give none.
    /// </summary>
    private static Dictionary<string, BriefTemplate> BriefTemplates(List<TemplatePack> packs)
    {
        static bool QuestionOnly(InstructionTemplate t) => t.PlaceholderNames() is ["question"] && t.Text.Split("{question}").Length == 2;
        var map = new Dictionary<string, BriefTemplate>(StringComparer.Ordinal);
        foreach (var pack in packs)
        {
            var instead = pack.Templates.Where(t => QuestionOnly(t) && !t.Tags.Contains("brief") && !t.Tags.Contains("instruction-only") && AnswerConstraints.TagOf(t) is null).ToList();
            if (instead.Count == 0)
            {
                continue;
            }

            foreach (var t in pack.Templates.Where(t => QuestionOnly(t) && t.Tags.Contains("brief")))
            {
                map.TryAdd(t.Id, new BriefTemplate(t, instead));
            }
        }

        return map;
    }

    /// <summary>Every plain suffix or template of the packs tagged with a constraint type, by its text.</summary>
    private static Dictionary<string, string> ConstraintLines(List<TemplatePack> packs)
    {
        var lines = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in packs.SelectMany(p => p.Suffixes.Concat(p.Id == AnswerConstraints.PackId ? p.Templates : [])))
        {
            if (t.PlaceholderNames().Count == 0 && AnswerConstraints.TagOf(t) is { } type)
            {
                lines.TryAdd(t.Text.Trim(), type);
            }
        }

        return lines;
    }

    public static DryRunTotals DryRun(RewriteSettings s, string inDir, TemplateLibrary library, ILogger log)
    {
        var rewriter = Prepare(s, library, log, out _);
        using var cache = File.Exists(s.CachePath) ? new ResponseCache(s.CachePath) : null;
        return rewriter.DryRun(inDir, ModelEndpoints.Identity(s.EndpointKind, s.Model), cache, PriceTable.Load(s.PriceTable), s.Model);
    }

    public static async Task<RewriteResult> RunAsync(RewriteSettings s, string inDir, string outDir, TemplateLibrary library, ILogger log, CancellationToken ct, Parts.WorkSplit? split = null)
    {
        var rewriter = Prepare(s, library, log, out _);
        var settings = s.ToCallSettings();
        var model = ModelEndpoints.FromEnvironment(s.EndpointKind, s.Model, settings.PerTryTimeout, settings.MaxResponseBytes);
        using var cache = new ResponseCache(s.CachePath);
        using var calls = new ModelCallPath(model, cache, settings, PriceTable.Load(s.PriceTable));
        return await rewriter.RunAsync(inDir, outDir, calls, ct, split, s.PriceTable).ConfigureAwait(false);
    }
}
