namespace MllmData.Records;

/// <summary>An input that did not become a record, and why.</summary>
public sealed record Reject(string Source, string File, string Position, string Reason, string Detail);

/// <summary>Stable reason codes written to <c>rejects.jsonl</c>.</summary>
public static class RejectReasons
{
    public const string WrongType = "wrong-type";
    public const string MissingField = "missing-field";
    public const string NoAnnotation = "no-annotation";
    public const string NoQuestion = "no-question";
    public const string DuplicateId = "duplicate-id";

    /// <summary>A record in which a key is written twice (in it or in an object inside it): which value is meant cannot be told.</summary>
    public const string DuplicateKey = "duplicate-key";
    public const string EmptyAnswer = "empty-answer";
    public const string UnknownImage = "unknown-image";
    public const string MissingImage = "missing-image";
    public const string ImageOutsideRoot = "image-outside-root";
    public const string LiteralImageToken = "literal-image-token";

    /// <summary>Dataset text holding a tag the format's consumer fills with media or objects (<c>&lt;video&gt;</c>, <c>&lt;audio&gt;</c>, ...).</summary>
    public const string LiteralMediaTag = "literal-media-tag";
    public const string ImageTooLarge = "image-too-large";
    public const string BadImageType = "bad-image-type";
    public const string Unsupported = "unsupported-shape";
    public const string MissingOcr = "missing-ocr";
    public const string TooManyChoices = "too-many-choices";
    public const string Unanswerable = "unanswerable";

    /// <summary>A question that is empty or only white space: the record would ask nothing.</summary>
    public const string EmptyQuestion = "empty-question";

    /// <summary>A multiple-choice option that shows nothing (empty, white space or invisible characters only).</summary>
    public const string EmptyChoice = "empty-choice";

    /// <summary>Two multiple-choice options that read the same (case and runs of white space aside): which letter is right cannot be told.</summary>
    public const string DuplicateChoice = "duplicate-choice";

    /// <summary>Dataset text holding a control character (NUL, BEL, ESC, DEL, C1...); tabs and line breaks are text.</summary>
    public const string ControlCharacters = "control-characters";

    /// <summary>A line or record longer than the reader keeps in memory (16 MiB by default).</summary>
    public const string LineTooLong = "line-too-long";

    /// <summary>Text that is not valid UTF-8 (or a JSON string with a lone surrogate escape).</summary>
    public const string InvalidUtf8 = "invalid-utf8";

    /// <summary>A CSV row whose quoting is broken or whose field count differs from the header.</summary>
    public const string MalformedRow = "malformed-row";

    /// <summary>An image path that no file system can hold (e.g. one with a NUL character).</summary>
    public const string BadImagePath = "bad-image-path";

    /// <summary>Fewer candidate in-context examples of the record's task than <c>--icl-shots</c> asks for, once those sharing its image are left out.</summary>
    public const string TooFewExamples = "too-few-examples";

    /// <summary>A ScienceQA problem with neither lecture nor solution, asked for a Multimodal-CoT stage that needs its rationale.</summary>
    public const string NoRationale = "no-rationale";

    /// <summary>A rationale rewrite whose final answer, normalised, is not the raw answer.</summary>
    public const string RationaleAnswerMismatch = "rationale-answer-mismatch";

    /// <summary>A rationale rewrite that does not end in an "Answer: X" line.</summary>
    public const string RationaleNoFinalAnswer = "rationale-no-final-answer";

    /// <summary>A rationale rewrite that is only the answer line, with no reasoning before it.</summary>
    public const string RationaleNoReasoning = "rationale-no-reasoning";

    /// <summary>A training record whose image or question is in an evaluation set given with <c>--exclude</c>.</summary>
    public const string Contaminated = "contaminated";

    /// <summary>A tool-use generation without a request and a final answer in the trace layout, or with a call that is not a name and a JSON object.</summary>
    public const string ToolTraceUnparsable = "tool-trace-unparsable";

    /// <summary>A tool call naming a tool that is not in the catalogue.</summary>
    public const string UnknownTool = "unknown-tool";

    /// <summary>A tool call with a missing, extra or wrongly typed argument (or one the tool cannot run on).</summary>
    public const string BadToolArguments = "bad-tool-arguments";

    /// <summary>A tool call whose observation, as the model wrote it, disagrees with what the tool returns from the annotations.</summary>
    public const string ToolObservationMismatch = "tool-observation-mismatch";

    /// <summary>An answer that does not obey the answer-format constraint its instruction states ("Answer yes or no." on "two dogs").</summary>
    public const string ConstraintViolated = "constraint-violated";

    /// <summary>Generated text that mentions a COCO object neither annotated in the image nor named in its captions (<c>--hallucination reject</c>).</summary>
    public const string HallucinatedObject = "hallucinated-object";

    /// <summary>An object annotation whose <c>category_id</c> is not in the file's <c>categories</c>.</summary>
    public const string UnknownCategory = "unknown-category";

    /// <summary>An image with no object annotations: nothing present to ask about.</summary>
    public const string NoObjects = "no-objects";

    /// <summary>An image for which no category can serve as an absent object (existence questions need as many no as yes).</summary>
    public const string NoNegatives = "no-negatives";

    /// <summary>A crowd region (<c>iscrowd</c> 1): its box holds many objects, so it is not one object's box.</summary>
    public const string CrowdAnnotation = "crowd-annotation";

    /// <summary>A box smaller than <c>--min-box-area</c> square pixels.</summary>
    public const string TinyBox = "tiny-box";

    /// <summary>An object annotation without a usable <c>bbox</c> (not four numbers, no area, or outside the image).</summary>
    public const string BadBox = "bad-box";

    /// <summary>A category with several instances in the image, under <c>--ambiguous skip</c>.</summary>
    public const string AmbiguousTarget = "ambiguous-target";
}

/// <summary>What an adapter yields: a record, or a reject in its place.</summary>
public readonly record struct SourceItem(InstructionRecord? Record, Reject? Reject)
{
    public static SourceItem Of(InstructionRecord record) => new(record, null);

    public static SourceItem Rejected(Reject reject) => new(null, reject);

    /// <summary>The record rejected by a step: the reject names its source, file and id.</summary>
    public static SourceItem Rejected(InstructionRecord record, string reason, string detail) =>
        Rejected(new Reject(record.Source, record.Provenance.File, record.Id, reason, detail));

    /// <summary>The record rejected for what an answer holds: the reject names the file the answers came from.</summary>
    public static SourceItem RejectedForAnswer(InstructionRecord record, string reason, string detail) =>
        Rejected(new Reject(record.Source, record.Provenance.AnswerFile ?? record.Provenance.File, record.Id, reason, detail));
}
