using MllmData.Json;

namespace MllmData.Tests.Hostile;

/// <summary>Bad bytes in JSON inputs: every adapter path (list, keyed object, one-pass parsers, JSONL) rejects the record and reads on.</summary>
public class TheJsonInputs
{
    private const string Answers = """[{"answer":"red","answer_confidence":"yes"},{"answer":"red","answer_confidence":"yes"}]""";

    /// <summary>Records whose text is broken in each way UTF-8 and JSON escapes can be broken; the first and last are fine.</summary>
    private static readonly string[] VizWizRecords =
    [
        $$"""{"image":"VizWiz_val_0.jpg","question":"What colour?","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_1.jpg","question":"What <FF><FE> colour?","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_2.jpg","ques<C3>tion":"What colour?","question":"x","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_3.jpg","question":"cut <E2><82>","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_4.jpg","question":"overlong <C0><AF>","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_5.jpg","question":"lone \ud800 high","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_6.jpg","question":"fine","unused":"lone \udc00 low","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_7.jpg","question":"encoded surrogate <ED><A0><80>","answers":{{Answers}},"answer_type":"other"}""",
        $$"""{"image":"VizWiz_val_8.jpg","question":"pair \ud83d\ude00 and \\ud800 as text?","answers":{{Answers}},"answer_type":"other"}""",
    ];

    private static async Task<string> BuildOk(params string[] args)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", .. args, "--format", "llava", "--out", outDir]);
        Assert.True(r.ExitCode == 0, r.Error);
        return outDir;
    }

    [Fact]
    public async Task Should_Reject_Each_List_Record_With_Broken_Text_And_Keep_The_Rest()
    {
        var file = HostileFile.Write("val.json", HostileFile.Bytes("[" + string.Join(",\n", VizWizRecords) + "]"));
        var outDir = await BuildOk("--adapter", "vizwiz", "--input", $"questions={file}");

        var rejects = HostileFile.Rejects(outDir);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => $"questions[{i}]"), rejects.Select(x => x.Str("position").Split(' ')[0]));
        Assert.All(rejects, x => Assert.Equal(("wrong-type", StreamingJsonReader.InvalidText), (x.Str("reason"), x.Str("detail"))));
        var records = HostileFile.Records(outDir);
        Assert.Equal(["vizwiz-VizWiz_val_0", "vizwiz-VizWiz_val_8"], records.Select(x => x.Str("id")));

        // A valid surrogate pair decodes; an escaped backslash before "ud800" is plain text, not an escape.
        Assert.Contains("pair \U0001F600 and \\ud800 as text?", records[1].GetProperty("conversations")[0].Str("value"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Read_A_Json_List_That_Starts_With_A_Byte_Order_Mark()
    {
        var file = HostileFile.Write("val.json", [0xEF, 0xBB, 0xBF, .. HostileFile.Bytes("[" + VizWizRecords[0] + "]")]);
        var outDir = await BuildOk("--adapter", "vizwiz", "--input", $"questions={file}");
        Assert.Equal(["vizwiz-VizWiz_val_0"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        Assert.Empty(HostileFile.Rejects(outDir));
    }

    [Fact]
    public async Task Should_Reject_A_Keyed_Record_Whose_Key_Or_Value_Is_Broken()
    {
        const string Record = """{"imageId":"n1","question":"Is it red?","answer":"yes","fullAnswer":"Yes, it is."}""";
        var json = $$"""{"q1":{{Record}},"q<FF>2":{{Record}},"q3":{"imageId":"n3","question":"bad <C3>","answer":"no"},"q4":{{Record}}}""";
        var file = HostileFile.Write("testdev_balanced_questions.json", HostileFile.Bytes(json));
        var outDir = await BuildOk("--adapter", "gqa", "--input", $"questions={file}");

        Assert.Equal(["gqa-qq1", "gqa-qq4"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        var rejects = HostileFile.Rejects(outDir);
        Assert.Equal(2, rejects.Count);
        Assert.All(rejects, x => Assert.Equal(("wrong-type", StreamingJsonReader.InvalidText), (x.Str("reason"), x.Str("detail"))));
        Assert.StartsWith("[\"q\uFFFD2\"] (byte ", rejects[0].Str("position"), StringComparison.Ordinal);
        Assert.StartsWith("[\"q3\"] (byte ", rejects[1].Str("position"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Reject_Broken_Text_In_Fields_The_One_Pass_Parsers_Read_And_Skip()
    {
        var dir = TestPaths.NewTempDir();
        var q = Path.Combine(dir, "v2_OpenEnded_mscoco_val2014_questions.json");
        var a = Path.Combine(dir, "v2_mscoco_val2014_annotations.json");
        File.WriteAllBytes(q, HostileFile.Bytes("""
            {"info":{"note":"bad <FF> in a skipped header"},"data_subtype":"val2014","questions":[
            {"image_id":1,"question":"Good?","question_id":1},
            {"image_id":2,"question":"Bad <C0><AF>?","question_id":2},
            {"image_id":3,"question":"Skipped field is bad?","question_id":3,"extra":"\udfff"},
            {"image_id":4,"question":"Escape \ud800","question_id":4},
            {"image_id":5,"question":"Also good?","question_id":5}]}
            """));
        var answers = """[{"answer":"yes","answer_confidence":"yes","answer_id":1}]""";
        File.WriteAllBytes(a, HostileFile.Bytes($$"""
            {"annotations":[
            {"question_id":1,"image_id":1,"question_type":"is","answer_type":"yes/no","multiple_choice_answer":"yes","answers":{{answers}}},
            {"question_id":2,"image_id":2,"question_type":"is","answer_type":"yes/no","multiple_choice_answer":"yes","answers":{{answers}}},
            {"question_id":3,"image_id":3,"question_type":"is","answer_type":"yes/no","multiple_choice_answer":"yes","answers":{{answers}}},
            {"question_id":4,"image_id":4,"question_type":"is","answer_type":"yes/no","multiple_choice_answer":"yes","answers":{{answers}}},
            {"question_id":5,"image_id":5,"question_type":"is","answer_type":"yes/no","multiple_choice_answer":"y<E2><82>","answers":{{answers}}}]}
            """));
        var outDir = await BuildOk("--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");

        Assert.Equal(["vqav2-q1"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        var rejects = HostileFile.Rejects(outDir).Where(x => x.Str("reason") == "wrong-type").ToList();
        Assert.Equal(["annotations[4]", "questions[1]", "questions[2]", "questions[3]"], rejects.Select(x => x.Str("position").Split(' ')[0]).Order(StringComparer.Ordinal));
        Assert.All(rejects, x => Assert.Equal(StreamingJsonReader.InvalidText, x.Str("detail")));
    }

    [Fact]
    public async Task Should_Reject_Jsonl_Lines_With_Broken_Text_And_Read_A_Leading_Byte_Order_Mark()
    {
        var file = HostileFile.Write("rows.jsonl", [0xEF, 0xBB, 0xBF, .. HostileFile.Bytes("""
            {"q":"first?","a":"yes"}
            {"q":"bad <FF>?","a":"yes"}
            {"q":"key","<C3>":"yes","a":"no"}
            {"q":"escape \ud800?","a":"yes"}
            {"q":"overlong <C0><AF>","a":"yes"}
            not json

            {"q":"last?","a":"no"}
            """)]);
        var outDir = await BuildOk("--adapter", "jsonl", "--input", $"file={file}", "--map", "question=q", "--map", "answer=a");

        Assert.Equal(["jsonl-l1", "jsonl-l8"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        Assert.Equal(
            [("line 2", "invalid-utf8"), ("line 3", "invalid-utf8"), ("line 4", "invalid-utf8"), ("line 5", "invalid-utf8"), ("line 6", "not-json")],
            HostileFile.Rejects(outDir).Select(x => (x.Str("position"), x.Str("reason"))));
    }

    [Fact]
    public async Task Should_Reject_Instruction_Jsonl_Lines_With_Broken_Text_As_The_Jsonl_Adapter_Does()
    {
        var file = HostileFile.Write("alpaca.jsonl", [0xEF, 0xBB, 0xBF, .. HostileFile.Bytes("""
            {"instruction":"first?","input":"","output":"yes"}
            {"instruction":"bad <FF>?","input":"","output":"yes"}
            {"instruction":"key","<C3>":"yes","output":"no"}
            {"instruction":"escape \ud800?","input":"","output":"yes"}
            {"instruction":"overlong <C0><AF>","input":"","output":"yes"}
            not json

            {"instruction":"last?","input":"","output":"no"}
            """)]);
        var outDir = await BuildOk("--adapter", "instructions", "--input", $"file={file}");

        Assert.Equal(["instructions-l1", "instructions-l8"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        Assert.Equal(
            [("line 2", "invalid-utf8"), ("line 3", "invalid-utf8"), ("line 4", "invalid-utf8"), ("line 5", "invalid-utf8"), ("line 6", "not-json")],
            HostileFile.Rejects(outDir).Select(x => (x.Str("position"), x.Str("reason"))));
    }

    [Fact]
    public async Task Should_Reject_A_Literal_Image_Token_In_Text_Only_Instructions_As_Literal()
    {
        var file = HostileFile.Write("alpaca-token.jsonl", HostileFile.Bytes("""
            {"instruction":"Describe <image> please","input":"","output":"no"}
            {"instruction":"fine?","input":"","output":"yes"}
            """));
        var outDir = await BuildOk("--adapter", "instructions", "--input", $"file={file}");

        Assert.Equal(["instructions-l2"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        Assert.Equal([("instructions-l1", "literal-image-token")], HostileFile.Rejects(outDir).Select(x => (x.Str("position"), x.Str("reason"))));
    }
}
