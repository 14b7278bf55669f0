using System.Text.Json.Nodes;

namespace MllmData.Records;

/// <summary>The canonical training sample every adapter produces and every renderer consumes.</summary>
public sealed record InstructionRecord
{
    /// <summary>Stable id, unique within a build (adapter-specific, derived from the source's own ids).</summary>
    public required string Id { get; init; }

    /// <summary>Name of the source in the recipe (defaults to the adapter name).</summary>
    public required string Source { get; init; }

    /// <summary>Task kind, e.g. <c>vqa</c>, <c>caption</c>; decides the default template pack.</summary>
    public required string Task { get; init; }

    public IReadOnlyList<ImageRef> Images { get; init; } = [];

    /// <summary>A system message the record carries (read back from chat data); formats without one refuse such records.</summary>
    public string? System { get; init; }

    public required IReadOnlyList<Turn> Turns { get; init; }

    public required Provenance Provenance { get; init; }

    /// <summary>
    /// Solved examples of the same task shown before the query (M-ICL), in order. Their images are the first images
    /// of <see cref="Images"/>, example by example (each takes <see cref="IclExample.ImageCount"/>), then the query's.
    /// </summary>
    public IReadOnlyList<IclExample> Examples { get; init; } = [];

    /// <summary>The tools a tool-use record's turns may call (see <see cref="Turn.ToolSteps"/>); empty on every other record.</summary>
    public IReadOnlyList<ToolSpec> Tools { get; init; } = [];

    /// <summary>How <see cref="Examples"/> were ordered (<c>seeded</c> or <c>similar-length</c>); null without examples.</summary>
    public string? ExampleOrder { get; init; }

    /// <summary>How many of <see cref="Images"/> belong to the examples; the rest are the query's.</summary>
    public int ExampleImageCount
    {
        get
        {
            var n = 0;
            foreach (var e in Examples)
            {
                n += e.ImageCount;
            }

            return n;
        }
    }
}

/// <summary>One in-context example: a solved sample of the same task (its instruction, input text and output), with its own image(s).</summary>
public sealed record IclExample(string Id, string Instruction, string? Input, string Output, int ImageCount)
{
    /// <summary>The user-side text of the example: the instruction followed by any separate input.</summary>
    public string UserText => new Turn { Instruction = Instruction, Input = Input }.UserText;
}

/// <summary>An image of a record, by its path relative to the image root as written to the output.</summary>
public sealed record ImageRef(string Path)
{
    public int? Width { get; init; }

    public int? Height { get; init; }

    public string? Sha256 { get; init; }

    public string? Format { get; init; }

    /// <summary>The file's bytes, loaded only for formats that embed images (openai, m3it).</summary>
    public byte[]? Bytes { get; init; }

    /// <summary>Media type of <see cref="Bytes"/>, e.g. <c>image/jpeg</c>.</summary>
    public string? MediaType { get; init; }

    /// <summary>The bytes came inside the data (a data URL), not from a file under the image root.</summary>
    public bool Inline { get; init; }
}

/// <summary>One exchange: an instruction (and optional input text) and the expected output.</summary>
public sealed record Turn
{
    /// <summary>Instruction text after templating; null until the template engine has run.</summary>
    public string? Instruction { get; init; }

    /// <summary>Input text not embedded in the instruction (e.g. the question when the template has no {question}).</summary>
    public string? Input { get; init; }

    /// <summary>Expected output; null for question-only evaluation records.</summary>
    public string? Output { get; init; }

    /// <summary>Values for template placeholders, e.g. <c>question</c>, <c>options</c>.</summary>
    public IReadOnlyDictionary<string, string> Slots { get; init; } = EmptySlots;

    /// <summary>The template that produced <see cref="Instruction"/>.</summary>
    public string? TemplateId { get; init; }

    /// <summary>A suffix id the adapter suggests for this turn (e.g. ScienceQA's chain-of-thought outputs), used when the recipe asks for the default.</summary>
    public string? SuffixHint { get; init; }

    /// <summary>The answer exactly as the source gave it, kept beside any rewrite.</summary>
    public string? RawAnswer { get; init; }

    /// <summary>Tool-use records: the calls made, in order, before <see cref="Output"/> (the final answer).</summary>
    public IReadOnlyList<ToolStep> ToolSteps { get; init; } = [];

    /// <summary>Tool-use records: the reasoning just before the final answer, if any.</summary>
    public string? Thought { get; init; }

    /// <summary>The answer-format constraint the instruction states (e.g. "Answer yes or no."), which the output must obey; null for none.</summary>
    public AnswerConstraint? Constraint { get; init; }

    /// <summary>The reasoning trigger appended to the instruction (<c>--cot-trigger</c>), which evaluation question lines end with too; null for none.</summary>
    public string? Trigger { get; init; }

    public static readonly IReadOnlyDictionary<string, string> EmptySlots = new Dictionary<string, string>();

    /// <summary>The user-side text: the instruction followed by any separate input.</summary>
    public string UserText => (Instruction, Input) switch
    {
        (null or "", null or "") => string.Empty,
        (null or "", _) => Input!,
        (_, null or "") => Instruction!,
        _ => Instruction + "\n" + Input,
    };
}

/// <summary>
/// An answer-format constraint of a turn: its type (<c>yes-no</c>, <c>number</c>, ...), the suffix or template that states
/// it, and the suffix's text (null when the template itself states it).
/// </summary>
public sealed record AnswerConstraint(string Type, string TemplateId, string? Text);

/// <summary>Where a record came from and how it was made.</summary>
public sealed record Provenance
{
    public required string Adapter { get; init; }

    public required string File { get; init; }

    /// <summary>
    /// The file the answers came from when it is another than <see cref="File"/> (VQAv2 joins a questions file and an
    /// annotations file): a reject for what an answer holds names it. Null when <see cref="File"/> holds the answers too.
    /// </summary>
    public string? AnswerFile { get; init; }

    /// <summary>The source's own ids, e.g. <c>question_id</c>, <c>image_id</c>, in a fixed order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Ids { get; init; } = [];

    /// <summary>Run seed used for template selection.</summary>
    public long? Seed { get; init; }

    private readonly JsonObject? _extra;

    /// <summary>
    /// Adapter-specific details (other captions, answer votes, ...), in insertion order: the object set here, else one made
    /// from <see cref="Details"/> each time it is read.
    /// </summary>
    public JsonObject? Extra
    {
        get => _extra ?? Details?.ToObject();
        init => _extra = value;
    }

    /// <summary>
    /// Details a source gives on every record, held as plain values: <c>meta.extra</c> is written straight from them
    /// when no <see cref="Extra"/> object is set (VQAv2's answer type, question type and ten answers would otherwise be a
    /// tree of nodes per record, made to be written once).
    /// </summary>
    public IRecordDetails? Details { get; init; }

    /// <summary>The <see cref="Extra"/> object set on this provenance, if any (not one made from <see cref="Details"/>).</summary>
    internal JsonObject? ExtraSet => _extra;
}

/// <summary>A source's details of one record, written as the members of <c>meta.extra</c>; see <see cref="Provenance.Details"/>.</summary>
public interface IRecordDetails
{
    /// <summary>Members written; none leaves <c>meta.extra</c> out.</summary>
    int Count { get; }

    /// <summary>Writes the members, byte for byte as <see cref="ToObject"/>'s would be, into an object the caller has opened.</summary>
    void WriteMembers(System.Text.Json.Utf8JsonWriter w);

    /// <summary>The members as a new object.</summary>
    JsonObject ToObject();
}
