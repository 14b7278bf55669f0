using System.Text.Json;
using System.Text.RegularExpressions;

namespace MllmData.Generation;

/// <summary>A call as the model wrote it: the reasoning before it, the tool's name, its arguments as JSON object text, and the model's own observation.</summary>
public sealed record ParsedCall(string? Thought, string Name, string Arguments, string? ModelObservation);

/// <summary>A tool-use trace as the model wrote it.</summary>
public sealed record ParsedTrace(string Request, IReadOnlyList<ParsedCall> Calls, string? Thought, string Answer);

/// <summary>
/// Reads a tool-use trace: <c>Request:</c>, then any number of <c>Thought:</c> / <c>Call: name {json}</c> /
/// <c>Observation:</c> blocks, then an optional <c>Thought:</c> and <c>Answer:</c>. Tolerates what models write:
/// bold or numbered labels, <c>Question:</c> or <c>User:</c> for the request, <c>Reasoning:</c> for a thought,
/// <c>Action:</c> with <c>Action Input:</c>, <c>name({json})</c>, a JSON call object, code fences, a preamble.
/// </summary>
public static partial class ToolTraceParser
{
    [GeneratedRegex(@"^\s*(?:[-*]\s*)?(?:\d+\s*[.)]\s*)?(?:\*\*|__)?\s*(?<label>user request|request|question|user|thought|reasoning|tool call|call|action input|action|observation|final answer|answer)\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*(?<rest>.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex Label();

    [GeneratedRegex(@"^(?<name>[A-Za-z0-9_-]+)\s*(?:\((?<paren>.*)\)|(?<json>\{.*\}))?$", RegexOptions.Singleline)]
    private static partial Regex CallText();

    private enum Kind
    {
        Request,
        Thought,
        Call,
        ActionInput,
        Observation,
        Answer,
    }

    /// <summary>The trace, or null and why it cannot be read.</summary>
    public static (ParsedTrace? Trace, string? Problem) Parse(string text)
    {
        var blocks = new List<(Kind Kind, List<string> Lines)>();
        foreach (var raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var m = Label().Match(raw);
            if (m.Success)
            {
                var kind = m.Groups["label"].Value.ToLowerInvariant() switch
                {
                    "user request" or "request" or "question" or "user" => Kind.Request,
                    "thought" or "reasoning" => Kind.Thought,
                    "tool call" or "call" or "action" => Kind.Call,
                    "action input" => Kind.ActionInput,
                    "observation" => Kind.Observation,
                    _ => Kind.Answer,
                };
                blocks.Add((kind, [m.Groups["rest"].Value.Trim()]));
            }
            else if (blocks.Count > 0 && !raw.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                blocks[^1].Lines.Add(raw.Trim());
            }
        }

        if (blocks.Count == 0 || blocks[0].Kind != Kind.Request)
        {
            return (null, "the trace does not start with a request");
        }

        var request = Join(blocks[0].Lines);
        var calls = new List<ParsedCall>();
        string? thought = null;
        string? answer = null;
        for (var i = 1; i < blocks.Count; i++)
        {
            var (kind, lines) = blocks[i];
            var value = Join(lines);
            if (answer is not null)
            {
                return (null, $"a {kind.ToString().ToLowerInvariant()} block follows the answer");
            }

            switch (kind)
            {
                case Kind.Request:
                    return (null, "the trace holds more than one request");
                case Kind.Thought:
                    thought = thought is null ? value : thought + " " + value;
                    break;
                case Kind.Call:
                    var callText = string.Join("\n", lines).Trim().Trim('`').Trim();
                    if (i + 1 < blocks.Count && blocks[i + 1].Kind == Kind.ActionInput)
                    {
                        callText += " " + string.Join("\n", blocks[i + 1].Lines).Trim().Trim('`').Trim();
                        i++;
                    }

                    var (call, problem) = Call(callText, thought);
                    if (call is null)
                    {
                        return (null, problem);
                    }

                    calls.Add(call);
                    thought = null;
                    break;
                case Kind.ActionInput:
                    return (null, "an action input without an action before it");
                case Kind.Observation:
                    if (calls.Count == 0 || calls[^1].ModelObservation is not null || thought is not null)
                    {
                        return (null, "an observation that does not follow a call");
                    }

                    calls[^1] = calls[^1] with { ModelObservation = value };
                    break;
                default:
                    answer = DropClosingRemark(lines);
                    break;
            }
        }

        if (request.Length == 0)
        {
            return (null, "the request is empty");
        }

        return string.IsNullOrEmpty(answer)
            ? (null, "the trace has no final answer")
            : (new ParsedTrace(request, calls, string.IsNullOrEmpty(thought) ? null : thought, answer), null);
    }

    /// <summary><c>name {json}</c>, <c>name({json})</c>, <c>name</c>, or <c>{"name": ..., "arguments": {...} | "..."}</c>.</summary>
    private static (ParsedCall? Call, string? Problem) Call(string text, string? thought)
    {
        if (text.StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                {
                    var args = root.TryGetProperty("arguments", out var a) ? a : default;
                    var argsText = args.ValueKind switch
                    {
                        JsonValueKind.Undefined => "{}",
                        JsonValueKind.String => args.GetString()!,
                        _ => args.GetRawText(),
                    };
                    return Object(n.GetString()!, argsText, thought);
                }
            }
            catch (JsonException)
            {
            }

            return (null, $"call '{Short(text)}' is not a tool name and a JSON object of arguments");
        }

        var m = CallText().Match(text);
        if (!m.Success)
        {
            return (null, $"call '{Short(text)}' is not a tool name and a JSON object of arguments");
        }

        var body = m.Groups["json"].Success ? m.Groups["json"].Value : m.Groups["paren"].Success ? m.Groups["paren"].Value.Trim() : string.Empty;
        return Object(m.Groups["name"].Value, body.Length == 0 ? "{}" : body, thought);
    }

    private static (ParsedCall? Call, string? Problem) Object(string name, string arguments, string? thought)
    {
        try
        {
            using var doc = JsonDocument.Parse(arguments);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                return (new ParsedCall(thought, name, arguments, null), null);
            }
        }
        catch (JsonException)
        {
        }

        return (null, $"the arguments of the call to '{name}' are not a JSON object: {Short(arguments)}");
    }

    private static string Short(string text) => text.Length <= 80 ? text : text[..80] + "...";

    /// <summary>The answer without a short closing remark after a blank line ("Let me know if...").</summary>
    private static string DropClosingRemark(List<string> lines)
    {
        var blank = lines.FindLastIndex(l => l.Length == 0);
        if (blank > 0 && lines.Skip(blank + 1).Any(l => l.Length > 0) && lines.Skip(blank + 1).Sum(l => l.Split(' ').Length) < 20)
        {
            return Join(lines.Take(blank).ToList());
        }

        return Join(lines);
    }

    private static string Join(List<string> lines) =>
        string.Join(' ', lines.Where(l => l.Length > 0).Select(l => l.Trim('*', '_').Trim())).Trim();
}
