using System.Text.Json;
using MllmData.Model;

namespace MllmData.Validation;

/// <summary>
/// Reads a LLaVA or ShareGPT/ms-swift line back into the canonical record (leading image placeholders
/// become the record's images), so built data can be re-rendered or mixed with other data.
/// </summary>
public static class InstructionLineReader
{
    /// <summary>The format of a line: <c>conversations</c> means llava; content parts mean openai; else sharegpt.</summary>
    public static string Detect(JsonElement line)
    {
        if (line.TryGetProperty("conversations", out _))
        {
            return "llava";
        }

        // LLaVA's evaluation question files: {"question_id", "image", "text", "category"}.
        if (line.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String && line.TryGetProperty("question_id", out _))
        {
            return "llava-question";
        }

        if (line.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Array
            && m.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.Object && x.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.Array)
            && !line.TryGetProperty("images", out _))
        {
            return "openai";
        }

        return "sharegpt";
    }

    /// <summary>A path or URL as it stands; a base64 data URL keeps its bytes.</summary>
    private static ImageRef Image(string pathOrUrl)
    {
        if (!pathOrUrl.StartsWith("data:", StringComparison.Ordinal) || pathOrUrl.IndexOf(',', StringComparison.Ordinal) is var comma && comma < 0)
        {
            return new ImageRef(pathOrUrl);
        }

        var bytes = Convert.FromBase64String(pathOrUrl[(comma + 1)..]);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        return new ImageRef($"inline/{sha}") { Bytes = bytes, MediaType = pathOrUrl[5..pathOrUrl.IndexOf(';', StringComparison.Ordinal)], Sha256 = sha };
    }

    public static InstructionRecord Read(JsonElement line, string format, string file, long lineNo, string imageToken = "<image>")
    {
        List<string> images = [];
        List<(string Role, string Text)> messages = [];
        string id;
        if (format == "llava-question")
        {
            id = line.GetProperty("question_id").ToString();
            if (line.TryGetProperty("image", out var qi) && qi.ValueKind == JsonValueKind.String)
            {
                images = [qi.GetString()!];
            }

            messages = [("user", line.GetProperty("text").GetString()!)];
        }
        else if (format == "llava")
        {
            id = line.TryGetProperty("id", out var i) ? i.ToString() : $"line{lineNo}";
            if (line.TryGetProperty("image", out var img))
            {
                images = img.ValueKind == JsonValueKind.Array ? [.. img.EnumerateArray().Select(e => e.GetString()!)] : [img.GetString()!];
            }

            messages = [.. line.GetProperty("conversations").EnumerateArray().Select(t => (t.GetProperty("from").GetString() == "human" ? "user" : "assistant", t.GetProperty("value").GetString()!))];
        }
        else if (format == "openai")
        {
            id = $"line{lineNo}";
            foreach (var m in line.GetProperty("messages").EnumerateArray())
            {
                var role = m.GetProperty("role").GetString()!;
                if (!m.TryGetProperty("content", out var content))
                {
                    continue;
                }

                if (content.ValueKind == JsonValueKind.String)
                {
                    messages.Add((role, content.GetString()!));
                    continue;
                }

                var texts = new List<string>();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.GetProperty("type").GetString() == "text")
                    {
                        texts.Add(part.GetProperty("text").GetString()!);
                    }
                    else if (part.TryGetProperty("image_url", out var url))
                    {
                        images.Add(url.GetProperty("url").GetString()!);
                    }
                }

                messages.Add((role, string.Join("\n", texts)));
            }
        }
        else
        {
            id = $"line{lineNo}";
            if (line.TryGetProperty("images", out var img))
            {
                images = [.. img.EnumerateArray().Select(e => e.GetString()!)];
            }

            messages = [.. line.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!))];
        }

        var separator = format == "llava" ? "\n" : string.Empty;
        var turns = new List<Turn>();
        for (var k = 0; k < messages.Count; k++)
        {
            var (role, text) = messages[k];
            if (role != "user")
            {
                continue;
            }

            // Placeholders become the record's images; the renderer puts them back where its format wants them.
            if (separator.Length > 0)
            {
                text = text.Replace(imageToken + separator, string.Empty, StringComparison.Ordinal);
            }

            text = text.Replace(imageToken, string.Empty, StringComparison.Ordinal);
            var output = k + 1 < messages.Count && messages[k + 1].Role == "assistant" ? messages[k + 1].Text : null;
            turns.Add(new Turn { Instruction = text, Output = output, RawAnswer = output });
        }

        return new InstructionRecord
        {
            Id = id,
            Source = "instructions",
            Task = "instructions",
            Images = [.. images.Select(Image)],
            Turns = turns,
            Provenance = new Provenance { Adapter = "instructions", File = file, Ids = [new("line", lineNo.ToString(System.Globalization.CultureInfo.InvariantCulture))] },
        };
    }
}
