using System.Text.Json.Nodes;
using MllmData.Json;

namespace MllmData.Output;

/// <summary>Reads back the records of a built shard, JSON lines or one JSON list, one at a time.</summary>
public static class ShardReader
{
    /// <summary>Each record with its 1-based number in the shard (its line in a JSONL shard).</summary>
    public static IEnumerable<(JsonObject Record, long Number)> Records(string path)
    {
        if (path.EndsWith(".json", StringComparison.Ordinal))
        {
            using var stream = File.OpenRead(path);
            foreach (var item in JsonElements.Read(stream, path, JsonLayout.TopLevelArray))
            {
                using (item)
                {
                    var node = item.IsObject ? JsonObject.Create(item.Element.Clone()) : null;
                    yield return (node ?? throw new InputDataException(path, item.Where("records"), "not-object", "a shard record is not a JSON object"), item.Index + 1);
                }
            }

            yield break;
        }

        long lineNo = 0;
        foreach (var text in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            var line = JsonNode.Parse(text) as JsonObject ?? throw new InputDataException(path, $"line {lineNo}", "not-object", "a shard line is not a JSON object");
            yield return (line, lineNo);
        }
    }
}
