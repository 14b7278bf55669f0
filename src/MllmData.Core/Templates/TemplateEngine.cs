using System.Text.Json.Nodes;
using MllmData.Records;
using MllmData.Json;

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
    private readonly bool _instructionOnly;
    private readonly Dictionary<string, IReadOnlyList<InstructionTemplate>>? _constraintPools;

    /// <summary>The tag of templates without the question, for formats that carry it in a field of its own.</summary>
    public const string InstructionOnlyTag = "instruction-only";

    /// <summary>Slots that form a sample's input text, in the order they are put there when the instruction leaves them out.</summary>
    public static readonly IReadOnlyList<string> InputSlots = ["context", "question", "options", "rationale", "ocr_tokens"];

    /// <summary>
    /// Suffix is a suffix id of the pack, <c>default</c> for the pack default, or <c>none</c>. With instructionOnly, only
    /// templates without <c>{question}</c> are used and the sample's input text goes in the turn's input. With a
    /// constraint pack (<c>--constraints match</c>), every question turn instead gets a suffix of the constraint type its
    /// answer has: the pack's own suffixes tagged with the type, else the constraint pack's templates tagged with it.
    /// </summary>
    public TemplateEngine(TemplatePack pack, long seed, IReadOnlyList<string>? tags = null, string suffix = "default", SuffixTurns suffixTurns = SuffixTurns.Every, bool instructionOnly = false, TemplatePack? constraintPack = null)
    {
        _pack = pack;
        _seed = seed;
        _suffixTurns = suffixTurns;
        _instructionOnly = instructionOnly;
        // Templates tagged instruction-only leave the question out; only formats that keep the input apart use them.
        IEnumerable<InstructionTemplate> pool = instructionOnly ? pack.Templates : pack.Templates.Where(t => !t.Tags.Contains(InstructionOnlyTag));
        if (instructionOnly && pack.Placeholders.Contains("question"))
        {
            pool = pool.Where(t => !t.PlaceholderNames().Contains("question"));
            if (!pool.Any())
            {
                throw new UsageException($"template pack '{pack.Id}' has no instruction-only template (one without {{question}}), which this format needs");
            }
        }

        _candidates = tags is { Count: > 0 }
            ? [.. pool.Where(t => tags.All(t.Tags.Contains))]
            : [.. pool];
        if (_candidates.Count == 0)
        {
            throw new UsageException($"template pack '{pack.Id}' has no {(instructionOnly ? "instruction-only " : string.Empty)}template with tags {string.Join(", ", tags!)}");
        }

        if (constraintPack is not null)
        {
            // Templates that ask for brevity themselves would contradict a sentence constraint: the constraint says it.
            if (_candidates.Any(t => !t.Tags.Contains("brief")))
            {
                _candidates = [.. _candidates.Where(t => !t.Tags.Contains("brief"))];
            }

            _constraintPools = AnswerConstraints.Types.ToDictionary(
                type => type,
                type => pack.Suffixes.Where(x => x.Tags.Contains(type)).ToList() is { Count: > 0 } own
                    ? (IReadOnlyList<InstructionTemplate>)own
                    : [.. constraintPack.Templates.Where(x => x.Tags.Contains(type))]);
            var bad = _constraintPools.Values.SelectMany(p => p).FirstOrDefault(t => t.PlaceholderNames().Count > 0);
            if (bad is not null)
            {
                throw new UsageException($"--constraints match: constraint suffix '{bad.Id}' has placeholders; constraint suffixes are plain text");
            }
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
            var usesQuestion = template.PlaceholderNames().Contains("question");

            // The adapter may suggest a suffix (ScienceQA's chain-of-thought outputs) where the recipe takes the default.
            var suffix = _defaultSuffix && turn.SuffixHint is { } hint ? _pack.Suffixes.FirstOrDefault(s => s.Id == hint) ?? _suffix : _suffix;
            AnswerConstraint? constraint = null;
            string? suffixText = null;
            if (_constraintPools is not null)
            {
                // Every question turn gets the constraint its answer satisfies, on every turn; an answer no type fits gets none.
                suffix = ConstraintSuffix(record.Id, i, turn);
                if (suffix is not null)
                {
                    suffixText = suffix.Text;
                    constraint = new AnswerConstraint(AnswerConstraints.TagOf(suffix)!, suffix.Id, suffix.Text);
                }
            }
            else if (suffix is not null && !template.Tags.Contains("brief") && (i == 0 || _suffixTurns == SuffixTurns.Every))
            {
                // A template that already asks for brevity needs no response-format suffix.
                suffixText = suffix.Text;
                constraint = AnswerConstraints.TagOf(suffix) is { } type ? new AnswerConstraint(type, suffix.Id, suffix.Text) : null;
            }

            // The instruction and its suffix (on a line of its own) made as one string.
            var instruction = template.Render(turn.Slots, suffixText);

            // A template may state a constraint itself (a custom pack's "{question} Answer yes or no.").
            constraint ??= AnswerConstraints.TagOf(template) is { } stated ? new AnswerConstraint(stated, template.Id, null) : null;

            turns[i] = turn with
            {
                Instruction = instruction,
                Input = _instructionOnly ? InputText(turn, template) : !usesQuestion && turn.Slots.TryGetValue("question", out var q) ? q : turn.Input,
                TemplateId = template.Id,
                Constraint = constraint,
            };
        }

        var provenance = record.Provenance with { Seed = _seed };
        if (turns.Any(t => t.Constraint is not null))
        {
            // The constraint of each turn, in turn order (null for a turn without one), kept in meta.extra.constraints.
            var extra = provenance.Extra?.DeepClone().AsObject() ?? new JsonObject();
            extra["constraints"] = new JsonArray([.. turns.Select(t => t.Constraint is { } c ? JsonValue.Create(c.Type) : null)]);
            provenance = provenance with { Extra = extra };
        }

        return record with { Turns = turns, Provenance = provenance };
    }

    /// <summary>The constraint suffix of a question turn: one of the pool of its answer's type, seeded per record and turn; null when none fits.</summary>
    private InstructionTemplate? ConstraintSuffix(string recordId, int turnIndex, Turn turn)
    {
        if (!turn.Slots.ContainsKey("question") || turn.Output is not { } answer
            || AnswerConstraints.Classify(answer, AnswerConstraints.OptionCount(turn.Slots)) is not { } type
            || _constraintPools![type] is not { Count: > 0 } pool)
        {
            return null;
        }

        return pool[SeededChoice.Pick(_seed, recordId, turnIndex, "constraint:" + type, pool.Count)];
    }

    /// <summary>The sample's input: every input slot the template left out, in <see cref="InputSlots"/> order, one per line.</summary>
    private static string? InputText(Turn turn, InstructionTemplate template)
    {
        var used = template.PlaceholderNames();
        var parts = InputSlots.Where(n => !used.Contains(n) && turn.Slots.TryGetValue(n, out var v) && !TextCheck.IsBlank(v)).Select(n => turn.Slots[n]).ToList();
        return parts.Count > 0 ? string.Join("\n", parts) : turn.Input;
    }

    /// <summary>True when every turn already has its instruction, so no template is needed.</summary>
    public static bool IsInstructed(InstructionRecord record)
    {
        var turns = record.Turns;
        for (var k = 0; k < turns.Count; k++)
        {
            if (turns[k].Instruction is null)
            {
                return false;
            }
        }

        return true;
    }
}
