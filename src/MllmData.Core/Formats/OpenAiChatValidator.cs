using System.Text.Json;
using MllmData.Json;

namespace MllmData.Formats;

/// <summary>
/// OpenAI chat fine-tuning (FineTuneChatRequestInput): known roles, string or content-part content,
/// an assistant message last, at most 10 images, each a URL or a data URL of an allowed type of at most 10 MB.
/// Function calling: a top-level <c>tools</c> array of <c>{"type":"function","function":{name, parameters}}</c>; each
/// assistant <c>tool_calls</c> entry has a unique id, type <c>function</c>, a name declared in <c>tools</c> and
/// <c>arguments</c> that parse as a JSON object holding the function's required parameters and, where
/// <c>additionalProperties</c> is false, no others; every call is answered by a <c>tool</c> message with its
/// <c>tool_call_id</c> before any other message.
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

        if (!ToolFunctions(record, findings, out var functions))
        {
            return;
        }

        var images = 0;
        var k = 0;
        string? last = null;
        string? previous = null;
        var pending = new List<string>();
        var callIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in messages.EnumerateArray())
        {
            // A message, a role or an id of another kind is wrong-type and one left out missing-field, as the adapters
            // code them; an unknown role or an id no call waits for is a matter of order.
            if (m.ValueKind != JsonValueKind.Object)
            {
                findings.Add(new(FindingCodes.WrongType, $"message {k} is {m.ValueKind}, expected an object"));
                return;
            }

            if (!Field(m, "role", $"message {k}", findings, out var r))
            {
                return;
            }

            var role = r.GetString()!;
            if (!Roles.Contains(role))
            {
                findings.Add(new(FindingCodes.WrongRoleOrder, $"message {k} has role '{role}'"));
                return;
            }

            if (role == "tool")
            {
                if (m.TryGetProperty("tool_call_id", out var tid) && tid.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                {
                    findings.Add(new(FindingCodes.WrongType, $"message {k} (tool) tool_call_id is {tid.ValueKind}, expected a string"));
                    return;
                }

                var id = tid.ValueKind == JsonValueKind.String ? tid.GetString()! : null;
                if (id is null || !pending.Remove(id))
                {
                    findings.Add(new(FindingCodes.ToolCallIdMismatch, $"message {k} (tool) answers '{id}', which is not a call waiting for an answer"));
                    return;
                }
            }
            else if (pending.Count > 0)
            {
                findings.Add(new(FindingCodes.UnansweredToolCall, $"message {k} ({role}) comes before tool messages answer {string.Join(", ", pending)}"));
                return;
            }

            if (role == "assistant" && m.TryGetProperty("tool_calls", out var calls) && !ToolCalls(calls, k, functions, callIds, pending, findings))
            {
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
                if (TextCheck.IsBlank(content.GetString()))
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

        if (pending.Count > 0)
        {
            findings.Add(new(FindingCodes.UnansweredToolCall, $"no tool message answers {string.Join(", ", pending)}"));
            return;
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

    /// <summary>The functions a top-level <c>tools</c> array declares, by name (empty without one); false after a finding.</summary>
    private static bool ToolFunctions(JsonElement record, List<Finding> findings, out Dictionary<string, JsonElement> functions)
    {
        functions = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (!record.TryGetProperty("tools", out var tools))
        {
            return true;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            findings.Add(new(FindingCodes.WrongType, $"\"tools\" is {tools.ValueKind}, expected an array"));
            return false;
        }

        var i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Object || !t.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function"
                || !t.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object
                || !f.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(name.GetString()))
            {
                findings.Add(new(FindingCodes.MissingField, $"tools[{i}] is not {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}"));
                return false;
            }

            if (f.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Object)
            {
                findings.Add(new(FindingCodes.WrongType, $"tools[{i}] ({name.GetString()}) has parameters that are not a JSON schema object"));
                return false;
            }

            if (!functions.TryAdd(name.GetString()!, f))
            {
                findings.Add(new(FindingCodes.WrongType, $"tools[{i}] declares '{name.GetString()}' a second time"));
                return false;
            }

            i++;
        }

        return true;
    }

    /// <summary>Checks an assistant message's tool calls and adds their ids to <paramref name="pending"/>; false after a finding.</summary>
    private static bool ToolCalls(JsonElement calls, int k, Dictionary<string, JsonElement> functions, HashSet<string> ids, List<string> pending, List<Finding> findings)
    {
        if (calls.ValueKind != JsonValueKind.Array || calls.GetArrayLength() == 0)
        {
            findings.Add(new(FindingCodes.WrongType, $"message {k} has tool_calls that are not a non-empty array"));
            return false;
        }

        foreach (var c in calls.EnumerateArray())
        {
            if (WrongKind(c, k, findings))
            {
                return false;
            }

            var id = c.ValueKind == JsonValueKind.Object && c.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
            if (string.IsNullOrEmpty(id) || !c.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function"
                || !c.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object
                || !f.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
            {
                findings.Add(new(FindingCodes.MissingField, $"message {k} has a tool call without id, type function and function.name"));
                return false;
            }

            if (!ids.Add(id))
            {
                findings.Add(new(FindingCodes.ToolCallIdMismatch, $"message {k} repeats the tool call id '{id}'"));
                return false;
            }

            var name = n.GetString()!;
            if (!functions.TryGetValue(name, out var declared))
            {
                findings.Add(new(FindingCodes.UnknownTool, $"message {k} calls '{name}', which tools does not declare"));
                return false;
            }

            var problem = !f.TryGetProperty("arguments", out var a) || a.ValueKind != JsonValueKind.String ? "are not a JSON string" : Arguments(a.GetString()!, declared);
            if (problem is not null)
            {
                findings.Add(new(FindingCodes.BadToolArguments, $"message {k} calls '{name}' with arguments that {problem}"));
                return false;
            }

            pending.Add(id);
        }

        return true;
    }

    /// <summary>What is wrong with a call's arguments text against the declared function's parameters, or null.</summary>
    private static string? Arguments(string text, JsonElement function)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return "do not parse as JSON";
        }

        using (doc)
        {
            var args = doc.RootElement;
            if (args.ValueKind != JsonValueKind.Object)
            {
                return "are not a JSON object";
            }

            if (!function.TryGetProperty("parameters", out var parameters))
            {
                return null;
            }

            if (parameters.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
            {
                foreach (var r in required.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.String && !args.TryGetProperty(r.GetString()!, out _)))
                {
                    return $"lack the required '{r.GetString()}'";
                }
            }

            if (parameters.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind == JsonValueKind.False)
            {
                var properties = parameters.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
                foreach (var given in args.EnumerateObject().Where(g => properties.ValueKind != JsonValueKind.Object || !properties.TryGetProperty(g.Name, out _)))
                {
                    return $"hold '{given.Name}', which its parameters do not declare";
                }
            }

            return null;
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
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                findings.Add(new(FindingCodes.WrongType, $"message {k} ({role}) has a content part whose type is {t.ValueKind}, expected a string"));
                return false;
            }

            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out t) ? t.GetString() : null;
            if (type == "text")
            {
                if (!Field(part, "text", $"message {k} text part", findings, out var text))
                {
                    return false;
                }

                if (TextCheck.IsBlank(text.GetString()))
                {
                    findings.Add(new(FindingCodes.EmptyContent, $"message {k} has an empty text part"));
                    return false;
                }
            }
            else if (type == "image_url" && role == "user")
            {
                images++;
                part.TryGetProperty("image_url", out var iu);
                var url = iu.ValueKind == JsonValueKind.Object && iu.TryGetProperty("url", out var u) ? u : default;
                if (iu.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null))
                {
                    findings.Add(new(FindingCodes.WrongType, $"message {k} image part's image_url is {iu.ValueKind}, expected an object"));
                    return false;
                }

                if (url.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
                {
                    findings.Add(new(FindingCodes.MissingField, $"message {k} has an image part without image_url.url"));
                    return false;
                }

                if (url.ValueKind != JsonValueKind.String)
                {
                    findings.Add(new(FindingCodes.WrongType, $"message {k} image part's image_url.url is {url.ValueKind}, expected a string"));
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

    /// <summary>
    /// A string field of an object: missing-field when it is absent or null, wrong-type when it holds another kind (the
    /// adapters' codes for the same faults); false after a finding.
    /// </summary>
    private static bool Field(JsonElement obj, string name, string where, List<Finding> findings, out JsonElement value)
    {
        if (!obj.TryGetProperty(name, out value) || value.ValueKind == JsonValueKind.Null)
        {
            findings.Add(new(FindingCodes.MissingField, $"{where} has no \"{name}\""));
            return false;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            findings.Add(new(FindingCodes.WrongType, $"{where} \"{name}\" is {value.ValueKind}, expected a string"));
            return false;
        }

        return true;
    }

    /// <summary>A tool call that is no object, or whose id, type or function name is of another kind (not left out or null): wrong-type.</summary>
    private static bool WrongKind(JsonElement call, int k, List<Finding> findings)
    {
        string? wrong = call.ValueKind != JsonValueKind.Object ? $"a tool call that is {call.ValueKind}, expected an object"
            : call.TryGetProperty("id", out var id) && id.ValueKind is not (JsonValueKind.String or JsonValueKind.Null) ? $"a tool call whose id is {id.ValueKind}, expected a string"
            : call.TryGetProperty("type", out var type) && type.ValueKind is not (JsonValueKind.String or JsonValueKind.Null) ? $"a tool call whose type is {type.ValueKind}, expected a string"
            : call.TryGetProperty("function", out var f) && f.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null) ? $"a tool call whose function is {f.ValueKind}, expected an object"
            : f.ValueKind == JsonValueKind.Object && f.TryGetProperty("name", out var n) && n.ValueKind is not (JsonValueKind.String or JsonValueKind.Null) ? $"a tool call whose function.name is {n.ValueKind}, expected a string"
            : null;
        if (wrong is not null)
        {
            findings.Add(new(FindingCodes.WrongType, $"message {k} has {wrong}"));
        }

        return wrong is not null;
    }

    private static bool Url(string url, int k, List<Finding> findings)
    {
        if (url.StartsWith("https://", StringComparison.Ordinal) || url.StartsWith("http://", StringComparison.Ordinal))
        {
            return true;
        }

        if (!url.StartsWith("data:", StringComparison.Ordinal))
        {
            // A string of the right kind that names nothing OpenAI loads: the build's reject for such an image, not a type fault.
            findings.Add(new(FindingCodes.BadImagePath, $"message {k} image url is neither http(s) nor a data URL"));
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
