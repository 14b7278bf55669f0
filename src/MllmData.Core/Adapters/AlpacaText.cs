using System.Text.Json;
using MllmData.Formats;
using MllmData.Records;
using MllmData.Json;

namespace MllmData.Adapters;

/// <summary>
/// Alpaca-style text-only lines, <c>{"instruction", "input"?, "output", "system"?, "history"?}</c> (as LLaMA-Factory's
/// alpaca layout has them): one record with no image, the instruction and input kept as written, earlier
/// <c>history</c> pairs as earlier turns.
/// </summary>
internal static class AlpacaText
{
    public const string Name = "alpaca";

    /// <summary>A line with a string <c>instruction</c> and <c>output</c> and none of the chat formats' keys.</summary>
    public static bool Recognizes(JsonElement e) =>
        e.TryGetProperty("instruction", out var i) && i.ValueKind == JsonValueKind.String
        && e.TryGetProperty("output", out _)
        && !e.TryGetProperty("messages", out _) && !e.TryGetProperty("conversations", out _) && !e.TryGetProperty("outputs", out _);

    /// <summary>The record, or null with the findings that say why the line is not one.</summary>
    public static InstructionRecord? Read(JsonElement e, LineOrigin origin, List<Finding> findings)
    {
        var instruction = Text(e, "instruction", required: true, findings);
        var input = Text(e, "input", required: false, findings);
        var output = Text(e, "output", required: true, findings);
        var system = Text(e, "system", required: false, findings);
        var turns = new List<Turn>();
        if (e.TryGetProperty("history", out var history) && history.ValueKind != JsonValueKind.Null)
        {
            if (history.ValueKind != JsonValueKind.Array)
            {
                findings.Add(new(FindingCodes.WrongType, "\"history\" is not a list of [instruction, output] pairs"));
            }
            else
            {
                var n = 0;
                foreach (var pair in history.EnumerateArray())
                {
                    if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2
                        || pair[0].ValueKind != JsonValueKind.String || pair[1].ValueKind != JsonValueKind.String
                        || TextCheck.IsBlank(pair[0].GetString()) || TextCheck.IsBlank(pair[1].GetString()))
                    {
                        findings.Add(new(FindingCodes.WrongType, $"\"history\"[{n}] is not a pair of two non-empty strings"));
                        break;
                    }

                    turns.Add(new Turn { Instruction = pair[0].GetString(), Output = pair[1].GetString() });
                    n++;
                }
            }
        }

        if (findings.Count > 0)
        {
            return null;
        }

        turns.Add(new Turn { Instruction = instruction, Input = TextCheck.IsBlank(input) ? null : input, Output = output });
        return ReadBack.Record("line", origin, [], TextCheck.IsBlank(system) ? null : system, turns);
    }

    private static string? Text(JsonElement e, string key, bool required, List<Finding> findings)
    {
        if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                findings.Add(new(FindingCodes.MissingField, $"no \"{key}\""));
            }

            return null;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            findings.Add(new(FindingCodes.WrongType, $"\"{key}\" is not a string"));
            return null;
        }

        var text = v.GetString()!;
        if (required && TextCheck.IsBlank(text))
        {
            findings.Add(new(FindingCodes.EmptyContent, $"\"{key}\" is empty"));
            return null;
        }

        return text;
    }
}
