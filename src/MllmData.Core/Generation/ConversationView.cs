using System.Text.Json.Nodes;
using MllmData.Adapters;

namespace MllmData.Generation;

/// <summary>One question/answer exchange of a rendered record, with a way to replace the answer in place.</summary>
public sealed record Exchange(string Question, string Answer, Action<string> SetAnswer);

/// <summary>Reads and edits the exchanges and images of a rendered line, per format, keeping every other key as it is.</summary>
public static class ConversationView
{
    /// <summary>The exchanges of a line; <paramref name="dropLines"/> (response-format suffixes) are taken out of the questions.</summary>
    public static IReadOnlyList<Exchange> Exchanges(JsonObject line, string format, string imageToken = "<image>", IReadOnlySet<string>? dropLines = null)
    {
        string Clean(string s)
        {
            var text = s.Replace(imageToken + "\n", string.Empty, StringComparison.Ordinal).Replace(imageToken, string.Empty, StringComparison.Ordinal);
            return string.Join("\n", text.Split('\n').Where(l => dropLines is null || !dropLines.Contains(l.Trim()))).Trim();
        }

        var result = new List<Exchange>();
        switch (format)
        {
            case "llava":
                Pairs(line["conversations"] as JsonArray, "from", "value", "human", "gpt", Clean, result);
                break;
            case "sharegpt" or "swift":
                Pairs(line["messages"] as JsonArray, "role", "content", "user", "assistant", Clean, result);
                break;
            case "openai":
                Pairs(line["messages"] as JsonArray, "role", "content", "user", "assistant", Clean, result);
                break;
            case "m3it":
                if (line["outputs"] is JsonValue)
                {
                    var question = string.Join("\n", new[] { (string?)line["instruction"], (string?)line["inputs"] }.Where(s => !string.IsNullOrEmpty(s)));
                    result.Add(new Exchange(question, (string)line["outputs"]!, v => line["outputs"] = v));
                }

                break;
            default:
                throw new UsageException($"rewrite reads llava, sharegpt, swift, openai or m3it shards, not '{format}' (the flat template form cannot be edited safely)");
        }

        return result;
    }

    /// <summary>Image paths or data URLs of the line, in order.</summary>
    public static IReadOnlyList<string> Images(JsonObject line, string format)
    {
        switch (format)
        {
            case "llava":
                return line["image"] switch
                {
                    JsonArray a => [.. a.Select(x => (string)x!)],
                    JsonValue v => [(string)v!],
                    _ => [],
                };
            case "sharegpt" or "swift":
                return line["images"] is JsonArray images ? [.. images.Select(x => (string)x!)] : [];
            case "openai":
                return [.. (line["messages"] as JsonArray ?? []).OfType<JsonObject>()
                    .SelectMany(m => m["content"] as JsonArray ?? [])
                    .OfType<JsonObject>()
                    .Where(p => (string?)p["type"] == "image_url")
                    .Select(p => (string)p["image_url"]!["url"]!)];
            case "m3it":
                return line["image_base64_str"] is JsonArray b ? [.. b.Select(x => "data:image/jpeg;base64," + (string)x!)] : [];
            default:
                return [];
        }
    }

    private static void Pairs(JsonArray? turns, string roleKey, string textKey, string user, string assistant, Func<string, string> clean, List<Exchange> result)
    {
        if (turns is null)
        {
            return;
        }

        for (var i = 0; i + 1 < turns.Count; i++)
        {
            if (turns[i] is not JsonObject q || turns[i + 1] is not JsonObject a || (string?)q[roleKey] != user || (string?)a[roleKey] != assistant)
            {
                continue;
            }

            var question = q[textKey] switch
            {
                JsonValue v => (string)v!,
                JsonArray parts => string.Join("\n", parts.OfType<JsonObject>().Where(p => (string?)p["type"] == "text").Select(p => (string)p["text"]!)),
                _ => string.Empty,
            };
            if (a[textKey] is JsonValue answer)
            {
                var target = a;
                result.Add(new Exchange(clean(question), (string)answer!, v => target[textKey] = v));
            }
        }
    }
}
