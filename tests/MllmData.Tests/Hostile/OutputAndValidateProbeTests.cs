using System.Text;
using System.Text.Json;

namespace MllmData.Tests.Hostile;

/// <summary>
/// A second hostile probe: an --out that holds someone else's files or the images, names and folders that crashed a run,
/// image names that were quietly changed, and files that validate called clean although a build refuses them.
/// </summary>
public class TheSecondProbe
{
    private static readonly string Questions = Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_OpenEnded_mscoco_train2014_questions.json");
    private static readonly string Annotations = Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_mscoco_train2014_annotations.json");

    private static Task<CliRunner.Result> BuildVqa(string outDir, params string[] extra) =>
        CliRunner.RunAsync(["build", "--adapter", "vqav2", "--input", $"questions={Questions}", "--input", $"annotations={Annotations}", "--format", "llava", "--out", outDir, .. extra]);

    private static string Write(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("data/mine.txt")]
    [InlineData("images/top.jpg")]
    [InlineData("README.md")]
    [InlineData("dataset_info.json")]
    public async Task Refuses_A_Folder_That_Is_No_Build_Output_But_Holds_What_A_Build_Replaces(string file)
    {
        var outDir = TestPaths.NewTempDir();
        var mine = Write(outDir, file, "the user's own file");

        var r = await BuildVqa(outDir);

        // Refused before anything is written, as an --out over the inputs is.
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("this folder is not an earlier build's output (it has no manifest.json), but a build would delete or replace", r.Error, StringComparison.Ordinal);
        Assert.Equal("the user's own file", File.ReadAllText(mine));
        Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));
    }

    [Fact]
    public async Task Writes_Beside_Other_Files_And_Rebuilds_Its_Own_Output()
    {
        var outDir = TestPaths.NewTempDir();
        var notes = Write(outDir, "notes.txt", "kept");

        var first = await BuildVqa(outDir);
        var again = await BuildVqa(outDir);

        Assert.True(first.ExitCode == 0, first.Error);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Equal("kept", File.ReadAllText(notes));
        Assert.Single(TestPaths.Shards(outDir));
    }

    [Fact]
    public async Task Refuses_An_Out_That_Is_Or_Holds_The_Image_Root()
    {
        var root = TestPaths.NewTempDir();
        var image = Path.Combine(root, "COCO_train2014_000000000101.jpg");
        File.Copy(Path.Combine(TestPaths.RepoRoot, "samples", "images", "COCO_train2014_000000000101.jpg"), image);

        var same = await BuildVqa(root, "--image-root", root);
        Assert.Equal(1, same.ExitCode);
        Assert.Contains($"writing here would replace or delete the input {root}", same.Error, StringComparison.Ordinal);

        var outer = TestPaths.NewTempDir();
        var inside = Path.Combine(outer, "images");
        Directory.CreateDirectory(inside);
        var r = await BuildVqa(outer, "--image-root", inside);
        Assert.Equal(1, r.ExitCode);
        Assert.True(File.Exists(image));
    }

    [Fact]
    public async Task An_Empty_Out_Or_A_Non_Ascii_Name_Is_A_Usage_Error_Not_A_Crash()
    {
        var empty = await BuildVqa("");
        Assert.Equal(1, empty.ExitCode);
        Assert.Equal("error: --out: give a folder (the value is empty)\n", empty.Error);

        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var accented = await BuildVqa(outDir, "--name", "é");
        Assert.Equal(1, accented.ExitCode);
        Assert.Contains("--name (name) must hold only ASCII letters, digits, '.', '_' and '-' (it names the shard files), got 'é'", accented.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", accented.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Stats_Names_A_Shard_The_Manifest_Lists_But_The_Folder_Lacks()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        Assert.Equal(0, (await BuildVqa(outDir)).ExitCode);
        var shard = TestPaths.Shards(outDir).Single();
        File.Delete(shard);

        var r = await CliRunner.RunAsync("stats", outDir);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"shards: missing-shard: the manifest lists data/{Path.GetFileName(shard)}, which is not in the folder", r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", r.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"r\\ud800d\"", "invalid-utf8")] // a lone surrogate escape: crashed validate
    [InlineData("\"r\\u0000d\"", "control-characters")] // a build rejects it; validate called it clean
    public async Task Validate_Finds_Text_A_Build_Refuses(string answer, string code)
    {
        var dir = TestPaths.NewTempDir();
        var file = Write(dir, "bad.jsonl", $$"""{"id":"a","image":"a.jpg","conversations":[{"from":"human","value":"<image>\nWhat?"},{"from":"gpt","value":{{answer}}}]}""" + "\n");

        var r = await CliRunner.RunAsync("validate", "--format", "llava", file);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(code, r.Output + r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", r.Output + r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_Finds_Bytes_That_Are_Not_Utf8()
    {
        var dir = TestPaths.NewTempDir();
        var good = """{"id":"a","image":"a.jpg","conversations":[{"from":"human","value":"<image>\nWhat?"},{"from":"gpt","value":"cat"}]}""";
        var bytes = Encoding.UTF8.GetBytes(good + "\n" + good.Replace("cat", "c#t", StringComparison.Ordinal) + "\n");
        bytes[Array.LastIndexOf(bytes, (byte)'#')] = 0xFF;
        var file = Path.Combine(dir, "bad8.jsonl");
        File.WriteAllBytes(file, bytes);

        var r = await CliRunner.RunAsync("validate", "--format", "llava", file);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("invalid-utf8", r.Output + r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_Image_Name_Is_Kept_As_Written_And_One_That_Ends_As_A_Folder_Is_Refused()
    {
        var dir = TestPaths.NewTempDir();
        var root = Path.Combine(dir, "root");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "sp.jpg"), "not this one");
        File.WriteAllText(Path.Combine(root, "sp.jpg "), "this one");
        var rows = Write(dir, "rows.jsonl", string.Join("\n",
            """{"img":"sp.jpg ","q":"One?","a":"1"}""",
            """{"img":"sp.jpg/","q":"Two?","a":"2"}""",
            """{"img":"sp.jpg/.","q":"Three?","a":"3"}"""));
        var outDir = Path.Combine(dir, "out");

        var r = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--image-root", root, "--format", "llava", "--out", outDir);

        Assert.True(r.ExitCode == 0, r.Error);
        var record = JsonDocument.Parse(File.ReadLines(TestPaths.Shards(outDir).Single()).Single()).RootElement;
        Assert.Equal("sp.jpg ", record.GetProperty("image").GetString());
        var rejects = File.ReadLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["bad-image-path", "bad-image-path"], rejects.Select(x => x.GetProperty("reason").GetString()));
        Assert.Equal("image path 'sp.jpg/' ends as a folder does ('/' or '/.'): no file can be opened by it", rejects[0].GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("sharegpt", "Q <video>?", "1", "<video>")]
    [InlineData("sharegpt", "Q?", "<audio>", "<audio>")]
    [InlineData("swift", "Where is the <ref-object>?", "1", "<ref-object>")]
    [InlineData("swift", "Q?", "<bbox>", "<bbox>")]
    public async Task Rejects_Text_Holding_A_Tag_The_Formats_Trainer_Fills_With_Media(string format, string question, string answer, string tag)
    {
        var dir = TestPaths.NewTempDir();
        var rows = Write(dir, "rows.jsonl", JsonSerializer.Serialize(new Dictionary<string, string> { ["img"] = "a.jpg", ["q"] = question, ["a"] = answer }) + "\n"
            + """{"img":"b.jpg","q":"Fine?","a":"yes"}""" + "\n");
        var outDir = Path.Combine(dir, "out");

        var r = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--format", format, "--out", outDir);

        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Single(File.ReadLines(TestPaths.Shards(outDir).Single()));
        var reject = JsonDocument.Parse(File.ReadLines(Path.Combine(outDir, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal("literal-media-tag", reject.GetProperty("reason").GetString());
        Assert.Equal($"turn 1: dataset text contains {tag}, a tag this format's trainer fills with media or objects the record does not have", reject.GetProperty("detail").GetString());

        // LLaVA's trainer reads no such tags: the same text is kept there.
        var llava = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", Path.Combine(dir, "llava"));
        Assert.True(llava.ExitCode == 0, llava.Error);
        Assert.Equal(2, File.ReadLines(TestPaths.Shards(Path.Combine(dir, "llava")).Single()).Count());
    }

    [Fact]
    public async Task A_Jsonl_File_Whose_Lines_End_In_A_Lone_Cr_Stops_Instead_Of_Losing_Records()
    {
        var dir = TestPaths.NewTempDir();
        var rows = Write(dir, "cr.jsonl", string.Join("\r",
            """{"img":"a.jpg","q":"One?","a":"1"}""",
            """{"img":"b.jpg","q":"Two?","a":"2"}""",
            """{"img":"c.jpg","q":"Three?","a":"3"}"""));

        var r = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", Path.Combine(dir, "out"));

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{rows}: line 1: cr-line-ends: lines end in a carriage return alone (CR)", r.Error, StringComparison.Ordinal);

        // CR LF stays a line end, and a record that is merely broken stays a not-json reject.
        var crlf = Write(dir, "crlf.jsonl", "{\"img\":\"a.jpg\",\"q\":\"One?\",\"a\":\"1\"}\r\n{\"img\":\"b.jpg\" \"q\":\"Two?\"}\r\n");
        var ok = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={crlf}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", Path.Combine(dir, "out2"));
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.Equal("not-json", JsonDocument.Parse(File.ReadLines(Path.Combine(dir, "out2", "rejects.jsonl")).Single()).RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Json_Nested_Past_The_Readers_Bound_Says_So_Instead_Of_Invalid_Json()
    {
        var dir = TestPaths.NewTempDir();
        var deep = new string('[', 70) + new string(']', 70);
        var q = Write(dir, "questions.json", $$"""{"questions":[{"image_id":1,"question":"Is it red?","question_id":1,"x":{{deep}}}]}""");

        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={Annotations}", "--format", "llava", "--out", Path.Combine(dir, "out"));

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{q}: byte ", r.Error, StringComparison.Ordinal);
        Assert.Contains(": too-deep: a value nests more than 64 arrays and objects deep", r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("invalid JSON", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Folder_Or_A_Missing_File_Given_As_An_Input_Is_Named_As_Such()
    {
        var dir = TestPaths.NewTempDir();
        var nowhere = Path.Combine(dir, "nonexist.json");

        // Without annotations the questions file is still the first thing checked: it is not there.
        var missing = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={nowhere}", "--format", "llava", "--out", Path.Combine(dir, "out"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains($"{nowhere}: -: missing-file: no such file", missing.Error, StringComparison.Ordinal);

        var folder = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={dir}", "--input", $"annotations={Annotations}", "--format", "llava", "--out", Path.Combine(dir, "out"));
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains($"{dir}: -: not-a-file: is a folder, not a file: name a file in it", folder.Error, StringComparison.Ordinal);

        var validate = await CliRunner.RunAsync("validate", "--format", "llava", dir);
        Assert.Contains("not-a-file: is a folder, not a file", validate.Error, StringComparison.Ordinal);

        // A build's own folder stands for the shards its manifest lists.
        var built = Path.Combine(TestPaths.NewTempDir(), "built");
        Assert.Equal(0, (await BuildVqa(built, "--shard-records", "3")).ExitCode);
        var whole = await CliRunner.RunAsync("validate", "--format", "llava", built, "--json");
        Assert.True(whole.ExitCode == 0, whole.Error);
        using (var report = JsonDocument.Parse(whole.Output))
        {
            Assert.Equal(TestPaths.Shards(built).Length, report.RootElement.GetProperty("files").GetArrayLength());
        }

        var score = await CliRunner.RunAsync("score", "--answers", dir, "--predictions", nowhere, "--metric", "vqa");
        Assert.Equal(2, score.ExitCode);
        Assert.Contains($"{dir}: -: not-a-file: is a folder, not a file: name a file in it (an evaluation build's answers.jsonl, say)", score.Error, StringComparison.Ordinal);
        // A folder that is not what rewrite, batch or stats reads is a data error too, named by the file it lacks.
        var notBuilt = TestPaths.NewTempDir();
        var rewrite = await CliRunner.RunAsync("rewrite", "--in", notBuilt, "--out", Path.Combine(dir, "long"), "--dry-run");
        Assert.Equal(2, rewrite.ExitCode);
        Assert.Contains($"{Path.Combine(notBuilt, "manifest.json")}: -: no-manifest: not a build's output folder", rewrite.Error, StringComparison.Ordinal);
        foreach (var verb in new[] { "status", "collect" })
        {
            var batch = await CliRunner.RunAsync("batch", verb, notBuilt);
            Assert.Equal(2, batch.ExitCode);
            Assert.Contains($"{Path.Combine(notBuilt, "batch.json")}: -: no-batch: not the --out folder of a `--batch submit` run", batch.Error, StringComparison.Ordinal);
        }

        var gone = await CliRunner.RunAsync("score", "--answers", Path.Combine(built, "answers.jsonl"), "--predictions", nowhere, "--metric", "vqa");
        Assert.Equal(2, gone.ExitCode);
        Assert.Contains($"{Path.Combine(built, "answers.jsonl")}: -: missing-file: no such file", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Dangling_Link_Or_A_Fifo_Named_As_An_Input_Of_Any_Command_Is_Said_So_With_Exit_2()
    {
        // As a build's own inputs already were: no stack trace for the link, no wait forever on the pipe.
        var dir = TestPaths.NewTempDir();
        var dangle = Path.Combine(dir, "dangle.jsonl");
        File.CreateSymbolicLink(dangle, Path.Combine(dir, "nothing-here"));
        var fifo = Path.Combine(dir, "pipe.jsonl");
        using (var mk = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            await mk.WaitForExitAsync();
        }

        foreach (var (folder, manifest) in new[] { ("mdangle", dangle), ("mfifo", fifo) })
        {
            Directory.CreateDirectory(Path.Combine(dir, folder));
            File.CreateSymbolicLink(Path.Combine(dir, folder, "manifest.json"), manifest);
        }

        foreach (var (bad, said) in new[] { (dangle, "unreadable-file"), (fifo, "not-a-file: is a FIFO (named pipe), not a regular file") })
        {
            var folder = Path.Combine(dir, bad == dangle ? "mdangle" : "mfifo");
            string[][] runs =
            [
                ["validate", "--format", "llava", bad],
                ["build", "--adapter", "instructions", "--input", $"file={bad}", "--format", "llava", "--out", Path.Combine(dir, "out")],
                ["score", "--predictions", bad, "--answers", bad, "--metric", "exact"],
                ["templates", "lint", bad],
                ["stats", folder],
                ["rewrite", "--in", folder, "--out", Path.Combine(dir, "long"), "--dry-run"],
            ];
            foreach (var args in runs)
            {
                var r = await HostileFile.RunWithin(TimeSpan.FromSeconds(60), args);
                Assert.True(r.ExitCode == 2, $"{string.Join(' ', args)}: exit {r.ExitCode}: {r.Error}");
                Assert.Contains(said, r.Error, StringComparison.Ordinal);
                Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
            }
        }
    }
}
