using MllmData.Records;
using MllmData.Recipes;
using MllmData.Templates;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// Wraps each turn with an instruction from a template pack: the source's named pack, or the pack of each
/// record's task, made when first needed. Records that already carry instructions pass unchanged.
/// </summary>
public sealed class TemplateStep : IRecordStep
{
    private readonly SourceSpec _spec;
    private readonly TemplateLibrary _library;
    private readonly long _seed;
    private readonly bool _instructionOnly;
    private readonly Dictionary<string, TemplateEngine> _engines = new(StringComparer.Ordinal);
    private readonly CotTrigger? _trigger;

    /// <summary>instructionOnly: the format keeps the question out of the instruction (in its own input field).</summary>
    public TemplateStep(SourceSpec spec, TemplateLibrary library, long seed, bool instructionOnly)
    {
        _spec = spec;
        _library = library;
        _seed = seed;
        _instructionOnly = instructionOnly;
        if (spec.Constraints == SourceSpec.ConstraintsMatch)
        {
            // The constraint suffixes are checked before any file is read too.
            _ = library.Get(AnswerConstraints.PackId);
        }

        if (spec.Templates is not null)
        {
            // A named pack is checked before any file is read.
            _ = Engine(string.Empty);
        }

        _trigger = spec.CotTrigger is { } trigger ? new CotTrigger(library.Get(CotTrigger.PackId), trigger, seed) : null;
    }

    public SourceItem Apply(InstructionRecord record)
    {
        if (TemplateEngine.IsInstructed(record))
        {
            return SourceItem.Of(record);
        }

        var templated = Engine(record.Task).Apply(record);
        return SourceItem.Of(_trigger is null ? templated : _trigger.Apply(record, templated));
    }

    private TemplateEngine Engine(string task)
    {
        var key = _spec.Templates is null ? task : string.Empty;
        if (!_engines.TryGetValue(key, out var engine))
        {
            var packId = _spec.Templates ?? TaskPacks.For(task) ?? throw new UsageException($"no template pack for task '{task}'; give --templates");
            var suffixTurns = _spec.SuffixTurns == "first" ? SuffixTurns.First : SuffixTurns.Every;
            var constraints = _spec.Constraints == SourceSpec.ConstraintsMatch ? _library.Get(AnswerConstraints.PackId) : null;
            _engines[key] = engine = new TemplateEngine(_library.Get(packId), _seed, _spec.TemplateTags, _spec.Suffix, suffixTurns, _instructionOnly, constraints);
        }

        return engine;
    }
}
