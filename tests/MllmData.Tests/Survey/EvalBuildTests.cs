using System.Text.Json;

namespace MllmData.Tests.Survey;

/// <summary>Issue #12 §5: evaluation sets, LLaVA question files with the reference answers in answers.jsonl.</summary>
public class TheEvalBuild
{
    private static readonly string OkVqaVal = TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json");

    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", name);

    private static List<JsonElement> Lines(string file) => [.. File.ReadLines(file).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Theory]
    [InlineData("llava")]
    [InlineData("sharegpt")]
    [InlineData("swift")]
    [InlineData("template")]
    [InlineData("openai", "--image-url-prefix", "https://images.example/")]
    public async Task Question_Only_Records_Never_Go_Into_A_Training_Format(string format, params string[] extra)
    {
        // LLaVA's own question file: questions, no answers. Each becomes a missing-assistant reject, even under --allow-empty.
        var questions = TestPaths.RealFile("reference-outputs", "llava", "qa90_questions.jsonl");
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", "--adapter", "instructions", "--input", $"file={questions}", "--format", format, "--allow-empty", "--out", outDir, .. extra]);

        Assert.Equal(0, r.ExitCode);
        Assert.All(TestPaths.Shards(outDir), shard => Assert.Empty(File.ReadAllText(shard).Trim()));
        var rejects = Lines(Path.Combine(outDir, "rejects.jsonl"));
        Assert.Equal(90, rejects.Count);
        Assert.All(rejects, x => Assert.Equal("missing-assistant", x.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Unanswered_Okvqa_Questions_Become_One_Question_Line_And_One_Answers_Line_Each()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "okvqa", "--input", $"questions={OkVqaVal}", "--unanswered", "eval", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var shard = Assert.Single(TestPaths.Shards(outDir));
        var questions = File.ReadAllLines(shard);
        var answers = File.ReadAllLines(Path.Combine(outDir, "answers.jsonl"));

        // The first question of the real file, in LLaVA's question-file layout (question_id stays a number, as in the file).
        Assert.Equal(
            """{"question_id":2971475,"image":"COCO_val2014_000000297147.jpg","text":"What sport can you use this for?\nReply with a single word or a short phrase.","category":"okvqa"}""",
            questions[0]);
        Assert.Equal(
            """{"question_id":2971475,"answers":[],"category":"okvqa","question":"What sport can you use this for?","image":"COCO_val2014_000000297147.jpg","image_id":"297147","adapter":"okvqa"}""",
            answers[0]);

        using var source = JsonDocument.Parse(File.ReadAllBytes(OkVqaVal));
        var expected = source.RootElement.GetProperty("questions").EnumerateArray().Select(q => q.GetProperty("question_id").GetInt64()).ToList();
        Assert.Equal(expected, questions.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("question_id").GetInt64()));
        Assert.Equal(expected, answers.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("question_id").GetInt64()));

        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        var m = manifest.RootElement;
        Assert.Equal("llava-question", m.GetProperty("format").GetString());
        Assert.Equal(expected.Count, m.GetProperty("records").GetInt64());
        var evaluation = m.GetProperty("evaluation");
        Assert.Equal(("eval", expected.Count, 0L, "answers.jsonl"), (evaluation.GetProperty("split_role").GetString(), evaluation.GetProperty("questions").GetInt64(), evaluation.GetProperty("answered").GetInt64(), evaluation.GetProperty("answers_file").GetString()));
    }

    [Fact]
    public async Task An_Answered_Split_Keeps_Its_Answers_Out_Of_The_Question_Text()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "textvqa", "--input", $"questions={TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_val.json")}", "--split-role", "eval", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var questions = Lines(Assert.Single(TestPaths.Shards(outDir)));
        var answers = Lines(Path.Combine(outDir, "answers.jsonl"));
        using var source = JsonDocument.Parse(File.ReadAllBytes(TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_val.json")));
        var data = source.RootElement.GetProperty("data").EnumerateArray().ToList();

        Assert.Equal(data.Count, questions.Count);
        for (var i = 0; i < data.Count; i++)
        {
            var refs = data[i].GetProperty("answers").EnumerateArray().Select(a => a.GetString()!).ToList();
            Assert.Equal(data[i].GetProperty("question_id").GetInt64(), questions[i].GetProperty("question_id").GetInt64());
            Assert.Equal(data[i].GetProperty("question").GetString() + "\nReply with a single word or a short phrase.", questions[i].GetProperty("text").GetString());
            Assert.Equal(["question_id", "image", "text", "category"], questions[i].EnumerateObject().Select(p => p.Name));

            // All ten reference answers, in the file's order, and only in answers.jsonl.
            Assert.Equal(refs, answers[i].GetProperty("answers").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal(data[i].GetProperty("question_id").GetInt64(), answers[i].GetProperty("question_id").GetInt64());
        }

        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        Assert.Equal(data.Count, manifest.RootElement.GetProperty("evaluation").GetProperty("answered").GetInt64());
    }

    [Fact]
    public async Task A_Multiple_Choice_Question_Lists_Its_Options_And_Asks_For_A_Letter()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--split-role", "eval", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(
            """{"question_id":"22jbM6gDxdaMaunuzgrsBB","image":"val2017/000000461751.jpg","text":"What is in the motorcyclist's mouth?\nA. toothpick\nB. food\nC. popsicle stick\nD. cigarette\nReply with only the letter of the correct option.","category":"aokvqa"}""",
            File.ReadLines(Assert.Single(TestPaths.Shards(outDir))).First());
        Assert.Equal(
            """{"question_id":"22jbM6gDxdaMaunuzgrsBB","answers":["cigarette"],"category":"aokvqa","choices":["toothpick","food","popsicle stick","cigarette"],"correct_choice":"D","question":"What is in the motorcyclist's mouth?","image":"val2017/000000461751.jpg","image_id":"461751","adapter":"aokvqa"}""",
            File.ReadLines(Path.Combine(outDir, "answers.jsonl")).First());
    }

    [Fact]
    public async Task A_Later_Training_Build_In_The_Same_Folder_Leaves_No_Stale_Answers_File()
    {
        var outDir = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--split-role", "eval", "--out", outDir)).ExitCode);
        Assert.True(File.Exists(Path.Combine(outDir, "answers.jsonl")));

        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--out", outDir)).ExitCode);
        Assert.False(File.Exists(Path.Combine(outDir, "answers.jsonl")));
    }

    public static TheoryData<string[], string> BadEvalSettings() => new()
    {
        { ["--adapter", "okvqa", "--input", $"questions={OkVqaVal}", "--unanswered", "eval", "--format", "sharegpt"], "--unanswered eval (source 'okvqa') makes question-only records, which never go into a training format such as sharegpt: leave out --format (format) to write an evaluation set (LLaVA question files and answers.jsonl), or build a split that has answers" },
        { ["--adapter", "okvqa", "--input", $"questions={OkVqaVal}", "--unanswered", "eval", "--split-role", "train"], "--unanswered eval (source 'okvqa') makes question-only records, which never go into a training format: leave out --split-role train (split_role) to write an evaluation set (LLaVA question files and answers.jsonl), or build a split that has answers" },
        { ["--adapter", "okvqa", "--input", $"questions={OkVqaVal}", "--split-role", "eval", "--format", "llava"], "--split-role eval writes an evaluation set (LLaVA question files and answers.jsonl), not llava: leave out --format (format)" },
        { ["--adapter", "okvqa", "--input", $"questions={OkVqaVal}", "--split-role", "test"], "--split-role (split_role) must be train or eval, got 'test'" },
        { ["--adapter", "okvqa", "--input", $"questions={OkVqaVal}", "--unanswered", "eval", "--no-meta"], "--no-meta: an evaluation set takes its reference answers from the records' details; leave out --no-meta (question lines carry no meta either way)" },
        { ["--adapter", "coco-captions", "--input", $"captions={TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json")}", "--exclude", "no/such/eval"], "--exclude no/such/eval: no such file or folder" },
    };

    [Theory]
    [MemberData(nameof(BadEvalSettings))]
    public async Task A_Wrong_Evaluation_Setting_Is_Exit_1_With_One_Line_And_No_Output_Folder(string[] args, string expected)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["build", "--out", outDir, .. args]);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {expected}\n", r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task A_Recipe_Says_Split_Role_Eval_And_Gets_The_Same_Bytes_As_The_Flags()
    {
        var dir = TestPaths.NewTempDir();
        var recipe = Path.Combine(dir, "eval.yaml");
        File.WriteAllText(recipe, $"name: data\nsplit_role: eval\nsources:\n  - adapter: aokvqa\n    inputs: {{questions: {Fixture("aokvqa_v1p0_val.json")}}}\n");
        var fromRecipe = Path.Combine(dir, "a");
        var fromFlags = Path.Combine(dir, "b");

        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", recipe, "--out", fromRecipe)).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--split-role", "eval", "--out", fromFlags)).ExitCode);

        Assert.Equal(File.ReadAllBytes(Path.Combine(fromFlags, "answers.jsonl")), File.ReadAllBytes(Path.Combine(fromRecipe, "answers.jsonl")));
        Assert.Equal(File.ReadAllBytes(TestPaths.Shards(fromFlags)[0]), File.ReadAllBytes(TestPaths.Shards(fromRecipe)[0]));
    }
}
