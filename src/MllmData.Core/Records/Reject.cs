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

    /// <summary>A line or record longer than the reader keeps in memory (16 MiB by default).</summary>
    public const string LineTooLong = "line-too-long";

    /// <summary>Text that is not valid UTF-8 (or a JSON string with a lone surrogate escape).</summary>
    public const string InvalidUtf8 = "invalid-utf8";

    /// <summary>A CSV row whose quoting is broken or whose field count differs from the header.</summary>
    public const string MalformedRow = "malformed-row";

    /// <summary>An image path that no file system can hold (e.g. one with a NUL character).</summary>
    public const string BadImagePath = "bad-image-path";

    /// <summary>A training record whose image or question is in an evaluation set given with <c>--exclude</c>.</summary>
    public const string Contaminated = "contaminated";
}

/// <summary>What an adapter yields: a record, or a reject in its place.</summary>
public readonly record struct SourceItem(InstructionRecord? Record, Reject? Reject)
{
    public static SourceItem Of(InstructionRecord record) => new(record, null);

    public static SourceItem Rejected(Reject reject) => new(null, reject);
}
