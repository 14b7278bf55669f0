using System.Text.Json;

namespace MllmData.Validation;

/// <summary>Flat template form: BOS and EOS balanced and in order, one image token per image.</summary>
public sealed class TemplateFormValidator(string bos = "<BOS>", string eos = "<EOS>", string imageToken = "<image>") : IFormatValidator
{
    public string Format => "template";

    public void Validate(JsonElement record, List<Finding> findings)
    {
        if (!record.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
        {
            findings.Add(new(FindingCodes.MissingField, "no \"text\" string"));
            return;
        }

        var text = t.GetString()!;
        var depth = 0;
        var spans = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (string.CompareOrdinal(text, i, bos, 0, bos.Length) == 0)
            {
                depth++;
                spans++;
            }
            else if (string.CompareOrdinal(text, i, eos, 0, eos.Length) == 0)
            {
                depth--;
            }

            if (depth is < 0 or > 1)
            {
                findings.Add(new(FindingCodes.UnbalancedTokens, $"{bos}/{eos} out of order at character {i}"));
                return;
            }
        }

        if (depth != 0 || spans == 0)
        {
            findings.Add(new(FindingCodes.UnbalancedTokens, spans == 0 ? $"no {bos}" : $"{bos} without {eos}"));
        }

        var images = ValidationHelpers.ImageCount(record, "images", findings);
        var placeholders = ValidationHelpers.Count(text, imageToken);
        if (images != placeholders)
        {
            findings.Add(new(FindingCodes.PlaceholderMismatch, $"{placeholders} {imageToken} tokens for {images} images"));
        }
    }
}
