using System.Text.Json.Nodes;
using MllmData.Records;

namespace MllmData.Templates;

/// <summary>
/// Appends a reasoning trigger from the <c>cot</c> pack ("think it through step by step", ...) to the instructions the
/// template engine wrote, on a line of its own: zero-shot chain of thought for evaluation sets. One trigger per record,
/// named, or chosen from the run seed and the record id; the id chosen is kept in <c>meta.extra.cot_trigger</c>.
/// </summary>
public sealed class CotTrigger
{
    /// <summary>The pack the triggers come from.</summary>
    public const string PackId = "cot";

    /// <summary>The choice that picks a trigger per record, seeded.</summary>
    public const string Random = "random";

    private readonly IReadOnlyList<InstructionTemplate> _triggers;
    private readonly long _seed;

    /// <summary>choice: a trigger id of the pack, or <see cref="Random"/>.</summary>
    public CotTrigger(TemplatePack pack, string choice, long seed)
    {
        _seed = seed;
        _triggers = choice == Random
            ? pack.Templates
            : [pack.Templates.FirstOrDefault(t => t.Id == choice)
               ?? throw new UsageException($"--cot-trigger (cot_trigger): the {pack.Id} pack has no trigger '{choice}'; give random or one of {string.Join(", ", pack.Templates.Select(t => t.Id))}")];
        if (_triggers.Count == 0 || _triggers.Any(t => t.PlaceholderNames().Count > 0))
        {
            throw new UsageException($"--cot-trigger (cot_trigger): the {pack.Id} pack must hold triggers without placeholders");
        }
    }

    /// <summary>The trigger a record gets.</summary>
    public InstructionTemplate For(string recordId) => _triggers[SeededChoice.Pick(_seed, recordId, 0, PackId, _triggers.Count)];

    /// <summary>
    /// <paramref name="templated"/> with the trigger after the instruction of each turn that <paramref name="original"/>
    /// left without one (instructions a record already carried keep their own wording).
    /// </summary>
    public InstructionRecord Apply(InstructionRecord original, InstructionRecord templated)
    {
        var trigger = For(templated.Id);
        var turns = templated.Turns.Select((t, i) => original.Turns[i].Instruction is null && t.Instruction is { } instruction
            ? t with { Instruction = instruction.Length == 0 ? trigger.Text : instruction + "\n" + trigger.Text, Trigger = trigger.Text }
            : t).ToList();
        var extra = templated.Provenance.Extra?.DeepClone().AsObject() ?? new JsonObject();
        extra["cot_trigger"] = trigger.Id;
        return templated with { Turns = turns, Provenance = templated.Provenance with { Extra = extra } };
    }
}
