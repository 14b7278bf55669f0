using System.Text;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Tests.Hostile;

/// <summary>
/// A key written twice inside one record (<c>{"question": "a", "question": "b"}</c>, or inside an object of it): a JSON
/// reader keeps one of the two values without a word, so the record would say what nobody can tell was meant. Each reader
/// of records (the typed VQA and COCO parsers, the element reader of GQA, ScienceQA and the rest, JSONL lines, instruction
/// files) rejects such a record as <c>duplicate-key</c>, names the key, and reads on.
/// </summary>
public class ADoubledKeyInARecord
{
    private static Task<(int Exit, string Error, List<JsonElement> Records, List<JsonElement> Rejects)> Build(params string[] args) => HostileFile.BuildLlava(args);

    private static string Write(string name, string text) => HostileFile.Write(name, text);

    private static IEnumerable<string> Ids(List<JsonElement> records) => records.Select(x => x.GetProperty("id").GetString()!);

    private static (string? Reason, string? Detail) Only(List<JsonElement> rejects)
    {
        var reject = Assert.Single(rejects);
        return (reject.GetProperty("reason").GetString(), reject.GetProperty("detail").GetString());
    }

    private const string Annotations = """{"annotations":[{"question_id":1,"multiple_choice_answer":"yes","answers":[{"answer":"yes"}]},{"question_id":2,"multiple_choice_answer":"no","answers":[{"answer":"no"}]}]}""";

    [Theory]
    [InlineData("\"question\":\"Is it red?\",\"question\":\"Is it blue?\"", "\"question\"")]
    [InlineData("\"question\":\"Is it red?\",\"\\u0071uestion\":\"Is it blue?\"", "\"question\"")] // the same key, escaped
    [InlineData("\"question\":\"Is it red?\",\"note\":1,\"note\":2", "\"note\"")] // a key no record reads
    public async Task A_Vqa_Question_With_A_Key_Twice_Is_Rejected_And_The_Rest_Built(string fields, string key)
    {
        var q = Write("questions.json", $$"""{"questions":[{"image_id":1,{{fields}},"question_id":1},{"image_id":2,"question":"Is it green?","question_id":2}]}""");
        var a = Write("annotations.json", Annotations);

        var r = await Build("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["vqav2-q2"], Ids(r.Records));

        // The first question is rejected for its doubled key; its annotation then has no question.
        var doubled = r.Rejects.Single(x => x.GetProperty("reason").GetString() == "duplicate-key");
        Assert.Equal($"a key written twice in the record: {key}; which of its two values is meant cannot be told", doubled.GetProperty("detail").GetString());
        Assert.Equal("questions[0] (byte 14)", doubled.GetProperty("position").GetString());
        Assert.Equal(["duplicate-key", "no-question"], r.Rejects.Select(x => x.GetProperty("reason").GetString()));
        Assert.Equal($"question_id 1: its question in {Path.GetFileName(q)} was rejected (questions[0] (byte 14): duplicate-key)", r.Rejects[1].GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_Key_Twice_In_One_Of_An_Annotations_Answers_Rejects_The_Annotation()
    {
        var q = Write("questions.json", """{"questions":[{"image_id":1,"question":"Is it red?","question_id":1},{"image_id":2,"question":"Is it green?","question_id":2}]}""");
        var a = Write("annotations.json", """{"annotations":[{"question_id":1,"multiple_choice_answer":"yes","answers":[{"answer":"yes"},{"answer":"no","answer":"yes"}]},{"question_id":2,"multiple_choice_answer":"no","answers":[{"answer":"no"}]}]}""");

        var r = await Build("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["vqav2-q2"], Ids(r.Records));
        var doubled = r.Rejects.Single(x => x.GetProperty("reason").GetString() == "duplicate-key");
        Assert.StartsWith("annotations[0] ", doubled.GetProperty("position").GetString(), StringComparison.Ordinal);
        Assert.Contains("\"answer\"", doubled.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var alone = r.Rejects.Single(x => x.GetProperty("reason").GetString() == "no-annotation");
        Assert.Equal($"question_id 1: its annotation in {Path.GetFileName(a)} was rejected (annotations[0] (byte 16): duplicate-key)", alone.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_Type_Error_Before_The_Doubled_Key_Keeps_Its_Own_Reason()
    {
        var q = Write("questions.json", """{"questions":[{"image_id":1,"question":7,"question":"Is it red?","question_id":1},{"image_id":2,"question":"Is it green?","question_id":2}]}""");
        var a = Write("annotations.json", Annotations);

        var r = await Build("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");

        Assert.Equal("wrong-type", r.Rejects[0].GetProperty("reason").GetString());
        Assert.Equal("\"question\" is a number, expected a string", r.Rejects[0].GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_Key_Repeated_After_Many_Others_Is_Still_Found()
    {
        // Sixteen keys are held on the stack; a repeat of the first after twenty others is found in the overflow list,
        // and a repeat of the twentieth too.
        var filler = string.Join(",", Enumerable.Range(0, 20).Select(i => $"\"k{i}\":{i}"));
        var q1 = Write("questions.json", $$"""{"questions":[{"image_id":1,"question":"Is it red?",{{filler}},"question":"Again?","question_id":1},{"image_id":2,"question":"Is it green?","question_id":2}]}""");
        var q2 = Write("questions.json", $$"""{"questions":[{"image_id":1,"question":"Is it red?",{{filler}},"k19":5,"question_id":1},{"image_id":2,"question":"Is it green?","question_id":2}]}""");
        var q3 = Write("questions.json", $$"""{"questions":[{"image_id":1,"question":"Is it red?",{{filler}},"question_id":1},{"image_id":2,"question":"Is it green?","question_id":2}]}""");
        var a = Write("annotations.json", Annotations);

        foreach (var (q, key) in new[] { (q1, "\"question\""), (q2, "\"k19\"") })
        {
            var r = await Build("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");
            Assert.Equal(["vqav2-q2"], Ids(r.Records));
            Assert.Contains(key, r.Rejects[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var clean = await Build("build", "--adapter", "vqav2", "--input", $"questions={q3}", "--input", $"annotations={a}");
        Assert.Equal(["vqav2-q1", "vqav2-q2"], Ids(clean.Records));
    }

    [Fact]
    public async Task A_Coco_Caption_With_A_Key_Twice_Is_Rejected()
    {
        var captions = Write("captions.json", """{"images":[{"id":1,"file_name":"a.jpg"}],"annotations":[{"id":10,"image_id":1,"caption":"A cat.","caption":"A dog."},{"id":11,"image_id":1,"caption":"A cat on a mat."}]}""");

        var r = await Build("build", "--adapter", "coco-captions", "--input", $"captions={captions}");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Single(r.Records);
        Assert.Equal(("duplicate-key", "a key written twice in the record: \"caption\"; which of its two values is meant cannot be told"), Only(r.Rejects));
    }

    [Fact]
    public async Task A_Gqa_Question_With_A_Nested_Key_Twice_Is_Rejected()
    {
        var gqa = Write("questions.json", """{"g1":{"imageId":"n0","question":"Is it?","answer":"yes","fullAnswer":"Yes.","semantic":[{"operation":"select","operation":"filter"}]},"g2":{"imageId":"n0","question":"Is it red?","answer":"no","fullAnswer":"No."}}""");

        var r = await Build("build", "--adapter", "gqa", "--input", $"questions={gqa}");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["gqa-qg2"], Ids(r.Records));
        var (reason, detail) = Only(r.Rejects);
        Assert.Equal("duplicate-key", reason);
        Assert.Equal("a key written twice in the record: \"operation\"; which of its two values is meant cannot be told", detail);
    }

    [Fact]
    public async Task Records_Cut_By_The_Readers_Buffer_Are_Read_Whole_And_Checked()
    {
        // Far more than the element reader's 64 KB buffer, so records are cut at its end and read again after a refill;
        // one record deep in the file has a doubled key.
        var records = new StringBuilder("{");
        for (var i = 0; i < 3000; i++)
        {
            var extra = i == 2500 ? ",\"answer\":\"no\"" : string.Empty;
            records.Append(i == 0 ? string.Empty : ",").Append($$"""
                "g{{i}}":{"imageId":"n{{i}}","question":"Is the thing number {{i}} red?","answer":"yes"{{extra}},"fullAnswer":"Yes, it is red."}
                """);
        }

        var gqa = Write("questions.json", records.Append('}').ToString());

        var r = await Build("build", "--adapter", "gqa", "--input", $"questions={gqa}");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(2999, r.Records.Count);
        Assert.DoesNotContain("gqa-qg2500", Ids(r.Records));
        var reject = Assert.Single(r.Rejects);
        Assert.Equal(("duplicate-key", "[\"g2500\"]"), (reject.GetProperty("reason").GetString(), reject.GetProperty("position").GetString()![..9]));
    }

    [Fact]
    public async Task A_Malformed_Record_Is_Still_A_Syntax_Error_Not_A_Doubled_Key()
    {
        var gqa = Write("questions.json", """{"g1":{"imageId":"n0","question":"Is it?","answer":"yes" "fullAnswer":"Yes."}}""");

        var r = await Build("build", "--adapter", "gqa", "--input", $"questions={gqa}");

        Assert.Equal(2, r.Exit);
        Assert.DoesNotContain("duplicate-key", r.Error, StringComparison.Ordinal);
        Assert.Contains("malformed-json", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Jsonl_Line_With_A_Key_Twice_Is_Rejected_And_A_Broken_Line_Stays_Not_Json()
    {
        var jsonl = Write("rows.jsonl", string.Join("\n",
            """{"img":"a.jpg","q":"One?","a":"1"}""",
            """{"img":"a.jpg","q":"Two?","a":"2","a":"3"}""",
            """{"img":"a.jpg","q":"Three?","a":"3","x":{"y":1,"y":2}}""",
            """{"img":"a.jpg","q":"Four?" "a":"4"}""",
            """{"img":"a.jpg","q":"Five?","a":"5"}"""));

        var r = await Build("build", "--adapter", "jsonl", "--input", $"file={jsonl}", "--map", "image=img", "--map", "question=q", "--map", "answer=a");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["jsonl-l1", "jsonl-l5"], Ids(r.Records));
        Assert.Equal(
            [("line 2", "duplicate-key"), ("line 3", "duplicate-key"), ("line 4", "not-json")],
            r.Rejects.Select(x => (x.GetProperty("position").GetString(), x.GetProperty("reason").GetString())));
        Assert.Contains("\"a\"", r.Rejects[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("\"y\"", r.Rejects[1].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list.json")]
    [InlineData("lines.jsonl")]
    public async Task An_Instruction_Record_With_A_Key_Twice_Is_Rejected(string name)
    {
        const string good = """{"id":"a","image":"a.jpg","conversations":[{"from":"human","value":"<image>\nWhat is it?"},{"from":"gpt","value":"A cat."}]}""";
        const string doubled = """{"id":"b","image":"b.jpg","conversations":[{"from":"human","value":"<image>\nWhat is it?","value":"Who is it?"},{"from":"gpt","value":"A dog."}]}""";
        var file = Write(name, name.EndsWith(".jsonl", StringComparison.Ordinal) ? $"{good}\n{doubled}\n" : $"[{good},{doubled}]");

        var r = await Build("build", "--adapter", "instructions", "--input", $"file={file}");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Single(r.Records);
        var (reason, detail) = Only(r.Rejects);
        Assert.Equal("duplicate-key", reason);
        Assert.Contains("\"value\"", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Key_Twice_In_An_Object_No_Reader_Reads_Is_Found_Too()
    {
        var q = Write("questions.json", """{"questions":[{"image_id":1,"question":"Is it red?","question_id":1,"extra":[{"x":{"y":1,"y":2}}]},{"image_id":2,"question":"Is it green?","question_id":2,"extra":[{"x":{"y":1,"z":2}}]}]}""");
        var a = Write("annotations.json", Annotations);

        var r = await Build("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");

        Assert.Equal(["vqav2-q2"], Ids(r.Records));
        Assert.Equal("a key written twice in the record: \"y\"; which of its two values is meant cannot be told", r.Rejects[0].GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_NoCaps_Caption_With_A_Key_Twice_Is_Rejected_And_The_Build_Goes_On()
    {
        var captions = Write("nocaps.json", """{"images":[{"id":1,"file_name":"a.jpg","domain":"in-domain"},{"id":2,"file_name":"b.jpg","domain":"in-domain"}],"annotations":[{"id":10,"image_id":1,"caption":"A cat."},{"id":20,"image_id":2,"caption":"A cat.","caption":"A dog."}]}""");

        var r = await Build("build", "--adapter", "nocaps", "--input", $"captions={captions}");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["nocaps-img1"], Ids(r.Records));
        Assert.Equal(
            [("annotations[1] (byte 169)", "duplicate-key"), ("images[1] (byte 61)", "empty-answer")],
            r.Rejects.Select(x => (x.GetProperty("position").GetString(), x.GetProperty("reason").GetString())));
    }

    [Theory]
    [InlineData("list.json")]
    [InlineData("lines.jsonl")]
    public async Task Validate_Reports_A_Record_With_A_Key_Twice(string name)
    {
        const string good = """{"id":"a","image":"a.jpg","conversations":[{"from":"human","value":"<image>\nWhat is it?"},{"from":"gpt","value":"A cat."}]}""";
        const string doubled = """{"id":"b","id":"c","image":"b.jpg","conversations":[{"from":"human","value":"<image>\nWhat is it?"},{"from":"gpt","value":"A dog."}]}""";
        var file = Write(name, name.EndsWith(".jsonl", StringComparison.Ordinal) ? $"{good}\n{doubled}\n" : $"[{good},{doubled}]");

        var r = await CliRunner.RunAsync("validate", "--format", "llava", file);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("duplicate-key", r.Output + r.Error, StringComparison.Ordinal);
        Assert.Contains("\"id\"", r.Output + r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", r.Output + r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_Back_A_Shard_Line_With_A_Key_Twice_Stops_With_Its_Line()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var jsonl = Write("rows.jsonl", """{"img":"a.jpg","q":"One?","a":"1"}""");
        var built = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={jsonl}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", outDir);
        Assert.True(built.ExitCode == 0, built.Error);
        var shard = TestPaths.Shards(outDir).Single();
        File.WriteAllText(shard, File.ReadAllText(shard).Replace("\"from\":\"gpt\",", "\"from\":\"gpt\",\"value\":\"x\",", StringComparison.Ordinal));

        var records = Assert.Throws<InputDataException>(() => MllmData.Formats.ShardReader.Records(shard).ToList());

        Assert.Equal(("line 1", "duplicate-key"), (records.Position, records.Reason));
        Assert.Contains("\"value\"", records.Message, StringComparison.Ordinal);

        // stats reads the same line with its own reader, and refuses it the same way.
        var stats = await CliRunner.RunAsync("stats", outDir);
        Assert.Equal(2, stats.ExitCode);
        Assert.Contains($"{shard}: line 1: duplicate-key: a key written twice in the record: \"value\"", stats.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_TextVqa_Ocr_Entry_With_A_Key_Twice_Is_Its_Own_Reject()
    {
        var questions = Write("TextVQA_0.5.1_train.json", """{"data":[{"question_id":1,"question":"what word?","image_id":"aa","answers":["stop"]},{"question_id":2,"question":"what brand?","image_id":"bb","answers":["nokia"]}]}""");
        var ocr = Write("TextVQA_Rosetta_OCR_v0.2_train.json", """{"data":[{"image_id":"aa","ocr_tokens":["STOP"],"ocr_tokens":["GO"]},{"image_id":"bb","ocr_tokens":["NOKIA"]}]}""");
        var pack = Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", "packs", "test-ocr.yaml");

        var r = await Build("build", "--adapter", "textvqa", "--input", $"questions={questions}", "--input", $"ocr={ocr}", "--ocr-hint", "--templates", pack);

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["textvqa-q2"], Ids(r.Records));
        Assert.Equal(
            [(Path.GetFileName(ocr), "data[0] (byte 9)", "duplicate-key"), (Path.GetFileName(questions), "data[0] (byte 9)", "missing-ocr")],
            r.Rejects.Select(x => (x.GetProperty("file").GetString(), x.GetProperty("position").GetString(), x.GetProperty("reason").GetString())));
    }

    [Fact]
    public async Task An_Excluded_Evaluation_File_With_A_Key_Twice_Stops_The_Build()
    {
        // Which copy of "image" a reader kept would decide what is excluded as contaminated.
        var answers = Write("answers.jsonl", "{\"question_id\":1,\"image\":\"COCO_val2014_000000000004.jpg\",\"image\":\"other.jpg\",\"answers\":[\"cat\"]}\n");
        var captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

        var r = await Build("build", "--adapter", "coco-captions", "--input", $"captions={captions}", "--exclude", answers);

        Assert.Equal(2, r.Exit);
        Assert.Contains($"{answers}: line 1: duplicate-key: a key written twice in the record: \"image\"", r.Error, StringComparison.Ordinal);
        Assert.Empty(r.Records);
    }

    [Fact]
    public void Parsing_One_Record_Tells_A_Doubled_Key_From_Malformed_Json()
    {
        using (var ok = JsonRecord.Parse(Encoding.UTF8.GetBytes("""{"a":{"b":1},"c":{"b":2}}"""), out var none))
        {
            Assert.Null(none);
            Assert.Equal(2, ok!.RootElement.GetProperty("c").GetProperty("b").GetInt32());
        }

        Assert.Null(JsonRecord.Parse(Encoding.UTF8.GetBytes("""{"a":{"b":1,"b":2}}"""), out var doubled));
        Assert.True(JsonErrors.IsDoubledKey(doubled));
        Assert.Contains("\"b\"", doubled, StringComparison.Ordinal);

        Assert.ThrowsAny<JsonException>(() => JsonRecord.Parse(Encoding.UTF8.GetBytes("""{"a":1,"a":}"""), out _));
        Assert.False(JsonErrors.IsDoubledKey("\"question\" is a number, expected a string"));
        Assert.False(JsonErrors.IsDoubledKey(null));
    }
}
