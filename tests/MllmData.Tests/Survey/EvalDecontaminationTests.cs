using System.Text.Json;

namespace MllmData.Tests.Survey;

/// <summary>Issue #12 §5: <c>--exclude</c> drops exactly the training records that share an image or a question with an evaluation set.</summary>
public class TheDecontamination
{
    private static readonly string OkVqaVal = TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json");
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    private static async Task<string> OkVqaEvalSet(string dir)
    {
        var evalDir = Path.Combine(dir, "okvqa-eval");
        var r = await CliRunner.RunAsync("build", "--adapter", "okvqa", "--input", $"questions={OkVqaVal}", "--unanswered", "eval", "--out", evalDir);
        Assert.Equal(0, r.ExitCode);
        return evalDir;
    }

    private static List<JsonElement> Lines(string file) =>
        File.Exists(file) ? [.. File.ReadLines(file).Select(l => JsonDocument.Parse(l).RootElement.Clone())] : [];

    [Theory]
    [InlineData("folder")]
    [InlineData("manifest")]
    [InlineData("answers")]
    public async Task Coco_Captions_Of_Images_In_The_Okvqa_Evaluation_Set_Are_Dropped_And_Counted(string given)
    {
        var dir = TestPaths.NewTempDir();
        var evalDir = await OkVqaEvalSet(dir);
        var exclude = given switch
        {
            "folder" => evalDir,
            "manifest" => Path.Combine(evalDir, "manifest.json"),
            _ => Path.Combine(evalDir, "answers.jsonl"),
        };

        // Expected from the two source files alone: COCO 2017 keeps the 2014 image ids, so a caption of an image
        // that an OK-VQA val question asks about is contaminated.
        using var okvqa = JsonDocument.Parse(File.ReadAllBytes(OkVqaVal));
        var evalImages = okvqa.RootElement.GetProperty("questions").EnumerateArray().Select(q => q.GetProperty("image_id").GetInt64()).ToHashSet();
        using var captions = JsonDocument.Parse(File.ReadAllBytes(Captions));
        var annotations = captions.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        var expected = annotations.Where(a => evalImages.Contains(a.GetProperty("image_id").GetInt64())).Select(a => $"coco-captions-c{a.GetProperty("id").GetInt64()}").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);

        var outDir = Path.Combine(dir, "train");
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--exclude", exclude, "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var rejects = Lines(Path.Combine(outDir, "rejects.jsonl"));
        Assert.All(rejects, x => Assert.Equal("contaminated", x.GetProperty("reason").GetString()));
        Assert.Equal(expected, rejects.Select(x => x.GetProperty("position").GetString()!).Order(StringComparer.Ordinal));
        var written = TestPaths.Shards(outDir).SelectMany(Lines).Select(x => x.GetProperty("id").GetString()).ToList();
        Assert.Equal(annotations.Count - expected.Count, written.Count);
        Assert.Empty(written.Intersect(expected));

        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        var d = manifest.RootElement.GetProperty("decontamination");
        Assert.Equal((expected.Count, 0), (d.GetProperty("excluded_by_image").GetInt32(), d.GetProperty("excluded_by_question").GetInt32()));
        Assert.Equal(5046, d.GetProperty("sets")[0].GetProperty("questions").GetInt32());
        Assert.Equal(expected.Count, manifest.RootElement.GetProperty("rejects_by_reason").GetProperty("contaminated").GetInt32());
    }

    [Fact]
    public async Task A_Training_Question_Equal_To_An_Evaluation_Question_After_Normalisation_Is_Dropped()
    {
        var dir = TestPaths.NewTempDir();
        var evalDir = await OkVqaEvalSet(dir);

        // Three crafted training rows: the eval set's first question with other case, spacing and punctuation;
        // a question it does not hold; and an image file name from the eval set with a new question.
        var train = Path.Combine(dir, "train.jsonl");
        File.WriteAllLines(train,
        [
            """{"id": "r1", "image": "x/a.jpg", "q": "  what SPORT can you use this for ", "a": "tennis"}""",
            """{"id": "r2", "image": "x/b.jpg", "q": "What sport is played on grass?", "a": "cricket"}""",
            """{"id": "r3", "image": "coco/COCO_val2014_000000297147.jpg", "q": "Is it sunny?", "a": "yes"}""",
        ]);
        var outDir = Path.Combine(dir, "train-out");
        var r = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={train}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", "--map", "id=id", "--exclude", evalDir, "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var rejects = Lines(Path.Combine(outDir, "rejects.jsonl"));
        Assert.Equal(
            [("contaminated", "question \"what SPORT can you use this for\" is in the evaluation set"), ("contaminated", "image COCO_val2014_000000297147.jpg is in the evaluation set")],
            rejects.Select(x => (x.GetProperty("reason").GetString(), x.GetProperty("detail").GetString())));
        Assert.Equal(["jsonl-r2"], TestPaths.Shards(outDir).SelectMany(Lines).Select(x => x.GetProperty("id").GetString()));
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        var d = manifest.RootElement.GetProperty("decontamination");
        Assert.Equal((1, 1), (d.GetProperty("excluded_by_image").GetInt32(), d.GetProperty("excluded_by_question").GetInt32()));
    }

    [Fact]
    public async Task An_Image_Id_Of_Another_Benchmark_Never_Matches_A_Coco_Id()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");

        // A GQA-style question about image id 397133, the id of a coco-mini image: not the same image.
        File.WriteAllText(answers, """{"question_id": 1, "answers": ["yes"], "question": "Is there a cat?", "image": "images/397133.jpg", "image_id": "397133", "adapter": "gqa"}""" + "\n");
        var outDir = Path.Combine(dir, "train");
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--exclude", answers, "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        Assert.False(File.Exists(Path.Combine(outDir, "rejects.jsonl")) && File.ReadAllText(Path.Combine(outDir, "rejects.jsonl")).Length > 0);
    }
}
