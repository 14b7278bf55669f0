using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MllmData.Formats;
using MllmData.Generation;
using MllmData.Records;

namespace MllmData.Tests.Models;

public partial class TheToolUseKind
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    private static readonly string Instances = TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json");
    private static readonly string ShippedTools = Path.Combine(TestPaths.RepoRoot, "templates", "tools", "vision-tools.yaml");

    private static readonly string[] Vocabulary =
    [
        "amber", "basket", "canyon", "dolphin", "engine", "falcon", "garden", "harbor", "island", "jacket", "kettle", "lantern", "meadow",
        "needle", "orchard", "pepper", "quarry", "rocket", "saddle", "tunnel", "umbrella", "violin", "walnut", "yacht", "zipper", "anchor",
    ];

    [GeneratedRegex(@"^(?<cat>[a-z][a-z ]*): \[", RegexOptions.Multiline)]
    private static partial Regex ObjectLine();

    private static ulong Hash(string s) => System.IO.Hashing.XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(s));

    private static string Words(string seed, int n) =>
        string.Join(' ', Enumerable.Range(0, n).Select(i => Hash(seed + "|" + i) is var h ? Vocabulary[(int)(h % (ulong)Vocabulary.Length)] + "x" + (h >> 44).ToString("x", CultureInfo.InvariantCulture) : string.Empty));

    private static List<ImageContext> Contexts()
    {
        using var captions = File.OpenRead(Captions);
        using var instances = File.OpenRead(Instances);
        return ImageContext.FromCoco(captions, Captions, () => File.OpenRead(Captions), instances, Instances);
    }

    /// <summary>Per image id and category name: (annotations that are not crowds, crowd annotations), read straight from the instances file.</summary>
    private static Dictionary<(string Image, string Category), (int Single, int Crowd)> RawCounts()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Instances));
        var names = doc.RootElement.GetProperty("categories").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetInt32(), c => c.GetProperty("name").GetString()!);
        var counts = new Dictionary<(string, string), (int, int)>();
        foreach (var a in doc.RootElement.GetProperty("annotations").EnumerateArray())
        {
            var key = (a.GetProperty("image_id").GetInt64().ToString(CultureInfo.InvariantCulture), names[a.GetProperty("category_id").GetInt32()]);
            var (single, crowd) = counts.GetValueOrDefault(key);
            counts[key] = a.GetProperty("iscrowd").GetInt32() == 1 ? (single, crowd + 1) : (single + 1, crowd);
        }

        return counts;
    }

    private static ToolUse Tool(List<ImageContext> contexts) => new(ToolCatalogue.Load(ShippedTools), ToolUse.Categories(contexts));

    [Fact]
    public void Should_Load_The_Shipped_Catalogue_With_Every_Tool_And_Typed_Arguments()
    {
        var catalogue = ToolCatalogue.Load(ShippedTools);
        Assert.Equal(["detector", "counter", "region_cropper", "ocr_reader", "captioner", "calculator"], catalogue.Tools.Select(t => t.Spec.Name));
        Assert.Equal(["detect", "count", "crop", "model", "caption", "calculate"], catalogue.Tools.Select(t => t.Observation));
        var counter = catalogue.Find("counter")!.Spec;
        Assert.Equal([("category", "string", true), ("region", "box", false)], counter.Arguments.Select(a => (a.Name, a.Type, a.Required)));
        Assert.Equal(["short", "plain"], catalogue.Find("captioner")!.Spec.Arguments.Single().Values);
        Assert.Equal(
            "Tools you can call:\n- detector(category: string, region?: box): Finds every object of one category in the image and returns a box for each.",
            ToolTraceText.ToolList([catalogue.Tools[0].Spec]));
    }

    [Theory]
    [InlineData("tools:\n  - name: counter\n    description: d\n    observation: count\n    arguments:\n      - name: category\n        type: text\n", "tool 'counter': argument 'category' has type 'text'")]
    [InlineData("tools:\n  - name: counter\n    description: d\n    observation: count\n    arguments:\n      - name: what\n        type: string\n", "tool 'counter': a tool with observation count takes category (string) and an optional region (box)")]
    [InlineData("tools:\n  - name: counter\n    description: d\n    observation: count\n", "tool 'counter': a tool with observation count needs the argument category (string)")]
    [InlineData("tools:\n  - name: pick\n    description: d\n    arguments:\n      - name: side\n        type: enum\n", "tool 'pick': argument 'side': an enum lists its distinct values under values")]
    [InlineData("tools:\n  - name: a b\n    description: d\n", "tool 'a b': a name is 1 to 64 letters")]
    [InlineData("tools:\n  - name: a\n    description: d\n  - name: a\n    description: e\n", "tool 'a': defined twice")]
    [InlineData("tools:\n  - name: Calc\n    description: d\n  - name: calc\n    description: e\n", "tool 'calc': defined twice (as 'Calc' before; names that differ only in case name one tool)")]
    [InlineData("tools:\n  - name: convert\n    description: d\n    arguments:\n      - name: Unit\n        type: string\n      - name: unit\n        type: string\n", "tool 'convert': argument 'unit' is defined twice (as 'Unit' before; names that differ only in case name one argument)")]
    [InlineData("tools:\n  - name: convert\n    description: d\n    arguments:\n      - name: unit\n        type: string\n      - name: unit\n        type: number\n", "tool 'convert': argument 'unit' is defined twice")]
    [InlineData("tools:\n  - name: convert\n    description: d\n    arguments:\n      - name: unit\n        type: enum\n        values: [km, mi, KM]\n", "tool 'convert': argument 'unit': enum values 'km' and 'KM' differ only in case or spaces; list one of them")]
    [InlineData("tools:\n  - name: convert\n    description: d\n    arguments:\n      - name: unit\n        type: enum\n        values: ['km', ' km']\n", "tool 'convert': argument 'unit': enum values 'km' and ' km' differ only in case or spaces")]
    [InlineData("tools:\n  - name: a\n    description: d\n    observation: guess\n", "tool 'a': observation must be one of detect, count, crop, calculate, caption, model")]
    [InlineData("tools: []\n", "a tool catalogue needs a non-empty list under tools")]
    public void Should_Refuse_A_Catalogue_That_Is_Wrong_Naming_The_File_And_The_Tool(string yaml, string expected)
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "tools.yaml");
        File.WriteAllText(file, yaml);
        var ex = Assert.Throws<UsageException>(() => ToolCatalogue.Load(file));
        Assert.StartsWith(file + ": " + expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Sure, here it is.\n\n**Request:** How many dogs?\n**Thought:** Count them.\n**Call:** counter {\"category\": \"dog\"}\n**Observation:** 2\n**Answer:** Two dogs are there.\n\nHope this helps!")]
    [InlineData("Question: How many dogs?\nThought: Count them.\nAction: counter\nAction Input: {\"category\": \"dog\"}\nObservation: 2\nFinal Answer: Two dogs are there.")]
    [InlineData("Request: How many dogs?\nReasoning: Count them.\nCall: counter({\"category\": \"dog\"})\nAnswer: Two dogs are there.")]
    [InlineData("Request: How many dogs?\nThought: Count them.\nCall: {\"name\": \"counter\", \"arguments\": \"{\\\"category\\\": \\\"dog\\\"}\"}\nAnswer: Two dogs are there.")]
    [InlineData("1. Request: How many dogs?\n2. Thought: Count them.\n3. Call: counter {\n  \"category\": \"dog\"\n}\n4. Answer: Two dogs are there.")]
    public void Should_Read_The_Trace_Shapes_Models_Write(string text)
    {
        var (trace, problem) = ToolTraceParser.Parse(text);
        Assert.True(trace is not null, problem);
        Assert.Equal("How many dogs?", trace.Request);
        var call = Assert.Single(trace.Calls);
        Assert.Equal(("counter", "Count them."), (call.Name, call.Thought));
        Assert.Equal("dog", JsonDocument.Parse(call.Arguments).RootElement.GetProperty("category").GetString());
        Assert.Equal("Two dogs are there.", trace.Answer);
    }

    [Theory]
    [InlineData("Thought: Count.\nCall: counter {\"category\": \"dog\"}\nAnswer: Two.", "the trace does not start with a request")]
    [InlineData("Request: How many dogs?\nCall: counter {\"category\": \"dog\"}\nObservation: 2", "the trace has no final answer")]
    [InlineData("Request: How many dogs?\nCall: counter {category: dog}\nAnswer: Two dogs.", "the arguments of the call to 'counter' are not a JSON object")]
    [InlineData("Request: How many dogs?\nCall: please count the dogs\nAnswer: Two dogs.", "call 'please count the dogs' is not a tool name and a JSON object of arguments")]
    [InlineData("Request: How many dogs?\nObservation: 2\nAnswer: Two dogs.", "an observation that does not follow a call")]
    [InlineData("Request: How many dogs?\nAnswer: Two dogs.\nCall: counter {\"category\": \"dog\"}", "a call block follows the answer")]
    public void Should_Say_Why_A_Trace_Cannot_Be_Read(string text, string expected)
    {
        var (trace, problem) = ToolTraceParser.Parse(text);
        Assert.Null(trace);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zoom_in {\"box\": [0.1, 0.1, 0.5, 0.5]}", RejectReasons.UnknownTool, "call 1 (zoom_in): 'zoom_in' is not in the catalogue (detector, counter, region_cropper, ocr_reader, captioner, calculator)")]
    [InlineData("counter {}", RejectReasons.BadToolArguments, "call 1 (counter): missing argument 'category' (string)")]
    [InlineData("counter {\"category\": \"tv\", \"colour\": \"red\"}", RejectReasons.BadToolArguments, "call 1 (counter): unexpected argument 'colour'; counter takes category (string), region (box, optional)")]
    [InlineData("counter {\"category\": 3}", RejectReasons.BadToolArguments, "call 1 (counter): argument 'category' is 3; expected a non-empty string")]
    [InlineData("counter {\"category\": \"tv\", \"region\": \"left half\"}", RejectReasons.BadToolArguments, "call 1 (counter): argument 'region' is \"left half\"; expected a box")]
    [InlineData("counter {\"category\": \"tv\", \"region\": [0.5, 0.1, 0.2, 0.9]}", RejectReasons.BadToolArguments, "call 1 (counter): argument 'region' is [0.5, 0.1, 0.2, 0.9]; expected a box")]
    [InlineData("counter {\"category\": \"tv\", \"region\": [0, 0, 1.5, 1]}", RejectReasons.BadToolArguments, "call 1 (counter): argument 'region' is [0, 0, 1.5, 1]; expected a box")]
    [InlineData("region_cropper {\"box\": [0.1, 0.2, 0.3]}", RejectReasons.BadToolArguments, "call 1 (region_cropper): argument 'box' is [0.1, 0.2, 0.3]; expected a box")]
    [InlineData("captioner {\"style\": \"long\"}", RejectReasons.BadToolArguments, "call 1 (captioner): argument 'style' is \"long\"; expected one of short, plain")]
    [InlineData("counter {\"category\": \"unicorn\"}", RejectReasons.BadToolArguments, "call 1 (counter): category 'unicorn' is not among the 78 annotated categories")]
    [InlineData("calculator {\"expression\": \"2 ^ 3\"}", RejectReasons.BadToolArguments, "call 1 (calculator): expression '2 ^ 3' is not arithmetic")]
    [InlineData("calculator {\"expression\": \"4 / (2 - 2)\"}", RejectReasons.BadToolArguments, "call 1 (calculator): expression '4 / (2 - 2)' is not arithmetic")]
    [InlineData("ocr_reader {}", RejectReasons.ToolTraceUnparsable, "call 1 (ocr_reader): no observation, and ocr_reader's result cannot be computed here")]
    public void Should_Reject_A_Wrong_Call_With_Its_Reason(string call, string reason, string detail)
    {
        var contexts = Contexts();
        var image = contexts.Single(c => c.ImageId == "139");
        var result = Tool(contexts).Parse($"Request: What is on the shelf?\nThought: Let me check.\nCall: {call}\nAnswer: A television sits there.", image);
        Assert.Null(result.Turn);
        Assert.Equal(reason, result.Reason);
        Assert.StartsWith(detail, result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_Fill_Counter_And_Detector_Observations_From_The_Annotations_For_Every_Coco_Mini_Image_And_Category()
    {
        var contexts = Contexts();
        var tool = Tool(contexts);
        var raw = RawCounts();
        var checkedCalls = 0;
        foreach (var context in contexts)
        {
            foreach (var category in context.Objects.Select(o => o.Category).Distinct())
            {
                var (single, crowd) = raw[(context.ImageId, category)];
                var result = tool.Parse($"Request: How many are there?\nCall: counter {{\"category\": \"{category}\"}}\nCall: detector {{\"category\": \"{category}\"}}\nAnswer: I counted them all.", context);
                Assert.True(result.Turn is not null, result.Detail);
                using var count = JsonDocument.Parse(result.Turn.ToolSteps[0].Observation);
                Assert.Equal(single, count.RootElement.GetProperty("count").GetInt32());
                Assert.Equal(crowd, count.RootElement.TryGetProperty("crowd_regions", out var c) ? c.GetInt32() : 0);
                using var boxes = JsonDocument.Parse(result.Turn.ToolSteps[1].Observation);
                Assert.Equal(single, boxes.RootElement.GetProperty("boxes").GetArrayLength());
                checkedCalls++;
            }
        }

        Assert.Equal(raw.Count, checkedCalls);

        // A category absent from the image counts 0; plurals and "people" name their category.
        var image = contexts.Single(c => c.ImageId == "139");
        var zero = tool.Parse("Request: Any giraffes here?\nCall: counter {\"category\": \"giraffes\"}\nObservation: none\nAnswer: No giraffes are here.", image);
        Assert.Equal("{\"category\":\"giraffe\",\"count\":0}", zero.Turn!.ToolSteps[0].Observation);
        Assert.Equal(raw[("139", "person")].Single, JsonDocument.Parse(tool.Parse("Request: How many people?\nCall: counter {\"category\": \"people\"}\nAnswer: Several people are there.", image).Turn!.ToolSteps[0].Observation).RootElement.GetProperty("count").GetInt32());
    }

    [Fact]
    public void Should_Count_Only_Objects_Centred_In_A_Region_And_Crop_To_What_Lies_Inside()
    {
        var contexts = Contexts();
        var image = contexts.Single(c => c.ImageId == "139");
        var tool = Tool(contexts);

        // Image 139 (640x426): tv [7.03, 167.76, 149.32, 94.87] has its centre at x 0.127; potted plant [236.98, 142.51, 24.7, 69.5] at x 0.390.
        var left = tool.Parse("Request: What is on the left?\nCall: region_cropper {\"box\": [0, 0, 0.3, 1]}\nAnswer: A television is on the left.", image).Turn!;
        using var crop = JsonDocument.Parse(left.ToolSteps[0].Observation);
        Assert.Equal(1, crop.RootElement.GetProperty("objects").GetProperty("tv").GetInt32());
        Assert.False(crop.RootElement.GetProperty("objects").TryGetProperty("potted plant", out _));
        var plants = tool.Parse("Request: Any plants on the left?\nCall: counter {\"category\": \"potted plant\", \"region\": [0.35, 0.3, 0.42, 0.5]}\nAnswer: There is one potted plant.", image).Turn!;
        Assert.Equal("{\"category\":\"potted plant\",\"count\":1}", plants.ToolSteps[0].Observation);
        Assert.Equal("{\"category\":\"potted plant\",\"region\":[0.35,0.3,0.42,0.5]}", plants.ToolSteps[0].Call.Arguments);
    }

    [Fact]
    public void Should_Reject_A_Trace_Whose_Written_Count_Disagrees_With_The_Annotations()
    {
        var contexts = Contexts();
        var image = contexts.Single(c => c.ImageId == "139");
        var tvs = contexts.Single(c => c.ImageId == "139").Objects.Count(o => o.Category == "tv" && !o.Crowd);
        var result = Tool(contexts).Parse($"Request: How many televisions?\nCall: counter {{\"category\": \"tv\"}}\nObservation: {{\"count\": {tvs + 2}}}\nAnswer: There are several televisions.", image);
        Assert.Equal(RejectReasons.ToolObservationMismatch, result.Reason);
        Assert.Equal($"call 1 (counter): the model expected {tvs + 2}; the annotations give {tvs}", result.Detail);
        Assert.Equal(3, ToolUse.WrittenCount("three of them"));
        Assert.Equal(0, ToolUse.WrittenCount("none"));
        Assert.Null(ToolUse.WrittenCount("{\"category\": \"tv\"}"));
    }

    [Theory]
    [InlineData("(3 + 2) * 4", "20")]
    [InlineData("7 / 2", "3.5")]
    [InlineData("-2 + 10 / 4", "0.5")]
    [InlineData("1 / 3", "0.333333")]
    [InlineData("2 * (3 + (4 - 1))", "12")]
    public void Should_Compute_The_Calculator_Observation(string expression, string result)
    {
        var contexts = Contexts();
        var turn = Tool(contexts).Parse($"Request: What is it?\nCall: calculator {{\"expression\": \"{expression}\"}}\nObservation: 99\nAnswer: That is the total.", contexts[0]).Turn!;
        Assert.Equal($"{{\"expression\":\"{expression}\",\"result\":{result}}}", turn.ToolSteps[0].Observation);
    }

    [Fact]
    public void Should_Keep_The_Models_Observation_Only_For_Tools_That_Cannot_Run_Here_And_Count_Them()
    {
        var contexts = Contexts();
        var image = contexts.Single(c => c.ImageId == "139");
        var result = Tool(contexts).Parse("Request: What does the screen say?\nCall: ocr_reader {\"region\": [0.011, 0.394, 0.244, 0.617]}\nObservation: NEWS\nCall: captioner {}\nObservation: A room.\nAnswer: The screen shows the word NEWS.", image);
        Assert.Equal(1, result.ModelObservations);
        Assert.Equal("NEWS", result.Turn!.ToolSteps[0].Observation);
        Assert.Equal($"{{\"caption\":{JsonSerializer.Serialize(image.Captions[0])}}}", result.Turn.ToolSteps[1].Observation);
    }

    private static InstructionRecord Sample()
    {
        var catalogue = ToolCatalogue.Load(ShippedTools);
        return new InstructionRecord
        {
            Id = "t-1",
            Source = "self-instruct",
            Task = "self-instruct-tool-use",
            Images = [new ImageRef("000000000139.jpg")],
            Tools = catalogue.Specs,
            Turns =
            [
                new Turn
                {
                    Instruction = "How many plants are there, doubled?",
                    Output = "Doubled, that makes two.",
                    Thought = "One plant, times two.",
                    ToolSteps =
                    [
                        new ToolStep("Count the plants first.", new ToolCall("call_1", "counter", "{\"category\":\"potted plant\"}"), "{\"category\":\"potted plant\",\"count\":1}"),
                        new ToolStep(null, new ToolCall("call_2", "calculator", "{\"expression\":\"1 * 2\"}"), "{\"expression\":\"1 * 2\",\"result\":2}"),
                    ],
                },
            ],
            Provenance = new Provenance { Adapter = "self-instruct", File = "captions.json" },
        };
    }

    private static JsonElement Render(string format, InstructionRecord record, RenderOptions options)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            FormatRegistry.Get(format).Render(record, w, options);
        }

        var line = JsonDocument.Parse(buffer.ToArray()).RootElement.Clone();
        var findings = new List<Finding>();
        FormatRegistry.Get(format).CreateValidator(options).Validate(line, findings);
        Assert.True(findings.Count == 0, $"{format}: {string.Join("; ", findings)}");
        return line;
    }

    [Theory]
    [InlineData("llava", "conversations", "from", "value", "human", "gpt", "<image>\n")]
    [InlineData("sharegpt", "messages", "role", "content", "user", "assistant", "<image>")]
    [InlineData("swift", "messages", "role", "content", "user", "assistant", "<image>")]
    public void Should_Render_Calls_And_Observations_As_Text_Turns_That_The_Format_Validator_Accepts(string format, string turnsKey, string roleKey, string contentKey, string user, string assistant, string image)
    {
        var line = Render(format, Sample(), new RenderOptions());
        var turns = line.GetProperty(turnsKey).EnumerateArray().Select(t => (t.GetProperty(roleKey).GetString(), t.GetProperty(contentKey).GetString())).ToList();
        var tools = ToolTraceText.ToolList(ToolCatalogue.Load(ShippedTools).Specs);
        Assert.Equal(
            [
                (user, image + tools + "\n\nHow many plants are there, doubled?"),
                (assistant, "Thought: Count the plants first.\nCall: counter {\"category\":\"potted plant\"}"),
                (user, "Observation: {\"category\":\"potted plant\",\"count\":1}"),
                (assistant, "Call: calculator {\"expression\":\"1 * 2\"}"),
                (user, "Observation: {\"expression\":\"1 * 2\",\"result\":2}"),
                (assistant, "Thought: One plant, times two.\nAnswer: Doubled, that makes two."),
            ],
            turns);
    }

    [Fact]
    public void Should_Render_OpenAi_Tool_Calls_Answered_By_Tool_Messages_With_The_Catalogue_As_Functions()
    {
        var line = Render("openai", Sample(), new RenderOptions { ImageUrlPrefix = "https://example.org/coco/" });
        var messages = line.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "tool", "assistant", "tool", "assistant"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Count the plants first.", messages[1].GetProperty("content").GetString());
        Assert.False(messages[3].TryGetProperty("content", out _));
        var call = messages[1].GetProperty("tool_calls").EnumerateArray().Single();
        Assert.Equal(("call_1", "function", "counter", "{\"category\":\"potted plant\"}"), (call.GetProperty("id").GetString(), call.GetProperty("type").GetString(), call.GetProperty("function").GetProperty("name").GetString(), call.GetProperty("function").GetProperty("arguments").GetString()));
        Assert.Equal("call_1", messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("{\"category\":\"potted plant\",\"count\":1}", messages[2].GetProperty("content").GetString());
        Assert.Equal("Doubled, that makes two.", messages[5].GetProperty("content").GetString());

        var tools = line.GetProperty("tools").EnumerateArray().ToList();
        Assert.Equal(6, tools.Count);
        var counter = tools[1].GetProperty("function");
        Assert.Equal("counter", counter.GetProperty("name").GetString());
        var parameters = counter.GetProperty("parameters");
        Assert.Equal(["category"], parameters.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.False(parameters.GetProperty("additionalProperties").GetBoolean());
        var region = parameters.GetProperty("properties").GetProperty("region");
        Assert.Equal(("array", 4, 4), (region.GetProperty("type").GetString(), region.GetProperty("minItems").GetInt32(), region.GetProperty("maxItems").GetInt32()));
        Assert.Equal(["short", "plain"], tools[4].GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("style").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public void Should_Refuse_Tool_Use_Records_In_Formats_Without_A_Place_For_Calls()
    {
        Assert.Equal(RejectReasons.Unsupported, FormatRegistry.Get("m3it").Refuse(Sample(), new RenderOptions())!.Value.Reason);
        Assert.Equal(RejectReasons.Unsupported, FormatRegistry.Get("template").Refuse(Sample(), new RenderOptions())!.Value.Reason);
        Assert.Null(FormatRegistry.Get("sharegpt").Refuse(Sample(), new RenderOptions()));
    }

    private const string Tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"counter\",\"parameters\":{\"type\":\"object\",\"properties\":{\"category\":{\"type\":\"string\"}},\"required\":[\"category\"],\"additionalProperties\":false}}}]";

    private static string Call(string id, string name, string args) =>
        $"{{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{{\"id\":\"{id}\",\"type\":\"function\",\"function\":{{\"name\":\"{name}\",\"arguments\":{JsonSerializer.Serialize(args)}}}}}]}}";

    [Theory]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}," + "CALL" + ",{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"2\"},{\"role\":\"assistant\",\"content\":\"two\"}]," + Tools + "}", null)]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}," + "CALL" + ",{\"role\":\"assistant\",\"content\":\"two\"}]," + Tools + "}", FindingCodes.UnansweredToolCall)]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}," + "CALL" + "]," + Tools + "}", FindingCodes.UnansweredToolCall)]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}," + "CALL" + ",{\"role\":\"tool\",\"tool_call_id\":\"c9\",\"content\":\"2\"},{\"role\":\"assistant\",\"content\":\"two\"}]," + Tools + "}", FindingCodes.ToolCallIdMismatch)]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"2\"},{\"role\":\"assistant\",\"content\":\"two\"}]," + Tools + "}", FindingCodes.ToolCallIdMismatch)]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}," + "CALL" + ",{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"2\"},{\"role\":\"assistant\",\"content\":\"two\"}]}", FindingCodes.UnknownTool)]
    public void Should_Check_That_Every_OpenAi_Tool_Call_Is_Declared_And_Answered(string template, string? code)
    {
        var line = template.Replace("CALL", Call("c1", "counter", "{\"category\":\"dog\"}"), StringComparison.Ordinal);
        var findings = new List<Finding>();
        new OpenAiChatValidator().Validate(JsonDocument.Parse(line).RootElement, findings);
        Assert.Equal(code is null ? [] : [code], findings.Select(f => f.Code));
    }

    [Theory]
    [InlineData("counter", "{\"category\":\"dog\"", FindingCodes.BadToolArguments, "do not parse as JSON")]
    [InlineData("counter", "[\"dog\"]", FindingCodes.BadToolArguments, "are not a JSON object")]
    [InlineData("counter", "{}", FindingCodes.BadToolArguments, "lack the required 'category'")]
    [InlineData("counter", "{\"category\":\"dog\",\"size\":2}", FindingCodes.BadToolArguments, "hold 'size', which its parameters do not declare")]
    [InlineData("detector", "{\"category\":\"dog\"}", FindingCodes.UnknownTool, "calls 'detector', which tools does not declare")]
    public void Should_Reject_OpenAi_Tool_Calls_With_Wrong_Names_Or_Arguments(string name, string args, string code, string message)
    {
        var line = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}," + Call("c1", name, args) + ",{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"2\"},{\"role\":\"assistant\",\"content\":\"two\"}]," + Tools + "}";
        var findings = new List<Finding>();
        new OpenAiChatValidator().Validate(JsonDocument.Parse(line).RootElement, findings);
        var finding = Assert.Single(findings);
        Assert.Equal(code, finding.Code);
        Assert.EndsWith(message, finding.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A fake model writing tool-use traces from the context it is sent: most images get a counter call with the count of the
    /// listed objects of the first category; by a hash of the image's context, some get no tool, a counter and a calculator,
    /// an unknown tool, an extra argument or a box given as words. What it emitted per image is kept for the checks.
    /// </summary>
    private sealed class ToolModel
    {
        public ConcurrentDictionary<string, (string Plan, string Category, int Listed)> Emitted { get; } = new();

        public FakeReply Reply(SeenRequest r)
        {
            var context = r.UserText;
            var key = context.Split('\n').FirstOrDefault(l => l.StartsWith("- ", StringComparison.Ordinal)) ?? context;
            var objects = ObjectLine().Matches(context).Select(m => m.Groups["cat"].Value).ToList();
            var category = objects.FirstOrDefault() ?? string.Empty;
            var listed = objects.Count(o => o == category);
            var plan = objects.Count == 0 ? "direct" : (Hash(key) % 10) switch
            {
                0 => "unknown",
                1 => "extra",
                2 => "words",
                3 => "direct",
                4 => "calculate",
                _ => "count",
            };
            Emitted[key] = (plan, category, listed);
            var request = $"Looking at the {Words(key + "r", 5)}, how many {category} are there?";
            var answer = $"I can see {listed} of them near the {Words(key + "a", 2)}.";
            return FakeReply.Chat(plan switch
            {
                "unknown" => $"Request: {request}\nThought: I will zoom in first.\nCall: zoom_in {{\"box\": [0.1, 0.1, 0.5, 0.5]}}\nAnswer: {answer}",
                "extra" => $"Request: {request}\nThought: I will count them.\nCall: counter {{\"category\": \"{category}\", \"colour\": \"red\"}}\nAnswer: {answer}",
                "words" => $"Request: {request}\nThought: I will look at the left.\nCall: region_cropper {{\"box\": \"left half\"}}\nAnswer: {answer}",
                "direct" => $"Request: What is the mood of the {Words(key + "d", 5)} here?\nThought: The scene answers this without a tool.\nAnswer: It feels calm and ordinary, an everyday moment.",
                "calculate" => $"**Request:** {request} And twice that?\n**Thought:** Count first.\n**Call:** counter {{\"category\": \"{category}\"}}\n**Observation:** {listed}\n**Thought:** Now double it.\n**Call:** calculator {{\"expression\": \"{listed} * 2\"}}\n**Observation:** {listed * 2}\n**Answer:** Twice that makes {listed * 2} in all.",
                _ => $"Sure! Here is a sample.\n\nRequest: {request}\nThought: I should count them with the tool.\nCall: counter {{\"category\": \"{category}\"}}\nObservation: {{\"count\": {listed}}}\nAnswer: {answer}\n\nLet me know if you need more.",
            });
        }
    }

    private static Dictionary<string, string> Env(FakeModelServer server) => new() { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-tool-use" };

    private static string[] Args(string output, string cache, params string[] extra) =>
        ["self-instruct", "--input", $"captions={Captions}", "--input", $"instances={Instances}", "--kinds", "tool-use", "--tools", ShippedTools, "--seed", "11", "--out", output, "--cache", cache, "--backoff", "0.05", .. extra];

    private static List<JsonElement> Lines(string dir) =>
        [.. TestPaths.Shards(dir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public async Task Should_Generate_Tool_Use_Traces_From_A_Fake_Model_With_True_Counts_Rejects_With_Reasons_And_Every_Chat_Format()
    {
        var model = new ToolModel();
        using var server = new FakeModelServer(model.Reply);
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var llava = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(Env(server), Args(llava, cache), timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(79, server.Requests);

        // The system prompt carries the catalogue's tool list; the few-shot examples are traces of the pack.
        var sent = server.Seen[0].Body!["messages"]!.AsArray();
        Assert.EndsWith(ToolTraceText.ToolList(ToolCatalogue.Load(ShippedTools).Specs), (string)sent[0]!["content"]!, StringComparison.Ordinal);
        Assert.StartsWith("Request: ", (string)sent[2]!["content"]!, StringComparison.Ordinal);

        // Expected outcome per image, from what the fake wrote and the raw annotations: a count the model read off the
        // listed boxes disagrees with the annotations exactly where crowd boxes of that category are listed.
        var raw = RawCounts();
        var contexts = Contexts().ToDictionary(c => c.Captions.Count > 0 ? "- " + c.Captions[0] : c.Render(), c => c);
        string? Expected(string key, (string Plan, string Category, int Listed) e) => e.Plan switch
        {
            "unknown" => RejectReasons.UnknownTool,
            "extra" or "words" => RejectReasons.BadToolArguments,
            "count" or "calculate" when raw[(contexts[key].ImageId, e.Category)].Crowd > 0 => RejectReasons.ToolObservationMismatch,
            _ => null,
        };
        var expected = model.Emitted.ToDictionary(e => e.Key, e => Expected(e.Key, e.Value));
        var rejects = File.ReadAllLines(Path.Combine(llava, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()).ToList();
        Assert.Equal(expected.Values.Where(v => v is not null).GroupBy(v => v).ToDictionary(g => g.Key!, g => g.Count()), rejects.GroupBy(r => r).ToDictionary(g => g.Key!, g => g.Count()));
        Assert.Contains(RejectReasons.UnknownTool, rejects);
        Assert.Contains(RejectReasons.BadToolArguments, rejects);

        var records = Lines(llava);
        Assert.Equal(expected.Values.Count(v => v is null), records.Count);
        var counted = 0;
        foreach (var r in records)
        {
            var meta = r.GetProperty("meta");
            Assert.Equal("self-instruct-tool-use", meta.GetProperty("task").GetString());
            var imageId = meta.GetProperty("ids").GetProperty("image_id").GetString()!;
            var values = r.GetProperty("conversations").EnumerateArray().Select(t => t.GetProperty("value").GetString()!).ToList();
            Assert.StartsWith("<image>\nTools you can call:\n- detector(", values[0], StringComparison.Ordinal);
            Assert.StartsWith("Answer: ", values[^1].Split('\n')[^1], StringComparison.Ordinal);
            var calls = meta.GetProperty("extra").GetProperty("tool_calls").EnumerateArray().Select(c => c.GetString()).ToList();
            Assert.Equal(calls.Count, values.Count(v => v.StartsWith("Observation: ", StringComparison.Ordinal)));
            if (calls.FirstOrDefault() == "counter")
            {
                // The observation is the tool's, from the annotations, not the text the fake wrote.
                using var observation = JsonDocument.Parse(values[2]["Observation: ".Length..]);
                var category = observation.RootElement.GetProperty("category").GetString()!;
                Assert.Equal(raw[(imageId, category)].Single, observation.RootElement.GetProperty("count").GetInt32());
                counted++;
            }

            if (calls.Count == 2)
            {
                var n = JsonDocument.Parse(values[2]["Observation: ".Length..]).RootElement.GetProperty("count").GetInt32();
                Assert.Equal($"Observation: {{\"expression\":\"{n} * 2\",\"result\":{n * 2}}}", values[4]);
            }
        }

        Assert.True(counted > 30, $"{counted} counter records");
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(llava, "manifest.json"))).RootElement;
        Assert.Equal(records.Count, manifest.GetProperty("self_instruct").GetProperty("records_by_kind").GetProperty("tool-use").GetInt64());
        Assert.Contains("+tools@", manifest.GetProperty("self_instruct").GetProperty("prompt_versions").GetProperty("tool-use").GetString(), StringComparison.Ordinal);

        // The same traces in the other chat formats, from the cache, each accepted by its validator line by line.
        foreach (var (format, extra) in new[] { ("sharegpt", Array.Empty<string>()), ("swift", []), ("openai", ["--image-url-prefix", "https://example.org/coco/"]) })
        {
            var dir = TestPaths.NewTempDir();
            var again = await ChildCli.RunAsync(Env(server), Args(dir, cache, ["--format", format, .. extra]), timeout: TimeSpan.FromMinutes(3));
            Assert.True(again.ExitCode == 0, again.Error);
            var lines = Lines(dir);
            Assert.Equal(records.Count, lines.Count);
            var validator = FormatRegistry.Get(format).CreateValidator(new RenderOptions { ImageUrlPrefix = format == "openai" ? "https://example.org/coco/" : null });
            foreach (var line in lines)
            {
                var findings = new List<Finding>();
                validator.Validate(line, findings);
                Assert.True(findings.Count == 0, $"{format}: {string.Join("; ", findings)}");
            }

            if (format == "openai")
            {
                Assert.All(lines, l => Assert.Equal(6, l.GetProperty("tools").GetArrayLength()));
                Assert.Equal(
                    records.Sum(r => r.GetProperty("meta").GetProperty("extra").GetProperty("tool_calls").GetArrayLength()),
                    lines.Sum(l => l.GetProperty("messages").EnumerateArray().Count(m => m.GetProperty("role").GetString() == "tool")));
            }
        }

        Assert.Equal(79, server.Requests);

        // Same seed, a fresh cache: the same bytes.
        var fresh = TestPaths.NewTempDir();
        Assert.Equal(0, (await ChildCli.RunAsync(Env(server), Args(fresh, Path.Combine(TestPaths.NewTempDir(), "c.db")), timeout: TimeSpan.FromMinutes(3))).ExitCode);
        Assert.Equal(File.ReadAllBytes(TestPaths.Shards(llava).Single()), File.ReadAllBytes(TestPaths.Shards(fresh).Single()));
    }

    [Fact]
    public void Should_Offer_Only_The_Seed_Examples_Whose_Calls_Fit_The_Catalogue_In_Use()
    {
        var library = MllmData.Templates.TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        var pack = library.Get("self-instruct-tool-use");
        Assert.Equal(pack.Examples.Select(e => e.Id), ToolUse.ExamplesFor(pack, ToolCatalogue.Load(ShippedTools)).Examples.Select(e => e.Id));
        Assert.Equal(5, pack.Examples.Count);
        Assert.DoesNotContain(library.Packs, p => p.Path.Contains("/tools/", StringComparison.Ordinal));

        // A catalogue with only a counter keeps the counting example and the one that needs no tool.
        var file = Path.Combine(TestPaths.NewTempDir(), "counter.yaml");
        File.WriteAllText(file, "tools:\n  - name: counter\n    description: Counts objects.\n    observation: count\n    arguments:\n      - name: category\n        type: string\n");
        Assert.Equal(["tool-use-sheep-count", "tool-use-bicycle-direct"], ToolUse.ExamplesFor(pack, ToolCatalogue.Load(file)).Examples.Select(e => e.Id));
    }

    [Fact]
    public void Should_Read_The_Recipe_Tools_Key_As_A_Path_Beside_The_Recipe_Or_A_Shipped_Name()
    {
        var dir = TestPaths.NewTempDir();
        var recipe = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(recipe, $"name: t\nformat: sharegpt\nself_instruct:\n  inputs: {{captions: {Captions}}}\n  kinds: [tool-use]\n  tools: my/tools.yaml\n");
        var loaded = MllmData.Recipes.RecipeLoader.Load(recipe);
        MllmData.Recipes.RecipeLoader.Validate(loaded);
        Assert.Equal(Path.Combine(dir, "my", "tools.yaml"), loaded.SelfInstruct!.Tools);
        File.WriteAllText(recipe, $"name: t\nformat: sharegpt\nself_instruct:\n  inputs: {{captions: {Captions}}}\n  kinds: [tool-use]\n  tools: vision-tools\n");
        Assert.Equal("vision-tools", MllmData.Recipes.RecipeLoader.Load(recipe).SelfInstruct!.Tools);
        Assert.Equal(ShippedTools, ToolCatalogue.Resolve("vision-tools", Path.Combine(TestPaths.RepoRoot, "templates")));
        Assert.Equal(ShippedTools, ToolCatalogue.Resolve(null, Path.Combine(TestPaths.RepoRoot, "templates")));
    }

    [Theory]
    [InlineData("--kinds tool-use --format m3it", "--kinds tool-use (self_instruct.kinds) needs a format with a place for tool calls (llava, sharegpt, swift, openai), not m3it")]
    [InlineData("--kinds conversation --tools vision-tools", "--tools (self_instruct.tools) is the tool catalogue of the tool-use kind")]
    [InlineData("--kinds tool-use --tools no-such-catalogue", "--tools: 'no-such-catalogue' is neither a file nor a catalogue in")]
    public async Task Should_Refuse_Wrong_Tool_Use_Settings_Before_Any_Output(string extra, string message)
    {
        var output = Path.Combine(TestPaths.NewTempDir(), "never");
        string[] args = ["self-instruct", "--input", $"captions={Captions}", "--input", $"instances={Instances}", .. extra.Split(' '), "--out", output, "--dry-run"];
        var run = await CliRunner.RunAsync(args);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }
}
