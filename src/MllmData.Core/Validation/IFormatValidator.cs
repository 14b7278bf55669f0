using System.Text.Json;
using MllmData.Model;

namespace MllmData.Validation;

/// <summary>A problem with one record, with a stable reason code.</summary>
public sealed record Finding(string Code, string Message);

/// <summary>Checks one record of a format the way its consumer (trainer or API) would.</summary>
public interface IFormatValidator
{
    string Format { get; }

    void Validate(JsonElement record, List<Finding> findings);
}

/// <summary>Stable reason codes reported by validators and written to rejects; codes shared with adapters come from <see cref="RejectReasons"/>.</summary>
public static class FindingCodes
{
    public const string NotJson = "not-json";
    public const string NotObject = "not-object";
    public const string MissingField = RejectReasons.MissingField;
    public const string WrongType = RejectReasons.WrongType;
    public const string WrongRoleOrder = "wrong-role-order";
    public const string PlaceholderMismatch = "placeholder-mismatch";
    public const string MissingAssistant = "missing-assistant";
    public const string EmptyContent = "empty-content";
    public const string TooManyImages = "too-many-images";
    public const string ImageTooLarge = RejectReasons.ImageTooLarge;
    public const string BadImageType = RejectReasons.BadImageType;
    public const string BadBase64 = "bad-base64";
    public const string LiteralImageToken = RejectReasons.LiteralImageToken;
    public const string UnbalancedTokens = "unbalanced-tokens";
}
