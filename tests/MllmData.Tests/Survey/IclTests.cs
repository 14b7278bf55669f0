using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Adapters;
using MllmData.Pipeline.Steps;
using MllmData.Recipes;
using MllmData.Templates;
using Serilog;

namespace MllmData.Tests.Survey;

public sealed class IclTests
{
    /// <summary>Each TextVQA record's own image, from a plain build: what an example's image must be.</summary>
    private static async Task<Dictionary<string, string>> ImagesById()
    {
        var plain = await SurveyBuild.TextVqaAsync("--format", "llava");
        Assert.Equal(0, plain.ExitCode);
        return plain.Records.ToDictionary(SurveyBuild.Id, r => r.GetProperty("image").GetString()!);
    }

    /// <summary>The examples' images in order, then the query's: the order the record's images must have.</summary>
    private static void AssertImagesFollowExamples(JsonElement record, IReadOnlyList<string> images, Dictionary<string, string> imageOf)
    {
        var examples = SurveyBuild.ExampleIds(record);
        var id = record.GetProperty("meta").GetProperty("ids").GetProperty("question_id").GetString();
        var query = imageOf[$"textvqa-q{id}"];

        Assert.Equal(2, examples.Length);
        Assert.Equal([.. examples.Select(e => imageOf[e]), query], images);
        Assert.DoesNotContain(query, images.Take(2));
        Assert.DoesNotContain($"textvqa-q{id}", examples);
    }

    [Fact]
    public async Task Llava_Puts_Two_Examples_Then_The_Query_In_The_First_Human_Turn_With_Images_In_Placeholder_Order()
    {
        var imageOf = await ImagesById();
        var built = await SurveyBuild.TextVqaAsync("--format", "llava", "--icl-shots", "2");

        Assert.Equal(0, built.ExitCode);
        Assert.Equal(5, built.Records.Count);
        foreach (var r in built.Records)
        {
            var human = r.GetProperty("conversations")[0].GetProperty("value").GetString()!;
            var blocks = human.Split("\n\n");
            var examples = SurveyBuild.ExampleIds(r);
            Assert.Equal(3, blocks.Length);
            Assert.All(blocks, b => Assert.StartsWith("<image>\n", b, StringComparison.Ordinal));
            Assert.Equal(3, human.Split("<image>").Length - 1);

            // Each example block shows that example's answer, so block i belongs to example i and image i.
            var answers = built.Records.ToDictionary(SurveyBuild.Id, x => x.GetProperty("conversations")[1].GetProperty("value").GetString());
            Assert.EndsWith("\nAnswer: " + answers[examples[0]], blocks[0], StringComparison.Ordinal);
            Assert.EndsWith("\nAnswer: " + answers[examples[1]], blocks[1], StringComparison.Ordinal);
            AssertImagesFollowExamples(r, [.. r.GetProperty("image").EnumerateArray().Select(i => i.GetString()!)], imageOf);
            Assert.Equal("seeded", r.GetProperty("meta").GetProperty("icl").GetProperty("order").GetString());
        }
    }

    [Fact]
    public async Task ShareGpt_Lists_Images_In_Placeholder_Order()
    {
        var imageOf = await ImagesById();
        var built = await SurveyBuild.TextVqaAsync("--format", "sharegpt", "--icl-shots", "2", "--meta");

        Assert.Equal(0, built.ExitCode);
        Assert.Equal(5, built.Records.Count);
        foreach (var r in built.Records)
        {
            var user = r.GetProperty("messages")[0].GetProperty("content").GetString()!;
            Assert.Equal(3, user.Split("<image>").Length - 1);
            Assert.StartsWith("<image>", user, StringComparison.Ordinal);
            AssertImagesFollowExamples(r, [.. r.GetProperty("images").EnumerateArray().Select(i => i.GetString()!)], imageOf);
        }
    }

    [Fact]
    public async Task OpenAi_Interleaves_Each_Examples_Image_And_Text_Then_The_Query()
    {
        var imageOf = await ImagesById();
        var built = await SurveyBuild.TextVqaAsync("--format", "openai", "--icl-shots", "2", "--image-url-prefix", "https://example.test/", "--meta");

        Assert.Equal(0, built.ExitCode);
        Assert.Equal(5, built.Records.Count);
        foreach (var r in built.Records)
        {
            var parts = r.GetProperty("messages")[0].GetProperty("content").EnumerateArray().ToList();
            Assert.Equal(["image_url", "text", "image_url", "text", "image_url", "text"], parts.Select(p => p.GetProperty("type").GetString()));
            Assert.StartsWith("Answer: ", parts[1].GetProperty("text").GetString()!.Split('\n')[^1], StringComparison.Ordinal);
            var urls = parts.Where(p => p.GetProperty("type").GetString() == "image_url").Select(p => p.GetProperty("image_url").GetProperty("url").GetString()!["https://example.test/".Length..]).ToList();
            AssertImagesFollowExamples(r, urls, imageOf);
        }
    }

    [Fact]
    public async Task OpenAi_Rejects_A_Record_With_More_Than_Ten_Images()
    {
        // Eleven distinct images are needed: COCO captions have 79 images.
        var built = await SurveyBuild.RunAsync(
            "--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--image-root", SurveyBuild.CocoImages,
            "--format", "openai", "--image-url-prefix", "https://example.test/", "--icl-shots", "10", "--allow-empty");

        Assert.Equal(0, built.ExitCode);
        Assert.Empty(built.Records);
        Assert.Equal(395, built.RejectReasons.Length);
        Assert.All(built.RejectReasons, r => Assert.Equal("too-many-images", r));
    }

    [Fact]
    public async Task Template_Uses_The_Icl_Frame_With_Examples_Before_The_Query_In_One_Span()
    {
        var imageOf = await ImagesById();
        var built = await SurveyBuild.TextVqaAsync("--format", "template", "--icl-shots", "2", "--templates", SurveyBuild.VqaPack(), "--suffix", "none");

        Assert.Equal(0, built.ExitCode);
        var r = built.Record("textvqa-q0");
        var examples = SurveyBuild.ExampleIds(r);
        var questions = new Dictionary<string, (string Q, string A)>
        {
            ["textvqa-q0"] = ("what is the brand of phone?", "nokia"),
            ["textvqa-q1"] = ("what type of plane is this?", "lape"),
            ["textvqa-q2"] = ("what are the letters on the tail section of the plane?", "ec-agg"),
            ["textvqa-q3"] = ("who is this copyrighted by?", "simon clancy"),
            ["textvqa-q4"] = ("what does the small white text spell?", "copenhagen"),
        };
        const string I = "Answer the question about the picture in a word or two.";
        var expected = "<BOS> "
            + string.Join("\n", examples.Select(e => $"{I} <image> {questions[e].Q} {questions[e].A}"))
            + $"\n{I} <image> what is the brand of phone? nokia <EOS>";
        Assert.Equal(expected, r.GetProperty("text").GetString());
        AssertImagesFollowExamples(r, [.. r.GetProperty("images").EnumerateArray().Select(i => i.GetString()!)], imageOf);
    }

    [Fact]
    public async Task Same_Seed_Gives_The_Same_Bytes_And_Another_Seed_Another_Choice()
    {
        var a = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--image-root", SurveyBuild.CocoImages, "--format", "llava", "--icl-shots", "2", "--seed", "1");
        var b = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--image-root", SurveyBuild.CocoImages, "--format", "llava", "--icl-shots", "2", "--seed", "1");
        var c = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--image-root", SurveyBuild.CocoImages, "--format", "llava", "--icl-shots", "2", "--seed", "2");

        Assert.Equal(0, a.ExitCode);
        Assert.Equal(395, a.Records.Count);
        Assert.Equal(a.Bytes, b.Bytes);
        var choiceA = a.Records.ToDictionary(SurveyBuild.Id, SurveyBuild.ExampleIds);
        var choiceC = c.Records.ToDictionary(SurveyBuild.Id, SurveyBuild.ExampleIds);
        Assert.True(choiceA.Count(kv => !kv.Value.SequenceEqual(choiceC[kv.Key])) > 300);

        // No example shares the query's image (captions of one image are five records).
        Assert.All(a.Records, r =>
        {
            var images = r.GetProperty("image").EnumerateArray().Select(i => i.GetString()).ToList();
            Assert.Equal(3, images.Distinct().Count());
        });
    }

    [Fact]
    public async Task Similar_Length_Order_Puts_The_Example_Closest_In_Length_Last()
    {
        var built = await SurveyBuild.RunAsync("--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--image-root", SurveyBuild.CocoImages, "--format", "llava", "--icl-shots", "3", "--icl-order", "similar-length");

        Assert.Equal(0, built.ExitCode);
        foreach (var r in built.Records.Take(40))
        {
            Assert.Equal("similar-length", r.GetProperty("meta").GetProperty("icl").GetProperty("order").GetString());
            var blocks = r.GetProperty("conversations")[0].GetProperty("value").GetString()!.Split("\n\n");
            var query = blocks[^1].Length - "<image>\n".Length + r.GetProperty("conversations")[1].GetProperty("value").GetString()!.Length;
            var gaps = blocks[..^1].Select(b => Math.Abs(b.Length - "<image>\n".Length - "\nAnswer: ".Length - query)).ToList();
            Assert.Equal(gaps.OrderByDescending(g => g), gaps);
        }
    }

    [Fact]
    public async Task M3it_With_Icl_Shots_Exits_1_Before_Any_File_Is_Touched()
    {
        var built = await SurveyBuild.TextVqaAsync("--format", "m3it", "--icl-shots", "2");

        Assert.Equal(1, built.ExitCode);
        Assert.Contains("--icl-shots: m3it has no place for in-context examples", built.Result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(built.Out));
    }

    [Fact]
    public async Task Too_Few_Candidates_Make_Rejects_With_A_Reason()
    {
        // Five TextVQA records on four images: no record can get four examples on other images.
        var built = await SurveyBuild.TextVqaAsync("--format", "llava", "--icl-shots", "4", "--allow-empty");

        Assert.Equal(0, built.ExitCode);
        Assert.Empty(built.Records);
        Assert.Equal(Enumerable.Repeat("too-few-examples", 5), built.RejectReasons);
    }

    [Fact]
    public async Task An_Icl_Pool_Of_Built_Shards_Supplies_The_Examples_With_Their_Task()
    {
        var pool = await SurveyBuild.TextVqaAsync("--format", "llava");
        var built = await SurveyBuild.RunAsync(
            "--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--image-root", SurveyBuild.CocoImages,
            "--format", "llava", "--icl-shots", "2", "--icl-pool", pool.Out, "--allow-empty");

        // The pool holds vqa records only: caption queries find no example of their task.
        Assert.Equal(0, built.ExitCode);
        Assert.Empty(built.Records);
        Assert.All(built.RejectReasons, r => Assert.Equal("too-few-examples", r));

        var vqa = await SurveyBuild.TextVqaAsync("--format", "llava", "--icl-shots", "2", "--icl-pool", TestPaths.Shards(pool.Out)[0]);
        Assert.Equal(0, vqa.ExitCode);
        Assert.Equal(5, vqa.Records.Count);
        Assert.All(vqa.Records, r => Assert.All(SurveyBuild.ExampleIds(r), e => Assert.StartsWith("textvqa-q", e, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_Evaluation_Source_Without_A_Pool_Is_Refused()
    {
        var test = TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_test.json");
        var built = await SurveyBuild.RunAsync("--adapter", "textvqa", "--input", $"questions={test}", "--unanswered", "eval", "--format", "llava", "--icl-shots", "2");

        Assert.Equal(1, built.ExitCode);
        Assert.False(Directory.Exists(built.Out));
    }

    [Fact]
    public async Task The_Candidate_Pool_Stays_Bounded_On_The_Okvqa_Train_Questions()
    {
        // 9,009 real OK-VQA questions with an answer each (the annotations file is not among the fixtures).
        var questionsFile = TestPaths.RealFile("okvqa", "OpenEnded_mscoco_train2014_questions.json");
        var questions = JsonNode.Parse(File.ReadAllText(questionsFile))!["questions"]!.AsArray();
        var annotations = new JsonArray();
        foreach (var q in questions)
        {
            var answers = new JsonArray();
            for (var k = 1; k <= 10; k++)
            {
                answers.Add(new JsonObject { ["answer_id"] = k, ["raw_answer"] = "red", ["answer_confidence"] = "yes", ["answer"] = "red" });
            }

            annotations.Add(new JsonObject
            {
                ["image_id"] = q!["image_id"]!.GetValue<long>(), ["answer_type"] = "other", ["question_type"] = "other",
                ["question_id"] = q["question_id"]!.GetValue<long>(), ["answers"] = answers, ["confidence"] = 3,
            });
        }

        var annotationsFile = Path.Combine(TestPaths.NewTempDir(), "mscoco_train2014_annotations.json");
        File.WriteAllText(annotationsFile, new JsonObject { ["annotations"] = annotations }.ToJsonString());
        var spec = new SourceSpec { Adapter = "okvqa", Inputs = new(StringComparer.Ordinal) { ["questions"] = questionsFile, ["annotations"] = annotationsFile } };
        var recipe = new Recipe { IclShots = 2, Sources = [spec] };
        // Candidates pass the steps before the ICL step: the template step gives them their instruction.
        var templates = new TemplateStep(spec, TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates")), recipe.Seed, instructionOnly: false);
        var step = IclStep.For(spec, "okvqa", AdapterRegistry.Get("okvqa"), recipe, MllmData.Formats.FormatRegistry.Get("llava"), [templates], new LoggerConfiguration().CreateLogger())!;

        var pool = await step.FillAsync(CancellationToken.None);

        Assert.Equal(questions.Count, pool.Seen("vqa"));
        Assert.Equal(256, pool.Capacity);
        Assert.Equal(256, pool.Count("vqa"));
        Assert.Equal(256, pool.Total);
    }
}
