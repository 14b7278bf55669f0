using System.Text.Json.Nodes;

namespace MllmData.Tests.Hostile;

/// <summary>
/// A benchmark record whose field holds another JSON kind (a number for text, text for a list, an object, true) is a
/// <c>wrong-type</c> reject naming the file, the record and the field, in every adapter that reads JSON records: never a
/// record built as if the field were absent, a record that vanishes, a missing-field, or a stop. Each case puts one bad
/// field in a copy of a realistic record, next to the record unchanged, which must still be built.
/// </summary>
public class WrongKindFieldTests
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", name);

    private static JsonObject Load(string path, Func<JsonNode, JsonNode> pick) => pick(JsonNode.Parse(File.ReadAllText(path))!).DeepClone().AsObject();

    /// <summary>
    /// How a record of each adapter is laid out: the file, the record as read from a fixture, how two records make a file,
    /// what tells the second apart, where the second stands, and the ids of the records the first one makes.
    /// </summary>
    private sealed record Layout(string Input, string File, Func<JsonObject> Record, Func<JsonObject, JsonObject, string> Wrap, Action<JsonObject> Distinct, string[] Args)
    {
        public required string Second { get; init; }

        public required string[] GoodIds { get; init; }
    }

    private static readonly Dictionary<string, Layout> Layouts = new()
    {
        ["scienceqa"] = new("problems", "problems.json", () => Load(Fixture("problems.json"), n => n["4"]!),
            (good, bad) => new JsonObject { ["4"] = good, ["5"] = bad }.ToJsonString(), _ => { }, ["--split", "test"]) { Second = "[\"5\"]", GoodIds = ["scienceqa-4"] },
        ["aokvqa"] = new("questions", "aokvqa_v1p0_val.json", () => Load(Fixture("aokvqa_v1p0_val.json"), n => n[0]!),
            (good, bad) => new JsonArray(good, bad).ToJsonString(), bad => bad["question_id"] = "other", []) { Second = "questions[1]", GoodIds = ["aokvqa-q22jbM6gDxdaMaunuzgrsBB"] },
        ["gqa"] = new("questions", "val_balanced_questions.json", () => Load(Fixture("testdev_balanced_questions.json"), n => n.AsObject().First().Value!),
            (good, bad) => new JsonObject { ["1"] = good, ["2"] = bad }.ToJsonString(), _ => { }, []) { Second = "[\"2\"]", GoodIds = ["gqa-q1"] },
        ["textvqa"] = new("questions", "TextVQA_0.5.1_train.json", () => Load(TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json"), n => n["data"]![0]!),
            (good, bad) => new JsonObject { ["data"] = new JsonArray(good, bad) }.ToJsonString(), bad => bad["question_id"] = 900001, []) { Second = "data[1]", GoodIds = ["textvqa-q0"] },
        ["vizwiz"] = new("questions", "val.json", () => Load(Fixture("val.json"), n => n.AsArray().First(x => (int?)x!["answerable"] == 1)!),
            (good, bad) => new JsonArray(good, bad).ToJsonString(), bad => bad["image"] = "VizWiz_val_99999999.jpg", []) { Second = "questions[1]", GoodIds = ["vizwiz-VizWiz_val_00000001"] },
        ["karpathy"] = new("dataset", "dataset_flickr8k.json", () => Load(Fixture("dataset_flickr8k.json"), n => n["images"]![0]!),
            (good, bad) => new JsonObject { ["images"] = new JsonArray(good, bad) }.ToJsonString(), bad => (bad["filename"], bad["imgid"]) = ("other.jpg", 77), ["--splits", "train"]) { Second = "images[1]", GoodIds = ["karpathy-s0", "karpathy-s1"] },
        ["textcaps"] = new("captions", "TextCaps_0.1_train.json", () => Load(Fixture("TextCaps_0.1_train.json"), n => n["data"]![0]!),
            (good, bad) => new JsonObject { ["data"] = new JsonArray(good, bad) }.ToJsonString(), bad => bad["image_id"] = "0000000000000bad", []) { Second = "data[1]", GoodIds = ["textcaps-img011e7e629fb9ae7b"] },
    };

    public static TheoryData<string, string, string, string> Cases() => new()
    {
        // ScienceQA: a numeric option is no option (as a numeric VQA answer is wrong-type); a wrong-kind image would make the
        // problem text-only; a numeric split dropped the problem unseen; the texts the output is made of are not left out.
        { "scienceqa", "choices", "[1, 2]", "\"choices\"[0] is the number 1, expected a string" },
        { "scienceqa", "choices", "[\"chiasmus\", 2, \"apostrophe\"]", "\"choices\"[1] is the number 2, expected a string" },
        { "scienceqa", "image", "5", "\"image\" is the number 5, expected a string" },
        { "scienceqa", "image", "{\"path\": \"image.png\"}", "\"image\" is an object, expected a string" },
        { "scienceqa", "image", "[\"image.png\"]", "\"image\" is a list, expected a string" },
        { "scienceqa", "image", "true", "\"image\" is the boolean true, expected a string" },
        { "scienceqa", "lecture", "7", "\"lecture\" is the number 7, expected a string" },
        { "scienceqa", "solution", "{\"text\": \"It is apostrophe.\"}", "\"solution\" is an object, expected a string" },
        { "scienceqa", "hint", "[\"O wind\"]", "\"hint\" is a list, expected a string" },
        { "scienceqa", "split", "1", "\"split\" is the number 1, expected a string" },
        { "scienceqa", "subject", "3", "\"subject\" is the number 3, expected a string" },

        { "aokvqa", "choices", "[\"toothpick\", \"food\", 3, \"cigarette\"]", "\"choices\"[2] is the number 3, expected a string" },
        { "aokvqa", "correct_choice_idx", "\"3\"", "\"correct_choice_idx\" is a string, expected a whole number" },
        { "aokvqa", "correct_choice_idx", "3.0", "\"correct_choice_idx\" is the number 3.0, expected a whole number" },
        { "aokvqa", "image_id", "{\"id\": 461751}", "\"image_id\" is an object, expected a number or string id" },
        { "aokvqa", "split", "2017", "\"split\" is the number 2017, expected a string" },
        { "aokvqa", "direct_answers", "\"cigarette\"", "\"direct_answers\" is a string, expected a list of strings" },
        { "aokvqa", "rationales", "[1]", "\"rationales\"[0] is the number 1, expected a string" },

        { "gqa", "answer", "5", "\"answer\" is the number 5, expected a string" },
        { "gqa", "fullAnswer", "[\"Yes, it is.\"]", "\"fullAnswer\" is a list, expected a string" },
        { "gqa", "imageId", "true", "\"imageId\" is the boolean true, expected a number or string id" },
        { "gqa", "question", "{\"text\": \"Is the sky dark?\"}", "\"question\" is an object, expected a string" },

        { "textvqa", "answers", "[\"nokia\", 3, 3, 3]", "\"answers\"[1] is the number 3, expected a string" },
        { "textvqa", "set_name", "7", "\"set_name\" is the number 7, expected a string" },
        { "textvqa", "image_width", "\"1024\"", "\"image_width\" is a string, expected a whole number" },
        { "textvqa", "question_id", "{\"id\": 0}", "\"question_id\" is an object, expected a number or string id" },

        { "vizwiz", "answers", "[{\"answer\": \"red\"}, {\"answer\": 3}, {\"answer\": 3}]", "\"answers\"[1].answer is the number 3, expected a string" },
        { "vizwiz", "answers", "[\"red\", 5]", "\"answers\"[1] is the number 5, expected a string or an object with an \"answer\" string" },
        { "vizwiz", "answerable", "\"1\"", "\"answerable\" is a string, expected a whole number" },
        { "vizwiz", "answer_type", "5", "\"answer_type\" is the number 5, expected a string" },
        { "vizwiz", "image", "5", "\"image\" is the number 5, expected a string" },

        // Karpathy: a numeric split dropped the image unseen; a string where the sentences belong crashed the build.
        { "karpathy", "split", "1", "\"split\" is the number 1, expected a string" },
        { "karpathy", "sentences", "[{\"raw\": 5, \"sentid\": 9}]", "\"sentences\"[0]: \"raw\" is the number 5, expected a string" },
        { "karpathy", "sentences", "\"A dog runs.\"", "\"sentences\" is a string, expected a list of objects" },
        { "karpathy", "sentences", "[\"A dog runs.\"]", "\"sentences\"[0] is a string, expected an object" },
        { "karpathy", "filepath", "3", "\"filepath\" is the number 3, expected a string" },
        { "karpathy", "filename", "7", "\"filename\" is the number 7, expected a string" },
        { "karpathy", "imgid", "{\"id\": 1}", "\"imgid\" is an object, expected a number or string id" },

        // TextCaps: a row of its own image, so the good row's image is built whatever happens to this one.
        { "textcaps", "caption_str", "5", "\"caption_str\" is the number 5, expected a string" },
        { "textcaps", "reference_strs", "\"A red can.\"", "\"reference_strs\" is a string, expected a list of strings" },
        { "textcaps", "image_width", "\"1024\"", "\"image_width\" is a string, expected a whole number" },
        { "textcaps", "caption_id", "{\"id\": 1}", "\"caption_id\" is an object, expected a number or string id" },
        { "textcaps", "set_name", "1", "\"set_name\" is the number 1, expected a string" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_Field_Of_Another_Kind_Is_A_Wrong_Type_Reject_Naming_File_Record_And_Field(string adapter, string field, string value, string detail)
    {
        var layout = Layouts[adapter];
        var good = layout.Record();
        var bad = (JsonObject)good.DeepClone();
        layout.Distinct(bad);
        bad[field] = JsonNode.Parse(value);
        var file = HostileFile.Write(layout.File, layout.Wrap(good, bad));

        var r = await HostileFile.BuildLlava(["build", "--adapter", adapter, "--input", $"{layout.Input}={file}", .. layout.Args]);

        Assert.True(r.Exit == 0, r.Error);
        var reject = Assert.Single(r.Rejects);
        Assert.Equal(("wrong-type", detail, layout.File), (reject.Str("reason"), reject.Str("detail"), Path.GetFileName(reject.Str("file"))));
        Assert.StartsWith(layout.Second + " (byte ", reject.Str("position"), StringComparison.Ordinal);
        Assert.Equal(layout.GoodIds, r.Records.Select(x => x.Str("id")));
    }

    [Fact]
    public async Task A_ScienceQa_Split_Of_Another_Kind_Is_Wrong_Type_Also_When_Pid_Splits_Choose_The_Problem()
    {
        // With pid_splits the problem is chosen by its pid, but its own split still names its image folder.
        var problem = Load(Fixture("problems.json"), n => n["4"]!);
        (problem["image"], problem["split"]) = ("image.png", 2);
        var problems = HostileFile.Write("problems.json", new JsonObject { ["4"] = problem }.ToJsonString());
        var splits = HostileFile.Write("pid_splits.json", """{"test": ["4"]}""");

        var r = await HostileFile.BuildLlava("build", "--adapter", "scienceqa", "--input", $"problems={problems}", "--input", $"splits={splits}", "--split", "test", "--allow-empty");

        Assert.True(r.Exit == 0, r.Error);
        var reject = Assert.Single(r.Rejects);
        Assert.Equal(("wrong-type", "\"split\" is the number 2, expected a string", "[\"4\"] (byte 5)"), (reject.Str("reason"), reject.Str("detail"), reject.Str("position")));
        Assert.Empty(r.Records);
    }

    [Theory]
    [InlineData("pid_splits.json", """{"test": ["4", {"pid": "5"}]}""", "wrong-type: \"test\"[1] is an object, expected a pid (a string)")]
    [InlineData("pid_splits.json", """{"test": "4,5"}""", "wrong-type: the split \"test\" is a string, expected a list of pids")]
    [InlineData("captions.json", """{"captions": {"4": 17}}""", "unknown-layout: caption of 4 is not a string")]
    [InlineData("captions.json", """{"captions": {"4": true}}""", "unknown-layout: caption of 4 is not a string")]
    public async Task A_ScienceQa_Side_File_Value_Of_Another_Kind_Stops_The_Build_Naming_The_File(string name, string text, string message)
    {
        // A pid list holding an object crashed with a stack trace; a numeric caption was left out of the context unseen.
        var problems = HostileFile.Write("problems.json", new JsonObject { ["4"] = Load(Fixture("problems.json"), n => n["4"]!) }.ToJsonString());
        var side = HostileFile.Write(name, text);
        var input = name == "captions.json" ? "captions" : "splits";

        var r = await HostileFile.BuildLlava("build", "--adapter", "scienceqa", "--input", $"problems={problems}", "--input", $"{input}={side}", "--split", "test");

        Assert.Equal(2, r.Exit);
        Assert.Contains(side, r.Error, StringComparison.Ordinal);
        Assert.Contains(message, r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_TextVqa_Ocr_Entry_Of_Another_Kind_Is_Its_Own_Wrong_Type_Reject()
    {
        // Left out unseen, the entry's image was only "missing-ocr" in its questions, the cause nowhere.
        var question = Load(TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json"), n => n["data"]![0]!);
        var questions = HostileFile.Write("TextVQA_0.5.1_train.json", new JsonObject { ["data"] = new JsonArray(question) }.ToJsonString());
        var ocr = HostileFile.Write("TextVQA_Rosetta_OCR_v0.2_train.json", $$"""{"data": [{"image_id": "{{question["image_id"]}}", "ocr_tokens": "NOKIA"}]}""");

        var r = await HostileFile.BuildLlava("build", "--adapter", "textvqa", "--input", $"questions={questions}", "--input", $"ocr={ocr}", "--ocr-hint", "--allow-empty");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(
            [("wrong-type", "TextVQA_Rosetta_OCR_v0.2_train.json", "data[0]", "\"ocr_tokens\" is a string, expected a list of strings"), ("missing-ocr", "TextVQA_0.5.1_train.json", "data[0]", null)],
            r.Rejects.Select(x => (x.Str("reason"), Path.GetFileName(x.Str("file")), x.Str("position").Split(' ')[0], x.Str("reason") == "missing-ocr" ? null : x.Str("detail"))));
    }

    [Theory]
    [InlineData("""{"img": "a.jpg", "q": "What is it?", "a": {"text": "a cat"}}""", "\"a\" (mapped to answer) is an object, expected text or a list")]
    [InlineData("""{"img": "a.jpg", "q": {"text": "What is it?"}, "a": "a cat"}""", "\"q\" (mapped to question) is an object, expected text")]
    [InlineData("""{"img": ["a.jpg"], "q": "What is it?", "a": "a cat"}""", "\"img\" (mapped to image) is a list, expected text")]
    [InlineData("""{"img": "a.jpg", "q": "What is it?", "a": "b", "ch": "a|b"}""", "\"ch\" (mapped to choices) is a string, expected a list")]
    [InlineData("""{"img": "a.jpg", "q": "What is it?", "a": "b", "ch": ["a", ["b"]]}""", "\"ch\" (mapped to choices)[1] is a list, expected text")]
    [InlineData("""{"img": "a.jpg", "q": "What is it?", "a": ["cat", null]}""", "\"a\" (mapped to answer)[1] is null, expected text")]
    [InlineData("""{"img": "a.jpg", "q": "What is it?", "a": [{"answer": ["cat"]}]}""", "\"a\" (mapped to answer)[0].answer is a list, expected text")]
    [InlineData("""{"img": "a.jpg", "q": "What is it?", "a": "cat", "id": {"n": 1}}""", "\"id\" (mapped to id) is an object, expected text")]
    public async Task A_Jsonl_Mapped_Field_Of_Another_Kind_Is_Wrong_Type(string line, string detail)
    {
        // Before: an object question was "missing", an object answer unanswered (the build stopped), a choices string made
        // the row an open question, and a list element of another kind was left out.
        var file = HostileFile.Write("rows.jsonl", line + "\n" + """{"img": "b.jpg", "q": "What is that?", "a": "a dog"}""" + "\n");

        var r = await HostileFile.BuildLlava("build", "--adapter", "jsonl", "--input", $"file={file}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--map", "choices=ch", "--map", "id=id");

        Assert.True(r.Exit == 0, r.Error);
        var reject = Assert.Single(r.Rejects);
        Assert.Equal(("wrong-type", detail, "line 1"), (reject.Str("reason"), reject.Str("detail"), reject.Str("position")));
        Assert.Equal(["jsonl-l2"], r.Records.Select(x => x.Str("id")));
    }

    [Fact]
    public async Task A_Jsonl_Number_In_An_Answer_Or_Choices_List_Is_Its_Json_Text_As_A_Plain_Number_Value_Is()
    {
        // The generic adapter reads a scalar field's number as its text ("numbers and booleans by their JSON text"): list
        // elements follow the same rule instead of being left out (which made [2, 2, 3] no answer and moved the letters).
        var file = HostileFile.Write("rows.jsonl", """
            {"img": "a.jpg", "q": "How many dogs?", "a": [2, 2, 3.5, "two"]}
            {"img": "b.jpg", "q": "Which is the tallest?", "a": "tower", "ch": [1.5, "tower", true]}
            """ + "\n");

        var r = await HostileFile.BuildLlava("build", "--adapter", "jsonl", "--input", $"file={file}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--map", "choices=ch");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Empty(r.Rejects);
        Assert.Equal(2, r.Records.Count);
        Assert.Equal("2", r.Records[0].GetProperty("conversations")[1].Str("value"));
        var human = r.Records[1].GetProperty("conversations")[0].Str("value");
        Assert.Contains("A. 1.5\nB. tower\nC. true", human, StringComparison.Ordinal);
        Assert.Equal("B", r.Records[1].GetProperty("conversations")[1].Str("value"));
    }

    [Theory]
    [InlineData("""{"question_id": 1, "image": 5, "text": "What is shown?"}""", "as llava-question: \"image\" is the number 5, expected a string")]
    [InlineData("""{"question_id": 1, "image": {"file": "a.jpg"}, "text": "What is shown?"}""", "as llava-question: \"image\" is an object, expected a string")]
    [InlineData("""{"question_id": [1], "image": "a.jpg", "text": "What is shown?"}""", "as llava-question: \"question_id\" is a list, expected a number or string id")]
    public async Task A_Question_File_Line_Field_Of_Another_Kind_Is_Wrong_Type(string line, string detail)
    {
        // Before: the image was left out, so the evaluation question became text-only; a list id was written as its JSON.
        var file = HostileFile.Write("questions.jsonl", line + "\n" + """{"question_id": 2, "image": "b.jpg", "text": "What is that?"}""" + "\n");
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");

        var r = await CliRunner.RunAsync("build", "--adapter", "instructions", "--input", $"file={file}", "--split-role", "eval", "--out", outDir);

        var reject = Assert.Single(HostileFile.Rejects(outDir));
        Assert.Equal(("wrong-type", detail, "line 1"), (reject.Str("reason"), reject.Str("detail"), reject.Str("position")));
        Assert.True(r.ExitCode == 0, r.Error);
    }

    /// <summary>
    /// Image 192699 of the real COCO instances (two motorcycles, two people, a backpack) with its annotations, one of them
    /// changed by <paramref name="spoil"/>, and the categories of its objects plus giraffe, which is absent.
    /// </summary>
    private static string Instances(Func<JsonObject, bool> which, Action<JsonObject> spoil)
    {
        var all = JsonNode.Parse(File.ReadAllText(TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json")))!;
        var annotations = all["annotations"]!.AsArray().Where(a => (int)a!["image_id"]! == 192699).Select(a => a!.DeepClone().AsObject()).ToList();
        spoil(annotations.First(which));
        var used = all["annotations"]!.AsArray().Where(a => (int)a!["image_id"]! == 192699).Select(a => (int)a!["category_id"]!).ToHashSet();
        var categories = all["categories"]!.AsArray().Where(c => used.Contains((int)c!["id"]!) || (string?)c!["name"] == "giraffe").Select(c => c!.DeepClone());
        return HostileFile.Write("instances_val2017.json", new JsonObject
        {
            ["images"] = new JsonArray(all["images"]!.AsArray().First(i => (int)i!["id"]! == 192699)!.DeepClone()),
            ["annotations"] = new JsonArray([.. annotations]),
            ["categories"] = new JsonArray([.. categories]),
        }.ToJsonString());
    }

    private static bool Backpack(JsonObject a) => (int)a["category_id"]! == 27;

    [Fact]
    public async Task A_Coco_Object_Rejected_For_A_Field_Of_Another_Kind_Is_Never_Asked_As_Absent()
    {
        // The backpack's annotation is rejected (iscrowd "0"): before, its object was gone from the image, and existence
        // asked "is there a backpack?" with the answer no.
        var file = Instances(Backpack, a => a["iscrowd"] = "0");

        var r = await HostileFile.BuildLlava("build", "--adapter", "coco-objects", "--input", $"instances={file}", "--task", "existence", "--pairs-per-image", "3");

        Assert.True(r.Exit == 0, r.Error);
        var reject = Assert.Single(r.Rejects);
        Assert.Equal(("wrong-type", "\"iscrowd\" is a string, expected 0 or 1"), (reject.Str("reason"), reject.Str("detail")));
        var asked = r.Records.Select(x => x.GetProperty("meta").GetProperty("extra")).Select(e => (e.Str("object"), e.GetProperty("present").GetBoolean())).ToList();
        Assert.Equal([("giraffe", false)], asked.Where(a => !a.Item2));
        Assert.DoesNotContain(asked, a => a.Item1 == "backpack");
    }

    [Fact]
    public async Task A_Coco_Object_Whose_Category_Cannot_Be_Read_Leaves_Its_Image_No_Absent_Category()
    {
        var file = Instances(Backpack, a => a["category_id"] = new JsonArray(27));

        var r = await HostileFile.BuildLlava("build", "--adapter", "coco-objects", "--input", $"instances={file}", "--task", "existence", "--allow-empty");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Empty(r.Records);
        Assert.Equal(["wrong-type", "no-negatives"], r.Rejects.Select(x => x.Str("reason")));
        Assert.Equal("\"category_id\" is an array, expected a number or string id", r.Rejects[0].Str("detail"));
        Assert.Equal(
            $"the object annotation {r.Rejects[0].Str("position")} of this image was rejected (wrong-type) and its category cannot be read, so no category can be said to be absent",
            r.Rejects[1].Str("detail"));
    }

    [Fact]
    public async Task A_Coco_Grounding_Question_Is_Not_Asked_When_A_Rejected_Annotation_May_Be_Another_Instance()
    {
        // One of the two motorcycles is rejected: before, "where is the motorcycle?" was answered with the other one's box alone.
        var file = Instances(a => (int)a["category_id"]! == 4, a => a["id"] = new JsonObject());

        var r = await HostileFile.BuildLlava("build", "--adapter", "coco-objects", "--input", $"instances={file}", "--task", "grounding");

        Assert.True(r.Exit == 0, r.Error);
        Assert.DoesNotContain(r.Records, x => x.GetProperty("meta").GetProperty("extra").Str("object") == "motorcycle");
        Assert.Contains(r.Records, x => x.GetProperty("meta").GetProperty("extra").Str("object") == "backpack");
        var motorcycle = Assert.Single(r.Rejects, x => x.Str("detail").Contains("motorcycle", StringComparison.Ordinal));
        Assert.Equal("wrong-type", motorcycle.Str("reason"));
        Assert.Matches(@"^the object annotation annotations\[\d\] \(byte \d+\) was rejected \(wrong-type\) and may be another motorcycle of image 192699; the answer must list every motorcycle, so it is not asked$", motorcycle.Str("detail"));
    }

    [Theory]
    [InlineData("""{"id": {"n": 1}, "image": "a.jpg", "conversations": [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "a cat"}]}""", "wrong-type", "as llava: \"id\" is an object, expected a number or string id")]
    [InlineData("""{"id": "1", "image": "a.jpg", "conversations": [{"from": "human", "value": "<image>\nHow many?"}, {"from": "gpt", "value": 2}]}""", "wrong-type", "as llava: message 1 value is Number, expected a string")]
    [InlineData("""{"id": "1", "conversations": "What is it?"}""", "wrong-type", "as llava: \"conversations\" is String, expected an array")]
    [InlineData("""{"messages": [{"role": "system", "content": 7}, {"role": "user", "content": "<image>What is it?"}, {"role": "assistant", "content": "a cat"}], "images": ["a.jpg"]}""", "wrong-type", "as sharegpt: message 0 content is Number, expected a string")]
    [InlineData("""{"messages": [{"role": "user", "content": "What is it?"}, {"role": "assistant", "content": {"text": "a cat"}}]}""", "wrong-type", "as sharegpt: message 1 content is Object, expected a string")]
    [InlineData("""{"id": "1", "conversations": [{"from": "human", "value": "What is it?"}, {"from": 2, "value": "a cat"}]}""", "wrong-type", "as llava: message 1 from is Number, expected a string")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}, {"role": "assistant", "content": "a cat"}]}""", "wrong-type", "as openai: message 0 text part \"text\" is Number, expected a string")]
    public async Task An_Instruction_Line_With_A_Field_Of_Another_Kind_Is_Rejected_Naming_The_Field(string line, string reason, string detail)
    {
        // Before: a LLaVA id of another kind was replaced by the line number unseen, and a line whose turn held a number
        // was "in none of the formats", the field it failed on named nowhere.
        var file = HostileFile.Write("mixed.jsonl", line + "\n" + """{"id": "ok", "image": "b.jpg", "conversations": [{"from": "human", "value": "<image>\nWhat is that?"}, {"from": "gpt", "value": "a dog"}]}""" + "\n");

        var r = await HostileFile.BuildLlava("build", "--adapter", "instructions", "--input", $"file={file}");

        Assert.True(r.Exit == 0, r.Error);
        var reject = Assert.Single(r.Rejects);
        Assert.Equal((reason, detail, "line 1"), (reject.Str("reason"), reject.Str("detail"), reject.Str("position")));
        Assert.Equal(["instructions-ok"], r.Records.Select(x => x.Str("id")));
    }

    [Theory]
    [InlineData(true, "2014", "a number")]
    [InlineData(false, "[\"val2014\"]", "a list")]
    [InlineData(true, "{\"name\": \"val2014\"}", "an object")]
    public async Task A_Vqa_Data_Subtype_Of_Another_Kind_Stops_The_Build_Unless_Split_Names_The_Images(bool before, string value, string kind)
    {
        // Before: a number before the list made the reader pass over the list itself ("no top-level questions array"),
        // and one after it was ignored, the split then guessed from the file name.
        var real = JsonNode.Parse(File.ReadAllText(TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json")))!;
        var questions = new JsonArray(real["questions"]![0]!.DeepClone());
        var file = new JsonObject();
        if (before)
        {
            file["data_subtype"] = JsonNode.Parse(value);
        }

        file["questions"] = questions;
        if (!before)
        {
            file["data_subtype"] = JsonNode.Parse(value);
        }

        var path = HostileFile.Write("OpenEnded_mscoco_train2014_questions.json", file.ToJsonString());

        var stopped = await CliRunner.RunAsync("build", "--adapter", "okvqa", "--input", $"questions={path}", "--unanswered", "eval", "--out", Path.Combine(TestPaths.NewTempDir(), "out"));
        Assert.Equal(2, stopped.ExitCode);
        Assert.Contains($"{path}: byte ", stopped.Error, StringComparison.Ordinal);
        Assert.Contains($"wrong-type: \"data_subtype\" is {kind}, expected a string", stopped.Error, StringComparison.Ordinal);

        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var named = await CliRunner.RunAsync("build", "--adapter", "okvqa", "--input", $"questions={path}", "--unanswered", "eval", "--split", "val2014", "--out", outDir);
        Assert.True(named.ExitCode == 0, named.Error);
        Assert.Contains("\"image\":\"COCO_val2014_000000297147.jpg\"", File.ReadAllText(Assert.Single(TestPaths.Shards(outDir))), StringComparison.Ordinal);
    }
}
