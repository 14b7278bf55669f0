using System.Text.Json;

namespace MllmData.Validation;

/// <summary>LLaVA: conversations start with human and alternate; one placeholder per image; none for text-only records.</summary>
public sealed class LlavaValidator(string imageToken = "<image>") : IFormatValidator
{
    public string Format => "llava";

    public void Validate(JsonElement record, List<Finding> findings)
    {
        var images = ValidationHelpers.ImageCount(record, "image", findings);
        if (!ValidationHelpers.TryArray(record, "conversations", findings, out var conv))
        {
            return;
        }

        if (conv.GetArrayLength() == 0)
        {
            findings.Add(new(FindingCodes.MissingField, "\"conversations\" is empty"));
            return;
        }

        var placeholders = 0;
        var i = 0;
        var gpt = 0;
        foreach (var turn in conv.EnumerateArray())
        {
            var from = !turn.TryGetProperty("from", out var f) || f.ValueKind != JsonValueKind.String ? null
                : f.ValueEquals("human") ? "human" : f.ValueEquals("gpt") ? "gpt" : f.GetString();
            var value = turn.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var expected = i % 2 == 0 ? "human" : "gpt";
            if (from != expected)
            {
                findings.Add(new(FindingCodes.WrongRoleOrder, $"turn {i} is from '{from}', expected '{expected}'"));
                return;
            }

            if (string.IsNullOrWhiteSpace(value))
            {
                findings.Add(new(FindingCodes.EmptyContent, $"turn {i} has no text"));
                return;
            }

            var n = ValidationHelpers.Count(value, imageToken);
            if (from == "gpt" && n > 0)
            {
                findings.Add(new(FindingCodes.LiteralImageToken, $"turn {i} (gpt) contains {imageToken}"));
                return;
            }

            placeholders += n;
            gpt += from == "gpt" ? 1 : 0;
            i++;
        }

        if (gpt == 0)
        {
            findings.Add(new(FindingCodes.MissingAssistant, "no gpt turn"));
        }
        else if (i % 2 != 0)
        {
            findings.Add(new(FindingCodes.MissingAssistant, "the last human turn has no gpt answer"));
        }

        if (placeholders != images)
        {
            findings.Add(new(FindingCodes.PlaceholderMismatch, $"{placeholders} {imageToken} placeholders for {images} images"));
        }
    }
}
