using System.Text.Json;

namespace MllmData.Tests.Cli;

/// <summary>Issue #10, "honest exits": a wrong setting is exit 1 before any file is touched; an empty source is exit 2.</summary>
public class TheHonestExits
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    /// <summary>An --out that does not exist yet, so a test can tell whether the command made it.</summary>
    private static string FreshOut() => Path.Combine(TestPaths.NewTempDir(), "out");

    public static TheoryData<string[], string> BadBuildSettings() => new()
    {
        { ["--adapter", "nocaps", "--input", $"captions={Captions}", "--domain", "out_domain"], "--domain (source 'nocaps') takes a comma-separated list of in-domain, near-domain, out-domain; 'out_domain' is not one of them" },
        { ["--adapter", "karpathy", "--input", $"dataset={Captions}", "--splits", "train,tset"], "--splits (source 'karpathy') takes a comma-separated list of train, val, test, restval; 'tset' is not one of them" },
        { ["--adapter", "scienceqa", "--input", $"problems={Captions}", "--split", "tset"], "--split (source 'scienceqa') must be one of train, val, test, trainval, minitrain, minival, minitest, got 'tset'" },
        { ["--adapter", "scienceqa", "--input", $"problems={Captions}", "--split", "minitest"], "--split (source 'scienceqa') needs --input splits=FILE for 'minitest', which only that file lists" },
        { ["--adapter", "vqav2", "--input", $"questions={Captions}", "--answer", "best"], "--answer (source 'vqav2') must be one of mc, majority, got 'best'" },
        { ["--adapter", "vqav2", "--input", $"questions={Captions}", "--max-turns", "0"], "--max-turns (source 'vqav2') must be a whole number from 1 to 1000, got '0'" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--per-image", "maybe"], "--per-image (source 'coco-captions') must be one of true, false, yes, no, 1, 0, got 'maybe'" },
        { ["--adapter", "gqa", "--input", $"questions={Captions}", "--image-pattern", "images/%0999d.jpg"], "--image-pattern (source 'gqa') pads the image id to more than 20 digits: 'images/%0999d.jpg'" },
        { ["--adapter", "gqa", "--input", $"questions={Captions}", "--image-pattern", "../%s.jpg"], "--image-pattern (source 'gqa') must be a relative path under --image-root, without '..': '../%s.jpg'" },
        { ["--adapter", "textvqa", "--input", $"questions={Captions}", "--image-pattern", "images.jpg"], "--image-pattern (source 'textvqa') has no %d, %0Nd or %s for the image id: 'images.jpg'" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--decode-timeout", "-1"], "--decode-timeout (images.decode_timeout) must be more than 0 and at most 3600 seconds, got -1" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--decode-timeout", "0"], "--decode-timeout (images.decode_timeout) must be more than 0 and at most 3600 seconds, got 0" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--shard-records", "0"], "--shard-records (shard_records) must be from 1 to 100000000, got 0" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--shard-bytes", "-1"], "--shard-bytes (shard_bytes) must be 0 (no bound) or more, got -1" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--jpeg-quality", "101"], "--jpeg-quality (images.jpeg_quality) must be from 1 to 100, got 101" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--max-side", "20000"], "--max-side (images.max_side) must be from 1 to 16384, got 20000" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--center-crop", "10000"], "--center-crop (images.center_crop) must be from 1 to 6324, got 10000" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--allocation-limit-mb", "0"], "--allocation-limit-mb (images.allocation_limit_mb) must be from 1 to 16384, got 0" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--name", "a/b"], "--name (name) must hold only letters, digits, '.', '_' and '-', got 'a/b' ('/': a name is not a path)" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--name", ".."], "--name (name) must not start with '.' or '-' or contain '..', got '..'" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--source-name", "my data"], "source name (--source-name, sources[].name) must hold only letters, digits, '.', '_' and '-', got 'my data' (a space)" },
        { ["--adapter", "coco-captions", "--input", $"captions={Captions}", "--format", "alpaca"], "--format (format) must be one of llava, sharegpt, swift, openai, template, m3it, got 'alpaca'" },
        { ["--adapter", "okvqa", "--input", $"questions={Captions}", "--unanswered", "eval", "--format", "template"], "--unanswered eval (source 'okvqa') makes question-only records, which never go into a training format such as template: leave out --format (format) to write an evaluation set (LLaVA question files and answers.jsonl), or build a split that has answers" },
    };

    [Theory]
    [MemberData(nameof(BadBuildSettings))]
    public async Task A_Bad_Build_Setting_Is_Exit_1_With_One_Line_And_No_Output_Folder(string[] args, string expected)
    {
        var outDir = FreshOut();
        var r = await CliRunner.RunAsync(["build", "--out", outDir, .. args]);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {expected}\n", r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    public static TheoryData<string[], string> BadModelSettings() => new()
    {
        { ["rewrite", "--in", "build", "--timeout", "0"], "--timeout (rewrite.timeout) must be more than 0 and at most 86400 seconds, got 0" },
        { ["rewrite", "--in", "build", "--deadline", "-5"], "--deadline (rewrite.deadline) must be more than 0 and at most 604800 seconds, got -5" },
        { ["rewrite", "--in", "build", "--concurrency", "0"], "--concurrency (rewrite.concurrency) must be from 1 to 1000, got 0" },
        { ["rewrite", "--in", "build", "--rpm", "-1"], "--rpm (rewrite.rpm) must be from 0 to 10000000, got -1" },
        { ["rewrite", "--in", "build", "--max-requests", "0"], "--max-requests (rewrite.max_requests) must be from 1 to 9223372036854775807, got 0" },
        { ["rewrite", "--in", "build", "--max-output-tokens", "0"], "--max-output-tokens (rewrite.max_output_tokens) must be from 1 to 1000000, got 0" },
        { ["rewrite", "--in", "build", "--max-answer-words", "0"], "--max-answer-words (rewrite.max_answer_words) must be from 1 to 1000, got 0" },
        { ["self-instruct", "--per-image", "0"], "--per-image (self_instruct.per_image) must be from 1 to 100, got 0" },
        { ["self-instruct", "--temperature", "3"], "--temperature (self_instruct.temperature) must be from 0 to 2, got 3" },
        { ["self-instruct", "--kinds", "conversation,chat"], "--kinds (self_instruct.kinds) takes a list of conversation, detail, complex, tool-use, got 'conversation,chat'" },
        { ["self-instruct", "--name", "my set"], "--name (name) must hold only letters, digits, '.', '_' and '-', got 'my set' (a space)" },
    };

    [Theory]
    [MemberData(nameof(BadModelSettings))]
    public async Task A_Bad_Model_Setting_Is_Exit_1_Before_Any_Call_Or_File(string[] args, string expected)
    {
        var outDir = FreshOut();
        var r = await CliRunner.RunAsync([.. args, "--out", outDir]);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {expected}\n", r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Source_Flags_Beside_A_Recipe_Are_Named_And_Refused()
    {
        var dir = TestPaths.NewTempDir();
        var recipe = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(recipe, $"sources:\n  - adapter: coco-captions\n    inputs: {{captions: {Captions}}}\n");
        var outDir = FreshOut();

        var r = await CliRunner.RunAsync("build", "--recipe", recipe, "--image-root", dir, "--answer", "majority", "--templates", "vqa-short", "--seed", "3", "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: --image-root, --templates, --answer are source settings that --recipe does not take: set them in the recipe's source instead\n", r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    /// <summary>VQA-layout files whose image ids are words, which the default numeric image pattern cannot fill.</summary>
    private static (string Questions, string Annotations) WordImageIds(string dir)
    {
        var q = Path.Combine(dir, "questions.json");
        var a = Path.Combine(dir, "annotations.json");
        File.WriteAllText(q, """{"questions":[{"image_id":"n1","question":"What is it?","question_id":1},{"image_id":"n2","question":"Why?","question_id":2}]}""");
        File.WriteAllText(a, """{"annotations":[{"question_id":1,"image_id":"n1","multiple_choice_answer":"cat","answers":[{"answer":"cat"}]},{"question_id":2,"image_id":"n2","multiple_choice_answer":"no","answers":[{"answer":"no"}]}]}""");
        return (q, a);
    }

    [Fact]
    public async Task A_Source_Of_Zero_Records_Is_Exit_2_With_Its_Most_Common_Reject_And_The_Hint()
    {
        var dir = TestPaths.NewTempDir();
        var (q, a) = WordImageIds(dir);
        var outDir = FreshOut();

        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--out", outDir);

        Assert.Equal(2, r.ExitCode);
        var error = r.Error.Split('\n').Single(l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Equal(
            $"error: source 'vqav2' yielded no records from annotations={a}, questions={q}: 2 rejects, most often unknown-image (2), first at questions[0] (byte 14): "
            + "image_id 'n1' does not fit the numeric image pattern 'COCO_<split>_%012d.jpg'; pass --image-pattern with %s; "
            + "hint: the image ids do not fit the image pattern; ids that are not numbers need --image-pattern with %s; pass --allow-empty to accept an empty source"
            + $" (the output folder was left as it was; this build's files, rejects.jsonl among them, are in {Path.Combine(outDir, ".staging")})",
            error);

        // Nothing is promoted; the rejects stay staged to be read.
        Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, ".staging", "rejects.jsonl")).Length);

        var allowed = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--allow-empty", "--out", FreshOut());
        Assert.Equal(0, allowed.ExitCode);

        var fixedPattern = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--image-pattern", "%s.jpg", "--out", FreshOut());
        Assert.Equal(0, fixedPattern.ExitCode);
    }

    [Fact]
    public async Task A_Build_That_Fails_For_An_Empty_Source_Leaves_The_Previous_Output_As_It_Was()
    {
        var dir = TestPaths.NewTempDir();
        var (q, a) = WordImageIds(dir);
        var outDir = FreshOut();
        var good = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--image-pattern", "%s.jpg", "--out", outDir);
        Assert.Equal(0, good.ExitCode);
        var before = Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f => (f, File.ReadAllText(f))).ToList();
        Assert.Contains(before, f => f.f.EndsWith("manifest.json", StringComparison.Ordinal));

        // The same questions with the numeric default pattern: every record is rejected, the build fails.
        var failed = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--out", outDir);
        Assert.Equal(2, failed.ExitCode);

        var after = Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Where(f => !f.Contains(Path.DirectorySeparatorChar + ".staging" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Select(f => (f, File.ReadAllText(f))).ToList();
        Assert.Equal(before, after);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, ".staging", "rejects.jsonl")).Length);
        Assert.False(File.Exists(Path.Combine(outDir, ".lock")));
    }

    [Fact]
    public async Task A_Recipe_With_One_Empty_Source_Fails_Naming_That_Source_Unless_It_Allows_Empty()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "empty.json"), """{"images": [], "annotations": []}""");
        var recipe = $"sources:\n  - name: coco\n    adapter: coco-captions\n    inputs: {{captions: {Captions}}}\n  - name: nothing\n    adapter: coco-captions\n    inputs: {{captions: empty.json}}\n";
        File.WriteAllText(Path.Combine(dir, "recipe.yaml"), recipe);
        File.WriteAllText(Path.Combine(dir, "allowing.yaml"), "allow_empty: true\n" + recipe);

        var outDir = FreshOut();
        var r = await CliRunner.RunAsync("build", "--recipe", Path.Combine(dir, "recipe.yaml"), "--out", outDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(
            $"error: source 'nothing' yielded no records from captions={Path.Combine(dir, "empty.json")} and rejected none: the input holds no items, or none that its options select (--split, --splits, --domain); pass --allow-empty to accept an empty source"
            + $" (the output folder was left as it was; this build's files, rejects.jsonl among them, are in {Path.Combine(outDir, ".staging")})",
            r.Error.Split('\n').Single(l => l.StartsWith("error: ", StringComparison.Ordinal)));

        var allowed = await CliRunner.RunAsync("build", "--recipe", Path.Combine(dir, "allowing.yaml"), "--out", FreshOut());
        Assert.Equal(0, allowed.ExitCode);
        var flag = await CliRunner.RunAsync("build", "--recipe", Path.Combine(dir, "recipe.yaml"), "--allow-empty", "--out", FreshOut());
        Assert.Equal(0, flag.ExitCode);
    }

    [Fact]
    public async Task A_Flag_Build_Shows_Inputs_Outside_The_Working_Folder_By_File_Name()
    {
        var outDir = FreshOut();
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "manifest.json"))).RootElement;
        Assert.Equal("captions_val2017.json", manifest.GetProperty("inputs")[0].GetProperty("path").GetString());
        var first = JsonDocument.Parse(File.ReadLines(TestPaths.Shards(outDir).Single()).First()).RootElement;
        Assert.Equal("captions_val2017.json", first.GetProperty("meta").GetProperty("file").GetString());
    }
}
