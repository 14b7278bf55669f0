using System.Text.Json;

namespace MllmData.Validation;

/// <summary>A problem with one record, with a stable reason code.</summary>
public sealed record Finding(string Code, string Message);

/// <summary>Checks one record of a format the way its consumer (trainer or API) would.</summary>
public interface IFormatValidator
{
    string Format { get; }

    void Validate(JsonElement record, List<Finding> findings);
}

/// <summary>Stable reason codes reported by validators and written to rejects.</summary>
public static class FindingCodes
{
    public const string NotJson = "not-json";
    public const string NotObject = "not-object";
    public const string MissingField = "missing-field";
    public const string WrongType = "wrong-type";
    public const string WrongRoleOrder = "wrong-role-order";
    public const string PlaceholderMismatch = "placeholder-mismatch";
    public const string MissingAssistant = "missing-assistant";
    public const string EmptyContent = "empty-content";
    public const string TooManyImages = "too-many-images";
    public const string ImageTooLarge = "image-too-large";
    public const string BadImageType = "bad-image-type";
    public const string BadBase64 = "bad-base64";
    public const string LiteralImageToken = "literal-image-token";
    public const string UnbalancedTokens = "unbalanced-tokens";
}
