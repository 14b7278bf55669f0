using System.Text.Json;
using MllmData.Rendering;

namespace MllmData.Validation;

/// <summary>M3IT: instruction, inputs and outputs strings present; every image_base64_str entry decodes to an image.</summary>
public sealed class M3itValidator : IFormatValidator
{
    public string Format => "m3it";

    public void Validate(JsonElement record, List<Finding> findings)
    {
        foreach (var field in new[] { "instruction", "inputs", "outputs" })
        {
            if (!record.TryGetProperty(field, out var v) || v.ValueKind != JsonValueKind.String)
            {
                findings.Add(new(FindingCodes.MissingField, $"no \"{field}\" string"));
                return;
            }
        }

        if (string.IsNullOrWhiteSpace(record.GetProperty("outputs").GetString()))
        {
            findings.Add(new(FindingCodes.EmptyContent, "\"outputs\" is empty"));
        }

        if (!ValidationHelpers.TryArray(record, "image_base64_str", findings, out var images))
        {
            return;
        }

        var i = 0;
        foreach (var image in images.EnumerateArray())
        {
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(image.GetString() ?? string.Empty);
            }
            catch (FormatException)
            {
                findings.Add(new(FindingCodes.BadBase64, $"image {i} is not valid base64"));
                return;
            }
            catch (InvalidOperationException)
            {
                findings.Add(new(FindingCodes.WrongType, $"image {i} is not a string"));
                return;
            }

            if (ImageMedia.Sniff(bytes) is null)
            {
                findings.Add(new(FindingCodes.BadImageType, $"image {i} decodes to no known image type"));
                return;
            }

            i++;
        }
    }
}
