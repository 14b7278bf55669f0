using System.Text;
using System.Text.Json;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>
/// How tool-use records are written. The chat formats (llava, sharegpt, swift) carry the trace as text: the first
/// user message opens with the tool list, each call is an assistant message <c>Thought: …</c> / <c>Call: name {json}</c>,
/// each result a user message <c>Observation: {json}</c>, and the turn ends with an assistant message
/// <c>Thought: …</c> / <c>Answer: …</c> (thoughts only where the trace has them). openai writes the catalogue as
/// JSON-schema functions in <c>tools</c> and the calls as <c>tool_calls</c> answered by <c>tool</c> messages.
/// </summary>
public static class ToolTraceText
{
    public const string ToolsHeading = "Tools you can call:";
    public const string ThoughtLabel = "Thought: ";
    public const string CallLabel = "Call: ";
    public const string ObservationLabel = "Observation: ";
    public const string AnswerLabel = "Answer: ";

    /// <summary>The tool list: a heading, then <c>- name(arg: type, opt?: type): description</c> per tool.</summary>
    public static string ToolList(IReadOnlyList<ToolSpec> tools)
    {
        var sb = new StringBuilder(ToolsHeading);
        foreach (var t in tools)
        {
            sb.Append("\n- ").Append(t.Name).Append('(')
                .AppendJoin(", ", t.Arguments.Select(a => $"{a.Name}{(a.Required ? string.Empty : "?")}: {(a.Type == "enum" ? string.Join('|', a.Values) : a.Type)}"))
                .Append("): ").Append(t.Description);
        }

        return sb.ToString();
    }

    /// <summary>The first user message's text without image placeholders: the tool list, a blank line, the request.</summary>
    public static string FirstUserText(InstructionRecord record, string request) => ToolList(record.Tools) + "\n\n" + request;

    public static string CallText(ToolStep step) =>
        (step.Thought is { Length: > 0 } t ? ThoughtLabel + t + "\n" : string.Empty) + CallLabel + step.Call.Name + " " + step.Call.Arguments;

    public static string ObservationText(ToolStep step) => ObservationLabel + step.Observation;

    public static string AnswerText(Turn turn) =>
        (turn.Thought is { Length: > 0 } t ? ThoughtLabel + t + "\n" : string.Empty) + AnswerLabel + turn.Output;

    /// <summary>
    /// The catalogue as OpenAI function tools: <c>{"type":"function","function":{name, description, parameters}}</c>, the
    /// parameters a JSON schema object (box: an array of exactly four numbers from 0 to 1; enum: a string of the values).
    /// </summary>
    public static void WriteOpenAiTools(Utf8JsonWriter w, IReadOnlyList<ToolSpec> tools)
    {
        w.WriteStartArray("tools");
        foreach (var t in tools)
        {
            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", t.Name);
            w.WriteString("description", t.Description);
            w.WriteStartObject("parameters");
            w.WriteString("type", "object");
            w.WriteStartObject("properties");
            foreach (var a in t.Arguments)
            {
                w.WriteStartObject(a.Name);
                switch (a.Type)
                {
                    case "box":
                        w.WriteString("type", "array");
                        w.WriteStartObject("items");
                        w.WriteString("type", "number");
                        w.WriteNumber("minimum", 0);
                        w.WriteNumber("maximum", 1);
                        w.WriteEndObject();
                        w.WriteNumber("minItems", 4);
                        w.WriteNumber("maxItems", 4);
                        break;
                    case "enum":
                        w.WriteString("type", "string");
                        w.WriteStartArray("enum");
                        foreach (var v in a.Values)
                        {
                            w.WriteStringValue(v);
                        }

                        w.WriteEndArray();
                        break;
                    default:
                        w.WriteString("type", a.Type);
                        break;
                }

                if (a.Description.Length > 0 || a.Type == "box")
                {
                    w.WriteString("description", a.Type == "box" ? $"{a.Description} [x1, y1, x2, y2] as fractions of the image width and height.".TrimStart() : a.Description);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteStartArray("required");
            foreach (var a in t.Arguments.Where(a => a.Required))
            {
                w.WriteStringValue(a.Name);
            }

            w.WriteEndArray();
            w.WriteBoolean("additionalProperties", false);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
