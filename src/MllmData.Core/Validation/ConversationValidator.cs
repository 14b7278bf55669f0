using System.Text.Json;

namespace MllmData.Validation;

/// <summary>The key names and roles of a conversation format.</summary>
public sealed record ConversationShape(
    string Format,
    string ImagesKey,
    string TurnsKey,
    string RoleKey,
    string ContentKey,
    string User,
    string Assistant,
    string? System,
    string NonStringContentCode);

/// <summary>
/// Checks a role/content conversation as trainers do: an optional leading system message, then user and
/// assistant alternating and ending with the assistant, non-empty text, and exactly one image placeholder
/// per image, none of them in an answer. LLaVA and ShareGPT/ms-swift differ only in names.
/// </summary>
public sealed class ConversationValidator(ConversationShape shape, string imageToken = "<image>") : IFormatValidator
{
    public static readonly ConversationShape Llava = new("llava", "image", "conversations", "from", "value", "human", "gpt", null, FindingCodes.EmptyContent);

    public static ConversationShape ShareGpt(string format) => new(format, "images", "messages", "role", "content", "user", "assistant", "system", FindingCodes.WrongType);

    public string Format => shape.Format;

    public void Validate(JsonElement record, List<Finding> findings)
    {
        var images = ValidationHelpers.ImageCount(record, shape.ImagesKey, findings);
        if (!ValidationHelpers.TryArray(record, shape.TurnsKey, findings, out var turns))
        {
            return;
        }

        if (turns.GetArrayLength() == 0)
        {
            findings.Add(new(FindingCodes.MissingField, $"\"{shape.TurnsKey}\" is empty"));
            return;
        }

        var placeholders = 0;
        var i = 0;
        var k = 0;
        var last = string.Empty;
        foreach (var turn in turns.EnumerateArray())
        {
            var role = Role(turn);
            if (!turn.TryGetProperty(shape.ContentKey, out var c) || c.ValueKind != JsonValueKind.String)
            {
                var kind = turn.TryGetProperty(shape.ContentKey, out var cc) ? cc.ValueKind.ToString() : "missing";
                findings.Add(new(shape.NonStringContentCode, $"message {k} {shape.ContentKey} is {kind}, expected a string"));
                return;
            }

            if (k == 0 && shape.System is not null && role == shape.System)
            {
                k++;
                continue;
            }

            var expected = i % 2 == 0 ? shape.User : shape.Assistant;
            if (role != expected)
            {
                findings.Add(new(FindingCodes.WrongRoleOrder, $"message {k} is from '{role}', expected '{expected}'"));
                return;
            }

            var content = c.GetString()!;
            if (string.IsNullOrWhiteSpace(content))
            {
                findings.Add(new(FindingCodes.EmptyContent, $"message {k} is empty"));
                return;
            }

            var n = ValidationHelpers.Count(content, imageToken);
            if (role == shape.Assistant && n > 0)
            {
                findings.Add(new(FindingCodes.LiteralImageToken, $"message {k} ({role}) contains {imageToken}"));
                return;
            }

            placeholders += n;
            last = role;
            i++;
            k++;
        }

        if (i == 0 || last != shape.Assistant)
        {
            findings.Add(new(FindingCodes.MissingAssistant, i == 0 ? $"no {shape.User} or {shape.Assistant} message" : $"the last {shape.User} message has no {shape.Assistant} answer"));
        }

        if (placeholders != images)
        {
            findings.Add(new(FindingCodes.PlaceholderMismatch, $"{placeholders} {imageToken} placeholders for {images} images"));
        }
    }

    /// <summary>The role name; the common ones are matched without allocating a string.</summary>
    private string? Role(JsonElement turn)
    {
        if (!turn.TryGetProperty(shape.RoleKey, out var r) || r.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        return r.ValueEquals(shape.User) ? shape.User : r.ValueEquals(shape.Assistant) ? shape.Assistant : r.GetString();
    }
}
