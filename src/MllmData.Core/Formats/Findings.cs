using System.Text.Json;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>A problem with one record, with a stable reason code.</summary>
public sealed record Finding(string Code, string Message);

/// <summary>Checks one rendered record of a format the way its consumer (trainer or API) would.</summary>
public interface IFormatValidator
{
    /// <summary>Checks a record already parsed into a document.</summary>
    void Validate(JsonElement record, List<Finding> findings);

    /// <summary>Checks a record straight from its UTF-8 bytes; the default parses a document first.</summary>
    void Validate(ReadOnlySpan<byte> json, List<Finding> findings)
    {
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        Validate(doc.RootElement, findings);
    }

    /// <summary>
    /// Checks a line this build's writer has just rendered: well-formed JSON whose objects never repeat a key. Gives the
    /// findings <see cref="Validate(ReadOnlySpan{byte}, List{Finding})"/> gives; a validator may stop reading once
    /// everything it checks has been read.
    /// </summary>
    void ValidateWritten(ReadOnlySpan<byte> json, List<Finding> findings) => Validate(json, findings);
}

/// <summary>Stable reason codes reported by validators and written to rejects; codes shared with adapters come from <see cref="RejectReasons"/>.</summary>
public static class FindingCodes
{
    public const string NotJson = "not-json";

    /// <summary>A record with a key written twice (in it or in an object inside it).</summary>
    public const string DuplicateKey = RejectReasons.DuplicateKey;
    public const string NotObject = "not-object";
    public const string MissingField = RejectReasons.MissingField;
    public const string WrongType = RejectReasons.WrongType;
    public const string WrongRoleOrder = "wrong-role-order";
    public const string UnknownTool = RejectReasons.UnknownTool;
    public const string BadToolArguments = RejectReasons.BadToolArguments;
    public const string UnansweredToolCall = "unanswered-tool-call";
    public const string ToolCallIdMismatch = "tool-call-id-mismatch";
    public const string PlaceholderMismatch = "placeholder-mismatch";
    public const string MissingAssistant = "missing-assistant";
    public const string EmptyContent = "empty-content";
    public const string TooManyImages = "too-many-images";
    public const string ImageTooLarge = RejectReasons.ImageTooLarge;
    public const string BadImageType = RejectReasons.BadImageType;
    public const string BadImagePath = RejectReasons.BadImagePath;
    public const string BadBase64 = "bad-base64";
    public const string LiteralImageToken = RejectReasons.LiteralImageToken;
    public const string UnbalancedTokens = "unbalanced-tokens";
    public const string UnknownFormat = "unknown-format";
}
