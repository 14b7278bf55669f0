using System.Text.Json;

namespace MllmData.Validation;

/// <summary>
/// LLaMA-Factory ShareGPT (and ms-swift messages): optional leading system, then user/assistant
/// alternating, an even count ending with the assistant, and as many <c>&lt;image&gt;</c> as images.
/// </summary>
public sealed class ShareGptValidator(string format = "sharegpt", string imageToken = "<image>") : IFormatValidator
{
    public string Format => format;

    public void Validate(JsonElement record, List<Finding> findings)
    {
        var images = ValidationHelpers.ImageCount(record, "images", findings);
        if (!ValidationHelpers.TryArray(record, "messages", findings, out var messages))
        {
            return;
        }

        var placeholders = 0;
        var i = 0;
        var k = 0;
        var last = string.Empty;
        foreach (var m in messages.EnumerateArray())
        {
            var role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            if (!m.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String)
            {
                findings.Add(new(FindingCodes.WrongType, $"message {k} content is {(m.TryGetProperty("content", out var cc) ? cc.ValueKind.ToString() : "missing")}, expected a string"));
                return;
            }

            var content = c.GetString()!;
            if (k == 0 && role == "system")
            {
                k++;
                continue;
            }

            var expected = i % 2 == 0 ? "user" : "assistant";
            if (role != expected)
            {
                findings.Add(new(FindingCodes.WrongRoleOrder, $"message {k} has role '{role}', expected '{expected}'"));
                return;
            }

            if (string.IsNullOrWhiteSpace(content))
            {
                findings.Add(new(FindingCodes.EmptyContent, $"message {k} is empty"));
                return;
            }

            var n = ValidationHelpers.Count(content, imageToken);
            if (role == "assistant" && n > 0)
            {
                findings.Add(new(FindingCodes.LiteralImageToken, $"message {k} (assistant) contains {imageToken}"));
                return;
            }

            placeholders += n;
            last = role;
            i++;
            k++;
        }

        if (i == 0 || last != "assistant")
        {
            findings.Add(new(FindingCodes.MissingAssistant, i == 0 ? "no user or assistant message" : "the last user message has no assistant answer"));
        }

        if (placeholders != images)
        {
            findings.Add(new(FindingCodes.PlaceholderMismatch, $"{placeholders} {imageToken} placeholders for {images} images"));
        }
    }
}
