using System.Text.Json;

namespace MllmData.Tests.Cli;

public class TheBuildCommand
{
    private static readonly string CocoCaptions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    private static readonly string CocoImages = TestPaths.RealFile("coco-mini", "val2017");

    private static List<JsonElement> ReadShards(string dir) =>
        [.. TestPaths.Shards(dir).Order(StringComparer.Ordinal)
            .SelectMany(File.ReadLines)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public async Task A_Templates_Folder_That_Is_Not_There_Is_A_Usage_Error_After_The_Recipes_Own_Checks_And_Leaves_No_Output()
    {
        // The packs load on another thread while the command line becomes a recipe; what goes wrong there is still
        // reported as it was, and a recipe mistake found first is the one reported.
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var missing = Path.Combine(TestPaths.NewTempDir(), "no-templates-here");
        string[] source = ["build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--templates-dir", missing, "--out", outDir];

        var packs = await CliRunner.RunAsync([.. source, "--format", "llava"]);
        Assert.Equal(1, packs.ExitCode);
        Assert.Contains($"error: templates folder '{missing}' does not exist", packs.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));

        var recipe = await CliRunner.RunAsync([.. source, "--format", "no-such-format"]);
        Assert.Equal(1, recipe.ExitCode);
        Assert.Contains("--format (format) must be one of", recipe.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("templates folder", recipe.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Should_Build_One_Record_Per_Caption_From_Real_Coco_Mini()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--image-root", CocoImages, "--format", "llava", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var records = ReadShards(outDir);
        Assert.Equal(395, records.Count);
        Assert.Equal(395, records.Select(x => x.GetProperty("id").GetString()).Distinct().Count());
        foreach (var rec in records)
        {
            var image = rec.GetProperty("image").GetString()!;
            Assert.True(File.Exists(Path.Combine(CocoImages, image)), image);
            var conv = rec.GetProperty("conversations");
            Assert.Equal(2, conv.GetArrayLength());
            Assert.Equal("human", conv[0].GetProperty("from").GetString());
            Assert.StartsWith("<image>\n", conv[0].GetProperty("value").GetString(), StringComparison.Ordinal);
            Assert.Equal("gpt", conv[1].GetProperty("from").GetString());
        }

        // Annotation 221865 is the first caption in the file; its text must come through trimmed and intact.
        var first = records.Single(x => x.GetProperty("id").GetString() == "coco-captions-c221865");
        Assert.Equal("000000205401.jpg", first.GetProperty("image").GetString());
        Assert.Equal("A plane floating on top of a lake surrounded by mountains.", first.GetProperty("conversations")[1].GetProperty("value").GetString());

        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "manifest.json"))).RootElement;
        Assert.Equal(395, manifest.GetProperty("records").GetInt64());
        Assert.Equal("1e7ca2a0d0ebe94d60ada0747bf9ba0accac281785dfdba771b2d47b0b11e135", manifest.GetProperty("inputs")[0].GetProperty("sha256").GetString());
        Assert.Empty(File.ReadAllText(Path.Combine(outDir, "rejects.jsonl")));
    }

    [Fact]
    public async Task Should_Build_One_Record_Per_Image_With_Other_Captions_In_Provenance()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--per-image", "--image-root", CocoImages, "--format", "llava", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var records = ReadShards(outDir);
        Assert.Equal(79, records.Count);
        Assert.All(records, rec => Assert.True(File.Exists(Path.Combine(CocoImages, rec.GetProperty("image").GetString()!))));
        var plane = records.Single(x => x.GetProperty("id").GetString() == "coco-captions-img205401");
        var others = plane.GetProperty("meta").GetProperty("extra").GetProperty("other_captions");
        Assert.Equal(4, others.GetArrayLength());
        Assert.Equal("A plane floating on top of a lake surrounded by mountains.", plane.GetProperty("conversations")[1].GetProperty("value").GetString());
        var totalCaptions = records.Sum(x => 1 + x.GetProperty("meta").GetProperty("extra").GetProperty("other_captions").GetArrayLength());
        Assert.Equal(395, totalCaptions);
    }

    [Fact]
    public async Task Should_Split_Into_Shards_Named_With_Their_Total()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--format", "template", "--shard-records", "100", "--name", "coco", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var names = Directory.GetFiles(outDir, "*.jsonl", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(outDir, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["data/coco-00000-of-00004.jsonl", "data/coco-00001-of-00004.jsonl", "data/coco-00002-of-00004.jsonl", "data/coco-00003-of-00004.jsonl", "rejects.jsonl"], names);
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "manifest.json"))).RootElement;
        var shards = manifest.GetProperty("shards").EnumerateArray().ToList();
        Assert.Equal([100L, 100, 100, 95], shards.Select(s => s.GetProperty("records").GetInt64()));
        foreach (var s in shards)
        {
            var bytes = File.ReadAllBytes(Path.Combine(outDir, s.GetProperty("path").GetString()!));
            Assert.Equal(s.GetProperty("bytes").GetInt64(), bytes.Length);
            Assert.Equal(s.GetProperty("sha256").GetString(), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        }

        Assert.Empty(Directory.GetFiles(outDir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Should_Stop_With_A_Clear_Message_On_Okvqa_Questions_Without_Annotations()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json")}", "--format", "llava", "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no --input annotations=FILE", r.Error, StringComparison.Ordinal);
        Assert.Contains("--unanswered eval", r.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    [Theory]
    [InlineData("llava")]
    [InlineData("template")]
    [InlineData("sharegpt")]
    public async Task Should_Refuse_Question_Only_Records_In_Every_Format_Before_Writing(string format)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json")}", "--unanswered", "eval", "--format", format, "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal(
            $"error: --unanswered eval (source 'vqav2') makes question-only records, which never go into a training format such as {format}: leave out --format (format) to write an evaluation set (LLaVA question files and answers.jsonl), or build a split that has answers\n",
            r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Should_Give_Byte_Identical_Output_For_The_Same_Recipe_And_Seed()
    {
        var a = TestPaths.NewTempDir();
        var b = TestPaths.NewTempDir();
        var recipe = Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml");
        foreach (var dir in new[] { a, b })
        {
            var run = await CliRunner.RunAsync("build", "--recipe", recipe, "--out", dir);
            Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Error}");
        }

        var files = Directory.GetFiles(a).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files, Directory.GetFiles(b).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        Assert.Contains("manifest.json", files);
        foreach (var f in files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, f!)), File.ReadAllBytes(Path.Combine(b, f!)));
        }
    }

    [Fact]
    public async Task Should_Mix_Templates_Differently_For_Another_Seed()
    {
        static async Task<List<string>> TemplatesUsed(string seed)
        {
            var dir = TestPaths.NewTempDir();
            var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--format", "llava", "--seed", seed, "--out", dir);
            Assert.Equal(0, r.ExitCode);
            return [.. ReadShards(dir).Select(x => x.GetProperty("meta").GetProperty("templates")[0].GetString()!)];
        }

        var seed1 = await TemplatesUsed("1");
        var seed1Again = await TemplatesUsed("1");
        var seed2 = await TemplatesUsed("2");
        Assert.Equal(seed1, seed1Again);
        Assert.NotEqual(seed1, seed2);

        // Both seeds draw on most of the pack, not a handful of templates.
        Assert.True(seed1.Distinct().Count() >= 12, $"only {seed1.Distinct().Count()} templates used");
        Assert.True(seed1.Zip(seed2).Count(p => p.First != p.Second) > 300);
    }

    [Fact]
    public async Task Should_List_Adapters_With_Their_Inputs()
    {
        var r = await CliRunner.RunAsync("sources");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("vqav2", r.Output, StringComparison.Ordinal);
        Assert.Contains("--input questions=FILE  (required)", r.Output, StringComparison.Ordinal);
        Assert.Contains("--input annotations=FILE  (optional)", r.Output, StringComparison.Ordinal);
        Assert.Contains("coco-captions", r.Output, StringComparison.Ordinal);
        Assert.Contains("--input captions=FILE  (required)", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Exit_1_On_Usage_Errors()
    {
        var outDir = TestPaths.NewTempDir();
        Assert.Equal(1, (await CliRunner.RunAsync("build", "--adapter", "nope", "--input", "x=y", "--out", outDir)).ExitCode);
        Assert.Equal(1, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", "questions", "--out", outDir)).ExitCode);
        Assert.Equal(1, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--format", "parquet", "--out", outDir)).ExitCode);
        Assert.Equal(1, (await CliRunner.RunAsync("build", "--bogus-flag")).ExitCode);
        Assert.Empty(Directory.GetFiles(outDir));
    }
}
