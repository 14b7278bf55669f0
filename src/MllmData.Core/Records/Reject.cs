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
    public const string EmptyAnswer = "empty-answer";
    public const string UnknownImage = "unknown-image";
    public const string MissingImage = "missing-image";
    public const string ImageOutsideRoot = "image-outside-root";
    public const string LiteralImageToken = "literal-image-token";
    public const string ImageTooLarge = "image-too-large";
    public const string BadImageType = "bad-image-type";
    public const string Unsupported = "unsupported-shape";
    public const string MissingOcr = "missing-ocr";
    public const string TooManyChoices = "too-many-choices";
    public const string Unanswerable = "unanswerable";
}

/// <summary>What an adapter yields: a record, or a reject in its place.</summary>
public readonly record struct SourceItem(InstructionRecord? Record, Reject? Reject)
{
    public static SourceItem Of(InstructionRecord record) => new(record, null);

    public static SourceItem Rejected(Reject reject) => new(null, reject);
}
