using System.Text.Json;
using MllmData.Model;

namespace MllmData.Validation;

/// <summary>
/// Reads a LLaVA or ShareGPT/ms-swift line back into the canonical record (leading image placeholders
/// become the record's images), so built data can be re-rendered or mixed with other data.
/// </summary>
public static class InstructionLineReader
{
    public static InstructionRecord Read(JsonElement line, string format, string file, long lineNo, string imageToken = "<image>")
    {
        List<string> images = [];
        List<(string Role, string Text)> messages = [];
        string id;
        if (format == "llava")
        {
            id = line.TryGetProperty("id", out var i) ? i.ToString() : $"line{lineNo}";
            if (line.TryGetProperty("image", out var img))
            {
                images = img.ValueKind == JsonValueKind.Array ? [.. img.EnumerateArray().Select(e => e.GetString()!)] : [img.GetString()!];
            }

            messages = [.. line.GetProperty("conversations").EnumerateArray().Select(t => (t.GetProperty("from").GetString() == "human" ? "user" : "assistant", t.GetProperty("value").GetString()!))];
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

            if (turns.Count == 0)
            {
                // The renderer put one placeholder per image before the first user text.
                for (var n = 0; n < images.Count && text.StartsWith(imageToken + separator, StringComparison.Ordinal); n++)
                {
                    text = text[(imageToken.Length + separator.Length)..];
                }
            }

            var output = k + 1 < messages.Count && messages[k + 1].Role == "assistant" ? messages[k + 1].Text : null;
            turns.Add(new Turn { Instruction = text, Output = output });
        }

        return new InstructionRecord
        {
            Id = id,
            Source = "instructions",
            Task = "instructions",
            Images = [.. images.Select(p => new ImageRef(p))],
            Turns = turns,
            Provenance = new Provenance { Adapter = "instructions", File = file, Ids = [new("line", lineNo.ToString(System.Globalization.CultureInfo.InvariantCulture))] },
        };
    }
}
