using System.Text.Json;

namespace MllmData.Tests.Survey;

/// <summary>Findings of a hostile probe of the survey features (object data, self-instruct contexts, scoring, passes that read a source twice).</summary>
public class SurveyProbeTests
{
    private static string Write(string name, string text)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllText(path, text);
        return path;
    }

    private static List<JsonElement> Rejects(string outDir) =>
        [.. File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    // A box with a coordinate no image has (1e308, 1e10) made the exact decimal corner and area arithmetic overflow: a stack trace.
    private const string HugeBoxes = """
        {"images": [{"id": 1, "file_name": "one.jpg", "width": 100, "height": 100}],
         "annotations": [
           {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1e308, 2, 3, 1e308], "iscrowd": 0},
           {"id": 11, "image_id": 1, "category_id": 2, "bbox": [10, 10, 1e10, 20], "iscrowd": 0},
           {"id": 12, "image_id": 1, "category_id": 3, "bbox": [10, 20, 30, 40], "iscrowd": 0},
           {"id": 13, "image_id": 1, "category_id": 4, "bbox": [-999999990, 0, 1000000000, 50], "iscrowd": 0}],
         "categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "cat"}, {"id": 3, "name": "bird"}, {"id": 4, "name": "horse"}, {"id": 5, "name": "sheep"}]}
        """;

    [Theory]
    [InlineData("region-caption")]
    [InlineData("grounding")]
    public async Task A_Box_Beyond_Any_Image_Is_A_Bad_Box_Reject_Not_A_Crash(string task)
    {
        var instances = Write("instances.json", HugeBoxes);
        var built = await SurveyBuild.RunAsync("--adapter", "coco-objects", "--input", $"instances={instances}", "--task", task, "--box-style", "pixel");

        Assert.Equal(0, built.ExitCode);
        Assert.DoesNotContain("   at ", built.Result.Error, StringComparison.Ordinal);
        // The bird's box is asked about as it is; the horse's corners are exactly 1e9 away: within the limit, clamped.
        var answers = built.Records.Select(r => r.GetProperty("conversations")[task == "grounding" ? 1 : 0].GetProperty("value").GetString()!).ToList();
        Assert.Contains(answers, a => a.Contains("[10, 20, 40, 60]", StringComparison.Ordinal));
        Assert.Contains(answers, a => a.Contains("[0, 0, 10, 50]", StringComparison.Ordinal));
        Assert.Equal(2, built.Records.Count);
        var bad = Rejects(built.Out).Where(r => r.GetProperty("reason").GetString() == "bad-box").ToList();
        Assert.Equal(2, bad.Count);
        Assert.Contains("annotations[0]", bad[0].GetProperty("position").GetString(), StringComparison.Ordinal);
        Assert.Contains("1E+308, beyond 1000000000 pixels", bad[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("annotations[1]", bad[1].GetProperty("position").GetString(), StringComparison.Ordinal);
        Assert.Contains("10000000000, beyond", bad[1].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Existence_With_A_Box_Area_Limit_Reads_Huge_Boxes_As_Present_Objects_Without_An_Area()
    {
        var instances = Write("instances.json", HugeBoxes);
        var built = await SurveyBuild.RunAsync("--adapter", "coco-objects", "--input", $"instances={instances}", "--min-box-area", "100");

        Assert.Equal(0, built.ExitCode);
        Assert.DoesNotContain("   at ", built.Result.Error, StringComparison.Ordinal);
        // Yes only about objects with a readable box of 100 px² or more (bird, horse); dog and cat are there, so never a no.
        var pairs = built.Records.Select(r => (r.GetProperty("meta").GetProperty("extra").GetProperty("object").GetString()!, r.GetProperty("conversations")[1].GetProperty("value").GetString()!)).OrderBy(p => p.Item1).ToList();
        // Sheep is the one absent category, so one pair: a yes about bird or horse, and a no about sheep.
        Assert.Equal(2, pairs.Count);
        Assert.Contains(pairs[0], new[] { ("bird", "yes"), ("horse", "yes") });
        Assert.Equal(("sheep", "no"), pairs[1]);
    }

    // The self-instruct contexts read the instances file through a DOM of their own: a bbox element that is not a number,
    // or a bbox that is not a list, was an InvalidOperationException with a stack trace; an unknown category id became
    // an object named by the number ("99: [...]").
    private const string OddInstances = """
        {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}, {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100}],
         "annotations": [
           {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, "x", 5], "iscrowd": 0},
           {"id": 11, "image_id": 1, "category_id": 1, "bbox": "10,10,5,5", "iscrowd": 0},
           {"id": 12, "image_id": 1, "category_id": 99, "bbox": [0, 0, 10, 10], "iscrowd": 0},
           {"id": 13, "image_id": 1, "category_id": 2, "bbox": [10, 20, 30, 40], "iscrowd": 1},
           {"id": 14, "image_id": 2, "category_id": 1, "bbox": [50, 50, 10, 10], "iscrowd": 0}],
         "categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "cat"}]}
        """;

    private const string OddCaptions = """
        {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}, {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100}],
         "annotations": [{"id": 1, "image_id": 1, "caption": "A cat on a mat."}, {"id": 2, "image_id": 2, "caption": "A dog."}]}
        """;

    [Fact]
    public void Self_Instruct_Contexts_Leave_Out_Annotations_Without_A_Readable_Box_Or_A_Named_Category()
    {
        var instances = Write("instances.json", OddInstances);
        var captions = Write("captions.json", OddCaptions);
        using var first = File.OpenRead(captions);
        using var boxes = File.OpenRead(instances);
        var contexts = MllmData.Generation.ImageContext.FromCoco(first, captions, () => File.OpenRead(captions), boxes, instances);

        Assert.Equal(["1", "2"], contexts.Select(c => c.ImageId));
        var one = Assert.Single(contexts[0].Objects);
        Assert.Equal("cat: [0.100, 0.200, 0.400, 0.600]", one.ToString());
        Assert.True(one.Crowd);
        Assert.Equal("dog: [0.500, 0.500, 0.600, 0.600]", Assert.Single(contexts[1].Objects).ToString());

        // The hallucination check's categories: every annotation of a named category counts, whatever its box.
        var categories = MllmData.Generation.ImageContext.CategoriesByFileName(instances);
        Assert.Equal(["cat", "dog"], categories["a.jpg"].Order());
        Assert.Equal(["dog"], categories["b.jpg"]);
    }

    [Fact]
    public async Task Self_Instruct_Dry_Run_On_Odd_Instances_Runs_Without_A_Stack_Trace()
    {
        var instances = Write("instances.json", OddInstances);
        var captions = Write("captions.json", OddCaptions);
        var r = await CliRunner.RunAsync("self-instruct", "--input", $"captions={captions}", "--input", $"instances={instances}", "--kinds", "conversation", "--out", Path.Combine(TestPaths.NewTempDir(), "o"), "--dry-run");

        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("   at ", r.Error + r.Output, StringComparison.Ordinal);
    }

    // answers.jsonl fields of another type: non-string choices were an InvalidOperationException with a stack trace; a
    // numeric correct_choice, answer_type or category was read as absent (the question silently unscored or ungrouped);
    // a correct_choice past the choices was a question no reply could get right.
    [Theory]
    [InlineData("""{"question_id": 1, "answers": ["x"], "choices": [1, 2], "correct_choice": "A"}""", "wrong-type", "\"choices\"[0] is the number 1, expected a string")]
    [InlineData("""{"question_id": 1, "answers": ["x"], "choices": "x,y", "correct_choice": "A"}""", "wrong-type", "\"choices\" is a string, expected a list of strings")]
    [InlineData("""{"question_id": 1, "answers": ["x"], "choices": ["x", "y"], "correct_choice": 0}""", "wrong-type", "\"correct_choice\" is the number 0, expected a string")]
    [InlineData("""{"question_id": 1, "answers": ["x"], "choices": ["x", "y"], "correct_choice": "C"}""", "wrong-type", "\"correct_choice\" is 'C', not the letter of one of its 2 choices (A to B)")]
    [InlineData("""{"question_id": 1, "answers": ["x"], "correct_choice": "b"}""", "wrong-type", "\"correct_choice\" is 'b', not an option letter A to Z")]
    [InlineData("""{"question_id": 1, "answers": ["x"], "answer_type": 3}""", "wrong-type", "\"answer_type\" is the number 3, expected a string")]
    [InlineData("""{"question_id": 1, "answers": ["x"], "category": ["a"]}""", "wrong-type", "\"category\" is a list, expected a string")]
    [InlineData("""{"question_id": 1, "answers": ["x", 2]}""", "wrong-type", "\"answers\"[1] is the number 2, expected a string")]
    [InlineData("""{"question_id": 1, "answers": "x"}""", "wrong-type", "\"answers\" is a string, expected a list of strings")]
    [InlineData("""{"question_id": 1, "answers": null}""", "missing-field", "no \"answers\" list of strings")]
    public async Task An_Answers_Line_With_A_Field_Of_Another_Type_Stops_Score_Naming_Line_Field_And_Reason(string line, string reason, string detail)
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllLines(answers, ["""{"question_id": 0, "answers": ["a"], "choices": ["a", "b"], "correct_choice": "A"}""", line]);
        var predictions = Path.Combine(dir, "p.jsonl");
        File.WriteAllLines(predictions, ["""{"question_id": 1, "text": "A"}"""]);

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "mc");

        Assert.Equal(2, r.ExitCode);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
        Assert.Contains($"answers.jsonl: line 2: {reason}: {detail}", r.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"question_id": 1, "text": 2}""", "wrong-type: \"text\" is the number 2, expected a string")]
    [InlineData("""{"question_id": 1, "text": ["yes"]}""", "wrong-type: \"text\" is a list, expected a string")]
    [InlineData("""{"question_id": 1, "text": null}""", "missing-field: no \"text\" (or \"answer\") string")]
    public async Task A_Prediction_Whose_Text_Is_Not_A_String_Is_Named_With_Its_Type(string line, string expected)
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllLines(answers, ["""{"question_id": 1, "answers": ["2"]}"""]);
        var predictions = Path.Combine(dir, "p.jsonl");
        File.WriteAllLines(predictions, [line]);

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "vqa");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"p.jsonl: line 1: {expected}", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_Exclude_File_Whose_Image_Is_A_List_Stops_The_Build_Instead_Of_Letting_The_Image_Through()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllLines(answers, ["""{"question_id": 1, "answers": ["x"], "image": ["000000397133.jpg"]}"""]);
        var built = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--per-image", "--exclude", answers);

        Assert.Equal(2, built.ExitCode);
        Assert.Contains("answers.jsonl: line 1: wrong-type: \"image\" is a list, expected a string", built.Result.Error, StringComparison.Ordinal);
    }

    private static string ThreeImagesHeldOut()
    {
        var answers = Path.Combine(TestPaths.NewTempDir(), "answers.jsonl");
        File.WriteAllLines(answers, [
            """{"question_id": 1, "answers": ["x"], "image": "000000397133.jpg"}""",
            """{"question_id": 2, "answers": ["x"], "image": "000000349860.jpg"}""",
            """{"question_id": 3, "answers": ["x"], "image": "000000217285.jpg"}"""]);
        return answers;
    }

    private static (long ByImage, long ByQuestion) Decontamination(string outDir)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        var d = manifest.RootElement.GetProperty("decontamination");
        return (d.GetProperty("excluded_by_image").GetInt64(), d.GetProperty("excluded_by_question").GetInt64());
    }

    // The in-context examples' first pass ran the decontamination step too, so the manifest counted each held-out record
    // twice (and a pool's held-out lines as dropped training records); the rejects file had each once.
    [Fact]
    public async Task With_In_Context_Examples_Each_Held_Out_Record_Is_Counted_Once()
    {
        var answers = ThreeImagesHeldOut();
        var built = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--per-image", "--exclude", answers, "--icl-shots", "2");

        Assert.Equal(0, built.ExitCode);
        Assert.Equal(3, built.RejectReasons.Count(r => r == "contaminated"));
        Assert.Equal((3L, 0L), Decontamination(built.Out));
        var held = new[] { "000000397133.jpg", "000000349860.jpg", "000000217285.jpg" };
        Assert.DoesNotContain(built.Records, r => r.GetProperty("image").EnumerateArray().Any(i => held.Contains(i.GetString())));

        // Examples from a pool (a build of the same captions, held-out images included) are not training records dropped.
        var pool = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--per-image");
        var pooled = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--per-image", "--exclude", answers, "--icl-shots", "2", "--icl-pool", pool.Out);
        Assert.Equal(0, pooled.ExitCode);
        Assert.Equal((3L, 0L), Decontamination(pooled.Out));
        Assert.DoesNotContain(pooled.Records, r => r.GetProperty("image").EnumerateArray().Any(i => held.Contains(i.GetString())));
    }

    // A mixture reads each source to count it, then once per epoch: each pass counted the held-out records again.
    [Fact]
    public async Task In_A_Mixture_With_Repeats_Each_Held_Out_Record_Is_Counted_Once()
    {
        var answers = ThreeImagesHeldOut();
        var recipe = Path.Combine(TestPaths.NewTempDir(), "mix.yaml");
        File.WriteAllText(recipe, $"""
            name: mix
            exclude: ["{answers}"]
            mixture:
              sampling: proportional
            sources:
              - name: caps
                adapter: coco-captions
                inputs:
                  captions: "{SurveyBuild.CocoCaptions}"
                options:
                  per-image: true
                repeat: 3
            """);
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync("build", "--recipe", recipe, "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Count(l => l.Contains("\"contaminated\"", StringComparison.Ordinal)));
        Assert.Equal((3L, 0L), Decontamination(outDir));
    }

    // Two options with the same text were lettered and trained on (label B for "x" beside an A that is also "x"), and an
    // evaluation set scored a reply that says "x" by a coin toss: which letter is right cannot be told.
    [Fact]
    public async Task Options_That_Read_The_Same_Are_A_Duplicate_Choice_Reject_In_Every_Choice_Adapter()
    {
        var aokvqa = Write("aokvqa_v1p0_val.json", """
            [{"split": "val", "image_id": 397133, "question_id": "q1", "question": "What is on the table?", "choices": ["a cat", "a bowl", "a dog", "a bus"], "correct_choice_idx": 1, "direct_answers": ["bowl"], "difficult_direct_answer": false, "rationales": ["r"]},
             {"split": "val", "image_id": 397133, "question_id": "q2", "question": "Which?", "choices": ["x", "y", "X "], "correct_choice_idx": 2, "direct_answers": ["x"], "difficult_direct_answer": false, "rationales": ["r"]},
             {"split": "val", "image_id": 397133, "question_id": "q3", "question": "Which?", "choices": ["a  red car", "a red\tcar"], "correct_choice_idx": 0, "direct_answers": ["car"], "difficult_direct_answer": false, "rationales": ["r"]}]
            """);
        var train = await SurveyBuild.RunAsync("--adapter", "aokvqa", "--input", $"questions={aokvqa}", "--mode", "mc");
        var eval = await SurveyBuild.RunAsync("--adapter", "aokvqa", "--input", $"questions={aokvqa}", "--mode", "mc", "--split-role", "eval");
        var jsonl = Write("rows.jsonl", """{"img":"a.jpg","q":"Which?","a":"1","ch":["Paris","paris"]}""" + "\n" + """{"img":"a.jpg","q":"Which?","a":"1","ch":["Paris","Rome"]}""");
        var rows = await SurveyBuild.RunAsync("--adapter", "jsonl", "--input", $"file={jsonl}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--map", "choices=ch");

        Assert.Equal(0, train.ExitCode);
        Assert.Equal(0, eval.ExitCode);
        Assert.Equal(0, rows.ExitCode);
        Assert.Equal("B", train.Records.Single().GetProperty("conversations")[1].GetProperty("value").GetString());
        Assert.Equal(["q1"], File.ReadAllLines(Path.Combine(eval.Out, "answers.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("question_id").GetString()));
        foreach (var built in new[] { train, eval })
        {
            Assert.Equal(
                [("duplicate-choice", "options A and C both read 'X'"), ("duplicate-choice", "options A and B both read 'a red car'")],
                Rejects(built.Out).Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("detail").GetString())));
        }

        Assert.Equal([("duplicate-choice", "options A and B both read 'paris'")], Rejects(rows.Out).Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("detail").GetString())));
        Assert.Equal("B", rows.Records.Single().GetProperty("conversations")[1].GetProperty("value").GetString());
    }

    // With icl_shots, a text-only source of a mixture (Alpaca lines) had every record rejected as too-few-examples (no
    // single-image candidates of task text), so the mixture failed with exit 2.
    [Fact]
    public async Task In_Context_Examples_Leave_The_Text_Only_Records_Of_A_Mixture_As_They_Are()
    {
        var alpaca = Write("alpaca.jsonl", string.Join("\n", Enumerable.Range(1, 6).Select(i => $$"""{"instruction": "Say {{i}}.", "input": "", "output": "{{i}}"}""")));
        var recipe = Path.Combine(TestPaths.NewTempDir(), "mix.yaml");
        File.WriteAllText(recipe, $"""
            name: mix
            icl_shots: 2
            mixture:
              sampling: proportional
            sources:
              - name: caps
                adapter: coco-captions
                inputs:
                  captions: "{SurveyBuild.CocoCaptions}"
                options:
                  per-image: true
              - name: text
                adapter: instructions
                inputs:
                  file: "{alpaca}"
            """);
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync("build", "--recipe", recipe, "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var records = TestPaths.Shards(outDir).SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var text = records.Where(x => x.GetProperty("id").GetString()!.StartsWith("text-", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, text.Count);
        Assert.All(text, t =>
        {
            Assert.False(t.TryGetProperty("image", out _));
            Assert.False(t.GetProperty("meta").TryGetProperty("icl", out _));
            var turns = t.GetProperty("conversations");
            Assert.Equal(turns[1].GetProperty("value").GetString(), turns[0].GetProperty("value").GetString()!.Replace("Say ", string.Empty, StringComparison.Ordinal).TrimEnd('.'));
        });
        var images = records.Where(x => x.GetProperty("id").GetString()!.StartsWith("caps-", StringComparison.Ordinal)).ToList();
        Assert.Equal(79, images.Count);
        Assert.All(images, i => Assert.Equal(3, i.GetProperty("image").GetArrayLength()));
        Assert.DoesNotContain("too-few-examples", File.ReadAllText(Path.Combine(outDir, "rejects.jsonl")), StringComparison.Ordinal);
    }

    // An evaluation build with --group-by-image wrote nothing: every record was an unsupported-shape reject and the build
    // failed with exit 2 after reading the inputs; it is refused up front, as --cot two-stage is.
    [Fact]
    public async Task An_Evaluation_Build_Refuses_Group_By_Image_Before_Reading_Anything()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", "questions=/nonexistent/q.json", "--input", "annotations=/nonexistent/a.json",
            "--split-role", "eval", "--group-by-image", "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--group-by-image (source 'vqav2') merges the questions of an image into one conversation, and an evaluation set has one line per question", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }
}
