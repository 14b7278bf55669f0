using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MllmData.Formats;
using MllmData.Records;
using MllmData.Templates;
using MllmData.Json;

namespace MllmData.Generation;

/// <summary>A tool-use turn checked against the catalogue, with observations filled in by the tools, or a reject reason and detail.</summary>
public sealed record ToolUseResult(Turn? Turn, int ModelObservations, string? Reason, string? Detail)
{
    public static ToolUseResult Rejected(string reason, string detail) => new(null, 0, reason, detail);
}

/// <summary>
/// Turns a model's tool-use trace into a turn: every call's tool and arguments are checked against the catalogue,
/// and the observation comes from the tool, not from the model: detector, counter and cropper read the image's
/// annotated objects, the calculator computes, the captioner returns the image's first caption; only tools marked
/// <c>observation: model</c> keep the model's text (counted, and marked on the record).
/// </summary>
public sealed partial class ToolUse(ToolCatalogue catalogue, IReadOnlySet<string> categories, int maxCalls = 6)
{
    public const string Kind = "tool-use";

    [GeneratedRegex(@"\b\d+\b")]
    private static partial Regex Integer();

    [GeneratedRegex(@"\b(no|none|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b", RegexOptions.IgnoreCase)]
    private static partial Regex NumberWord();

    private static readonly string[] Words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];

    private static readonly Dictionary<string, string> Irregular = new(StringComparer.Ordinal) { ["people"] = "person", ["mice"] = "mouse", ["knives"] = "knife" };

    /// <summary>The pack's system prompt followed by the catalogue's tool list.</summary>
    public string System(TemplatePack pack) => pack.System.Trim() + "\n\n" + ToolTraceText.ToolList(catalogue.Specs);

    /// <summary>The pack with only the examples whose traces parse and call the catalogue's tools correctly (a catalogue of one's own may name other tools).</summary>
    public static TemplatePack ExamplesFor(TemplatePack pack, ToolCatalogue catalogue) => pack with
    {
        Examples = [.. pack.Examples.Where(e => ToolTraceParser.Parse(e.Response).Trace is { } t && t.Calls.All(c =>
        {
            if (catalogue.Find(c.Name) is not { } tool)
            {
                return false;
            }

            using var doc = JsonDocument.Parse(c.Arguments);
            return Arguments(tool.Spec, doc.RootElement).Problem is null;
        }))],
    };

    /// <summary>Provenance of a tool-use record: the tools called, in order, and how many observations the model wrote itself.</summary>
    public void Describe(Turn turn, JsonObject extra)
    {
        extra["tool_calls"] = new JsonArray([.. turn.ToolSteps.Select(s => (JsonNode)JsonValue.Create(s.Call.Name)!)]);
        extra["model_observations"] = turn.ToolSteps.Count(s => catalogue.Find(s.Call.Name)?.Observation == "model");
    }

    /// <summary>Every object category of the input's annotations, lower case.</summary>
    public static HashSet<string> Categories(IEnumerable<ImageContext> contexts) =>
        [.. contexts.SelectMany(c => c.Objects).Select(o => o.Category.ToLowerInvariant())];

    public ToolUseResult Parse(string text, ImageContext context)
    {
        var (trace, problem) = ToolTraceParser.Parse(text);
        if (trace is null)
        {
            return ToolUseResult.Rejected(RejectReasons.ToolTraceUnparsable, problem!);
        }

        if (trace.Calls.Count > maxCalls)
        {
            return ToolUseResult.Rejected("too-long", $"{trace.Calls.Count} tool calls; at most {maxCalls}");
        }

        foreach (var t in trace.Calls.Select(c => c.Thought).Append(trace.Thought).OfType<string>())
        {
            if (SampleFilters.Leaks(t))
            {
                return ToolUseResult.Rejected("leak", "a thought mentions captions, boxes or coordinates, which the image does not show");
            }
        }

        var steps = new List<ToolStep>();
        var fromModel = 0;
        for (var k = 0; k < trace.Calls.Count; k++)
        {
            var call = trace.Calls[k];
            var where = string.Create(CultureInfo.InvariantCulture, $"call {k + 1} ({call.Name})");
            if (catalogue.Find(call.Name) is not { } tool)
            {
                return ToolUseResult.Rejected(RejectReasons.UnknownTool, $"{where}: '{call.Name}' is not in the catalogue ({string.Join(", ", catalogue.Tools.Select(t => t.Spec.Name))})");
            }

            using var doc = JsonDocument.Parse(call.Arguments);
            var (arguments, bad) = Arguments(tool.Spec, doc.RootElement);
            if (bad is not null)
            {
                return ToolUseResult.Rejected(RejectReasons.BadToolArguments, $"{where}: {bad}");
            }

            var (observation, failure) = Observe(tool, arguments!, context);
            if (failure is not null)
            {
                return ToolUseResult.Rejected(RejectReasons.BadToolArguments, $"{where}: {failure}");
            }

            if (observation is null)
            {
                if (TextCheck.IsBlank(call.ModelObservation))
                {
                    return ToolUseResult.Rejected(RejectReasons.ToolTraceUnparsable, $"{where}: no observation, and {tool.Spec.Name}'s result cannot be computed here");
                }

                observation = call.ModelObservation;
                fromModel++;
            }
            else if (tool.Observation == "count" && call.ModelObservation is { } written && WrittenCount(written) is { } n && n != Count(observation))
            {
                return ToolUseResult.Rejected(RejectReasons.ToolObservationMismatch, $"{where}: the model expected {n}; the annotations give {Count(observation)}");
            }

            steps.Add(new ToolStep(call.Thought, new ToolCall(string.Create(CultureInfo.InvariantCulture, $"call_{k + 1}"), tool.Spec.Name, Json(w => WriteArguments(w, tool.Spec, arguments!))), observation));
        }

        var turn = new Turn { Instruction = trace.Request, Output = trace.Answer, RawAnswer = trace.Answer, Thought = trace.Thought, ToolSteps = steps };
        return new ToolUseResult(turn, fromModel, null, null);
    }

    /// <summary>The arguments by name, each checked against its declared type, or what is wrong with them.</summary>
    public static (Dictionary<string, JsonElement>? Arguments, string? Problem) Arguments(ToolSpec tool, JsonElement given)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in given.EnumerateObject())
        {
            if (tool.Arguments.FirstOrDefault(a => a.Name == p.Name) is not { } spec)
            {
                return (null, $"unexpected argument '{p.Name}'; {tool.Name} takes {Describe(tool)}");
            }

            if (!result.TryAdd(p.Name, p.Value.Clone()))
            {
                return (null, $"argument '{p.Name}' is given twice");
            }

            if (TypeProblem(spec, p.Value) is { } problem)
            {
                return (null, $"argument '{p.Name}' {problem}");
            }
        }

        foreach (var a in tool.Arguments.Where(a => a.Required && !result.ContainsKey(a.Name)))
        {
            return (null, $"missing argument '{a.Name}' ({a.Type})");
        }

        return (result, null);
    }

    private static string Describe(ToolSpec tool) =>
        tool.Arguments.Count == 0 ? "no arguments" : string.Join(", ", tool.Arguments.Select(a => $"{a.Name} ({a.Type}{(a.Required ? string.Empty : ", optional")})"));

    private static string? TypeProblem(ToolArgument spec, JsonElement v)
    {
        var kind = v.ValueKind;
        return spec.Type switch
        {
            "string" => kind == JsonValueKind.String && !TextCheck.IsBlank(v.GetString()) ? null : $"is {Show(v)}; expected a non-empty string",
            "integer" => kind == JsonValueKind.Number && v.TryGetInt64(out _) ? null : $"is {Show(v)}; expected an integer",
            "number" => kind == JsonValueKind.Number ? null : $"is {Show(v)}; expected a number",
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False ? null : $"is {Show(v)}; expected true or false",
            "enum" => kind == JsonValueKind.String && spec.Values.Contains(v.GetString()!, StringComparer.Ordinal) ? null : $"is {Show(v)}; expected one of {string.Join(", ", spec.Values)}",
            _ => Box(v) is null ? $"is {Show(v)}; expected a box [x1, y1, x2, y2] of numbers from 0 to 1 with x1 < x2 and y1 < y2" : null,
        };
    }

    private static string Show(JsonElement v)
    {
        var raw = v.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "...";
    }

    /// <summary>A box value: four numbers in 0–1, x1 &lt; x2, y1 &lt; y2.</summary>
    public static double[]? Box(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 4 || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number))
        {
            return null;
        }

        var b = v.EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return b.All(x => x is >= 0 and <= 1) && b[0] < b[2] && b[1] < b[3] ? b : null;
    }

    /// <summary>The tool's observation as compact JSON text; null for a tool whose result the model writes; or why it cannot run.</summary>
    private (string? Observation, string? Problem) Observe(CatalogueTool tool, Dictionary<string, JsonElement> args, ImageContext context)
    {
        double[]? Region(string name) => args.TryGetValue(name, out var r) ? Box(r) : null;
        switch (tool.Observation)
        {
            case "detect":
            case "count":
                var category = Category(args["category"].GetString()!);
                if (category is null)
                {
                    return (null, $"category '{args["category"].GetString()}' is not among the {categories.Count} annotated categories, so the result would not be true");
                }

                var found = Inside(context, Region("region")).Where(o => string.Equals(o.Category, category, StringComparison.OrdinalIgnoreCase)).ToList();
                var crowds = found.Where(o => o.Crowd).ToList();
                found.RemoveAll(o => o.Crowd);
                return (Json(w =>
                {
                    // Crowd annotations are one box around many objects: never counted as one, reported apart.
                    w.WriteStartObject();
                    w.WriteString("category", category);
                    if (tool.Observation == "count")
                    {
                        w.WriteNumber("count", found.Count);
                        if (crowds.Count > 0)
                        {
                            w.WriteNumber("crowd_regions", crowds.Count);
                        }
                    }
                    else
                    {
                        WriteBoxes(w, "boxes", found);
                        if (crowds.Count > 0)
                        {
                            WriteBoxes(w, "crowd_regions", crowds);
                        }
                    }

                    w.WriteEndObject();
                }), null);
            case "crop":
                var box = Region("box")!;
                return (Json(w =>
                {
                    w.WriteStartObject();
                    w.WritePropertyName("box");
                    WriteBox(w, box);
                    var inside = Inside(context, box).ToList();
                    w.WriteStartObject("objects");
                    foreach (var g in inside.Where(o => !o.Crowd).GroupBy(o => o.Category, StringComparer.Ordinal))
                    {
                        w.WriteNumber(g.Key, g.Count());
                    }

                    w.WriteEndObject();
                    if (inside.Any(o => o.Crowd))
                    {
                        w.WriteStartObject("crowd_regions");
                        foreach (var g in inside.Where(o => o.Crowd).GroupBy(o => o.Category, StringComparer.Ordinal))
                        {
                            w.WriteNumber(g.Key, g.Count());
                        }

                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }), null);
            case "calculate":
                var expression = args["expression"].GetString()!;
                if (Calculator.Evaluate(expression) is not { } value)
                {
                    return (null, $"expression '{expression}' is not arithmetic with numbers, + - * / and brackets (or divides by zero)");
                }

                return (Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("expression", expression);
                    w.WritePropertyName("result");
                    Calculator.Write(w, value);
                    w.WriteEndObject();
                }), null);
            case "caption":
                return context.Captions.Count == 0
                    ? (null, "the image has no caption for the captioner to return")
                    : (Json(w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("caption", context.Captions[0]);
                        w.WriteEndObject();
                    }), null);
            default:
                return (null, null);
        }
    }

    /// <summary>The annotated category a name means: itself, its singular (dogs, buses, people), any case; null when none.</summary>
    private string? Category(string name)
    {
        var n = string.Join(' ', name.Trim().ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var candidates = new List<string> { n };
        if (Irregular.TryGetValue(n, out var single))
        {
            candidates.Add(single);
        }

        if (n.EndsWith("es", StringComparison.Ordinal))
        {
            candidates.Add(n[..^2]);
        }

        if (n.EndsWith('s'))
        {
            candidates.Add(n[..^1]);
        }

        return candidates.FirstOrDefault(categories.Contains);
    }

    /// <summary>Objects whose box centre lies inside the region (all objects without one).</summary>
    private static IEnumerable<NormalizedBox> Inside(ImageContext context, double[]? region) =>
        region is null
            ? context.Objects
            : context.Objects.Where(o => (o.X1 + o.X2) / 2 is var cx && (o.Y1 + o.Y2) / 2 is var cy && cx >= region[0] && cx <= region[2] && cy >= region[1] && cy <= region[3]);

    private static int Count(string observation)
    {
        using var doc = JsonDocument.Parse(observation);
        return doc.RootElement.GetProperty("count").GetInt32();
    }

    /// <summary>The number a written observation states: its first integer, or a number word ("no", "none" and "zero" are 0).</summary>
    public static int? WrittenCount(string text)
    {
        var digits = Integer().Match(text);
        if (digits.Success && int.TryParse(digits.Value, CultureInfo.InvariantCulture, out var n))
        {
            return n;
        }

        var word = NumberWord().Match(text);
        return !word.Success ? null : word.Value.ToLowerInvariant() is "no" or "none" ? 0 : Array.IndexOf(Words, word.Value.ToLowerInvariant());
    }

    private static void WriteArguments(Utf8JsonWriter w, ToolSpec tool, Dictionary<string, JsonElement> args)
    {
        // In the catalogue's order, whatever order the model used.
        w.WriteStartObject();
        foreach (var a in tool.Arguments.Where(a => args.ContainsKey(a.Name)))
        {
            w.WritePropertyName(a.Name);
            if (a.Type == "box")
            {
                WriteBox(w, Box(args[a.Name])!);
            }
            else
            {
                args[a.Name].WriteTo(w);
            }
        }

        w.WriteEndObject();
    }

    private static void WriteBoxes(Utf8JsonWriter w, string name, List<NormalizedBox> boxes)
    {
        w.WriteStartArray(name);
        foreach (var o in boxes)
        {
            WriteBox(w, [o.X1, o.Y1, o.X2, o.Y2]);
        }

        w.WriteEndArray();
    }

    private static void WriteBox(Utf8JsonWriter w, double[] box)
    {
        w.WriteStartArray();
        foreach (var v in box)
        {
            w.WriteNumberValue(v);
        }

        w.WriteEndArray();
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = global::System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
