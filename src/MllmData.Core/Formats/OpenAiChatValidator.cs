using System.Text.Json;

namespace MllmData.Formats;

/// <summary>
/// OpenAI chat fine-tuning (FineTuneChatRequestInput): known roles, string or content-part content,
/// an assistant message last, at most 10 images, each a URL or a data URL of an allowed type of at most 10 MB.
/// </summary>
public sealed class OpenAiChatValidator : IFormatValidator
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    public string Format => "openai";

    public void Validate(JsonElement record, List<Finding> findings)
    {
        if (!ValidationHelpers.TryArray(record, "messages", findings, out var messages))
        {
            return;
        }

        var images = 0;
        var k = 0;
        string? last = null;
        string? previous = null;
        foreach (var m in messages.EnumerateArray())
        {
            var role = m.ValueKind == JsonValueKind.Object && m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            if (role is null || !Roles.Contains(role))
            {
                findings.Add(new(FindingCodes.WrongRoleOrder, $"message {k} has role '{role}'"));
                return;
            }

            if ((role == "assistant" && previous == "assistant") || (role == "user" && previous == "user") || (role == "system" && previous is not null and not "system"))
            {
                findings.Add(new(FindingCodes.WrongRoleOrder, $"message {k} ({role}) follows a {previous} message"));
                return;
            }

            if (!m.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            {
                if (role != "assistant" || !m.TryGetProperty("tool_calls", out _))
                {
                    findings.Add(new(FindingCodes.EmptyContent, $"message {k} has no content"));
                    return;
                }
            }
            else if (content.ValueKind == JsonValueKind.String)
            {
                if (string.IsNullOrWhiteSpace(content.GetString()))
                {
                    findings.Add(new(FindingCodes.EmptyContent, $"message {k} is empty"));
                    return;
                }
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                if (!Parts(content, role, k, findings, ref images))
                {
                    return;
                }
            }
            else
            {
                findings.Add(new(FindingCodes.WrongType, $"message {k} content is {content.ValueKind}"));
                return;
            }

            previous = role;
            last = role;
            k++;
        }

        if (last != "assistant")
        {
            findings.Add(new(FindingCodes.MissingAssistant, k == 0 ? "no messages" : "the last message is not from the assistant"));
        }

        if (images > ImageMedia.MaxImagesPerExample)
        {
            findings.Add(new(FindingCodes.TooManyImages, $"{images} images; at most {ImageMedia.MaxImagesPerExample} per example"));
        }
    }

    private static bool Parts(JsonElement content, string role, int k, List<Finding> findings, ref int images)
    {
        if (content.GetArrayLength() == 0)
        {
            findings.Add(new(FindingCodes.EmptyContent, $"message {k} has no content parts"));
            return false;
        }

        foreach (var part in content.EnumerateArray())
        {
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "text")
            {
                if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(text.GetString()))
                {
                    findings.Add(new(FindingCodes.EmptyContent, $"message {k} has an empty text part"));
                    return false;
                }
            }
            else if (type == "image_url" && role == "user")
            {
                images++;
                if (!part.TryGetProperty("image_url", out var iu) || iu.ValueKind != JsonValueKind.Object
                    || !iu.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
                {
                    findings.Add(new(FindingCodes.MissingField, $"message {k} has an image part without image_url.url"));
                    return false;
                }

                if (!Url(url.GetString()!, k, findings))
                {
                    return false;
                }
            }
            else
            {
                findings.Add(new(FindingCodes.WrongType, $"message {k} ({role}) has a content part of type '{type}'"));
                return false;
            }
        }

        return true;
    }

    private static bool Url(string url, int k, List<Finding> findings)
    {
        if (url.StartsWith("https://", StringComparison.Ordinal) || url.StartsWith("http://", StringComparison.Ordinal))
        {
            return true;
        }

        if (!url.StartsWith("data:", StringComparison.Ordinal))
        {
            findings.Add(new(FindingCodes.WrongType, $"message {k} image url is neither http(s) nor a data URL"));
            return false;
        }

        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = comma < 0 ? url : url[..comma];
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.Ordinal))
        {
            findings.Add(new(FindingCodes.BadBase64, $"message {k} data URL is not base64"));
            return false;
        }

        var declared = header[5..^7];
        var payload = url.AsSpan(comma + 1);

        // Decoded size from the base64 length, before decoding anything.
        var decodedLength = (payload.Length / 4 * 3) - (payload.EndsWith("==") ? 2 : payload.EndsWith("=") ? 1 : 0);
        if (decodedLength > ImageMedia.MaxEmbeddedBytes)
        {
            findings.Add(new(FindingCodes.ImageTooLarge, $"message {k} image is {decodedLength} bytes; at most {ImageMedia.MaxEmbeddedBytes}"));
            return false;
        }

        var bytes = new byte[decodedLength + 3];
        if (!Convert.TryFromBase64Chars(payload, bytes, out var written))
        {
            findings.Add(new(FindingCodes.BadBase64, $"message {k} image data is not valid base64"));
            return false;
        }

        var sniffed = ImageMedia.Sniff(bytes.AsSpan(0, written));
        if (!ImageMedia.Allowed.Contains(declared) || sniffed != declared)
        {
            findings.Add(new(FindingCodes.BadImageType, $"message {k} image is declared {declared} and looks like {sniffed ?? "no known image"}; allowed: {string.Join(", ", ImageMedia.Allowed)}"));
            return false;
        }

        return true;
    }
}
