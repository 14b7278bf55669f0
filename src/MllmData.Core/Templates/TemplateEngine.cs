using MllmData.Adapters;
using MllmData.Model;

namespace MllmData.Templates;

/// <summary>Where the response-format suffix goes.</summary>
public enum SuffixTurns
{
    First,
    Every,
}

/// <summary>Wraps each turn of a record with an instruction drawn, seeded per sample, from a template pack.</summary>
public sealed class TemplateEngine
{
    private readonly TemplatePack _pack;
    private readonly IReadOnlyList<InstructionTemplate> _candidates;
    private readonly InstructionTemplate? _suffix;
    private readonly bool _defaultSuffix;
    private readonly SuffixTurns _suffixTurns;
    private readonly long _seed;

    /// <summary>Suffix is a suffix id of the pack, <c>default</c> for the pack default, or <c>none</c>.</summary>
    public TemplateEngine(TemplatePack pack, long seed, IReadOnlyList<string>? tags = null, string suffix = "default", SuffixTurns suffixTurns = SuffixTurns.Every)
    {
        _pack = pack;
        _seed = seed;
        _suffixTurns = suffixTurns;
        _candidates = tags is { Count: > 0 }
            ? [.. pack.Templates.Where(t => tags.All(t.Tags.Contains))]
            : pack.Templates;
        if (_candidates.Count == 0)
        {
            throw new UsageException($"template pack '{pack.Id}' has no template with tags {string.Join(", ", tags!)}");
        }

        var unknown = pack.Templates.SelectMany(t => t.PlaceholderNames()).Where(n => !pack.Placeholders.Contains(n)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"template pack '{pack.Id}' uses unknown placeholders: {string.Join(", ", unknown)} (run `mllmdata templates lint`)");
        }

        _defaultSuffix = suffix == "default";
        var suffixId = suffix == "default" ? pack.DefaultSuffix : suffix == "none" ? null : suffix;
        _suffix = suffixId is null
            ? null
            : pack.Suffixes.FirstOrDefault(s => s.Id == suffixId)
              ?? throw new UsageException($"template pack '{pack.Id}' has no suffix '{suffixId}'; known: {string.Join(", ", pack.Suffixes.Select(s => s.Id))}");
    }

    public TemplatePack Pack => _pack;

    /// <summary>Returns the record with every turn's instruction (and input) filled in.</summary>
    public InstructionRecord Apply(InstructionRecord record)
    {
        var turns = new Turn[record.Turns.Count];
        for (var i = 0; i < turns.Length; i++)
        {
            var turn = record.Turns[i];
            if (turn.Instruction is not null)
            {
                // Instruction data read back from a built file keeps its own wording.
                turns[i] = turn;
                continue;
            }

            var template = _candidates[SeededChoice.Pick(_seed, record.Id, i, _pack.Id, _candidates.Count)];
            var instruction = template.Render(turn.Slots);
            var usesQuestion = template.PlaceholderNames().Contains("question");

            // The adapter may suggest a suffix (ScienceQA's chain-of-thought outputs) where the recipe takes the default.
            var suffix = _defaultSuffix && turn.SuffixHint is { } hint ? _pack.Suffixes.FirstOrDefault(s => s.Id == hint) ?? _suffix : _suffix;

            // A template that already asks for brevity needs no response-format suffix.
            if (suffix is not null && !template.Tags.Contains("brief") && (i == 0 || _suffixTurns == SuffixTurns.Every))
            {
                instruction = instruction.Length == 0 ? suffix.Text : instruction + "\n" + suffix.Text;
            }

            turns[i] = turn with
            {
                Instruction = instruction,
                Input = !usesQuestion && turn.Slots.TryGetValue("question", out var q) ? q : turn.Input,
                TemplateId = template.Id,
            };
        }

        return record with { Turns = turns, Provenance = record.Provenance with { Seed = _seed } };
    }

    /// <summary>True when every turn already has its instruction, so no template is needed.</summary>
    public static bool IsInstructed(InstructionRecord record)
    {
        foreach (var t in record.Turns)
        {
            if (t.Instruction is null)
            {
                return false;
            }
        }

        return true;
    }
}
