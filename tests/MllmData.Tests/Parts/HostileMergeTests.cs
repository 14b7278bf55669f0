using System.Globalization;
using System.Text.Json.Nodes;
using MllmData.Tests.Output;

namespace MllmData.Tests.Parts;

/// <summary>
/// The merge and the part folder as a careless or hostile user meets them: parts edited, damaged or mixed up after their
/// workers finished, an --out in a part. Each is one line naming the file and the reason, the exit code of its kind, and
/// no output left behind.
/// </summary>
public class HostileMergeTests
{
    private static string Captions => TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    /// <summary>Two real sources (coco captions, TextVQA questions), LLaVA lines, small shards: the merge tests' recipe.</summary>
    internal static string Recipe() => ShardMergeTests.Recipe("llava");

    internal static async Task<List<string>> Parts(string[] build, int count)
    {
        var parts = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var dir = TestPaths.NewTempDir();
            var r = await CliRunner.RunAsync([.. build, "--out", dir, "--num-shards", count.ToString(CultureInfo.InvariantCulture), "--shard-index", i.ToString(CultureInfo.InvariantCulture)]);
            Assert.True(r.ExitCode == 0, r.Error);
            parts.Add(dir);
        }

        return parts;
    }

    private static void Edit(string part, Action<JsonObject> edit)
    {
        var file = Path.Combine(part, "part.json");
        var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit(json);
        File.WriteAllText(file, json.ToJsonString());
    }

    [Theory]
    [InlineData("shard_index as text", "part.json: -: bad-part: shard_index is \"1\", not a whole number from 0 to 2")]
    [InlineData("shard_index a fraction", "part.json: -: bad-part: shard_index is 1.5, not a whole number from 0 to 2")]
    [InlineData("shard_index past the count", "part.json: -: bad-part: shard_index is 3, not a whole number from 0 to 2")]
    [InlineData("num_shards 0", "part.json: -: bad-part: num_shards is 0, not a whole number from 1 to 100000")]
    [InlineData("events removed", "part.json: -: bad-part: events is missing")]
    [InlineData("shard_records as text", "part.json: -: bad-part: shard_records is \"x\", not a whole number from 0")]
    [InlineData("allow_empty as text", "part.json: -: bad-part: allow_empty is \"no\", not true or false")]
    [InlineData("an input not an object", "part.json: -: bad-part: inputs[] is 5, not an object")]
    [InlineData("records and sources lowered together", "part.jsonl: -: bad-part: ")]
    [InlineData("a source's records lowered", "part.json: -: bad-part: its sources' records add up to")]
    [InlineData("records_with_images lowered", "part.jsonl: -: bad-part: ")]
    [InlineData("the recipe text edited", "part.json: -: bad-part: recipe_canonical is not the recipe whose sha256 it gives")]
    [InlineData("events file deleted", "part.jsonl: -: bad-part: the part's events file is missing (its part.json is there): run that worker again")]
    public async Task A_Part_Edited_Or_Damaged_After_Its_Worker_Finished_Is_A_Bad_Part_Named_With_Its_Field(string damage, string expected)
    {
        var parts = await Parts(["build", "--recipe", Recipe()], 3);
        var victim = parts[1];
        switch (damage)
        {
            case "shard_index as text": Edit(victim, j => j["shard_index"] = "1"); break;
            case "shard_index a fraction": Edit(victim, j => j["shard_index"] = 1.5); break;
            case "shard_index past the count": Edit(victim, j => j["shard_index"] = 3); break;
            case "num_shards 0": Edit(victim, j => j["num_shards"] = 0); break;
            case "events removed": Edit(victim, j => j.Remove("events")); break;
            case "shard_records as text": Edit(victim, j => j["shard_records"] = "x"); break;
            case "allow_empty as text": Edit(victim, j => j["allow_empty"] = "no"); break;
            case "an input not an object": Edit(victim, j => j["inputs"]![0] = 5); break;
            case "records and sources lowered together":
                Edit(victim, j =>
                {
                    j["records"] = (long)j["records"]! - 1;
                    j["sources"]![0]!["records"] = (long)j["sources"]![0]!["records"]! - 1;
                });
                break;
            case "a source's records lowered": Edit(victim, j => j["sources"]![0]!["records"] = 0); break;
            case "records_with_images lowered": Edit(victim, j => j["records_with_images"] = 1); break;
            case "the recipe text edited": Edit(victim, j => j["recipe_canonical"] = ((string)j["recipe_canonical"]!).Replace("\"seed\":3", "\"seed\":4", StringComparison.Ordinal)); break;
            default: File.Delete(Path.Combine(victim, "part.jsonl")); break;
        }

        var merged = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(Path.Combine(victim, expected), r.Error, StringComparison.Ordinal);
        Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !l.StartsWith("[INF]", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(merged));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sub")]
    [InlineData("data")]
    [InlineData("images/new")]
    public async Task An_Out_That_Is_Or_Lies_In_A_Part_Is_Refused_Before_Anything_Is_Written(string inside)
    {
        var parts = await Parts(["build", "--recipe", Recipe()], 2);
        var before = Directory.EnumerateFileSystemEntries(parts[1], "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var outDir = inside.Length == 0 ? parts[1] : Path.Combine(parts[1], inside);

        var r = await CliRunner.RunAsync(["merge", .. parts, "--out", outDir]);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"this folder is or lies in the part {parts[1]}", r.Error, StringComparison.Ordinal);
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(parts[1], "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>coco-mini captions over their real images, resized and copied into images/.</summary>
    private static string[] CopyBuild() =>
        ["build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--image-root", TestPaths.RealFile("coco-mini", "val2017"), "--format", "llava",
         "--images", "copy", "--max-side", "32", "--shard-records", "100", "--name", "coco", "--seed", "11"];

    private static async Task<string> Single(string[] build)
    {
        var dir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync([.. build, "--out", dir]);
        Assert.True(r.ExitCode == 0, r.Error);
        return dir;
    }

    [Fact]
    public async Task Images_Written_Out_From_Inline_Data_Reach_The_Merged_Output()
    {
        // OpenAI lines carry their images as data URLs; read back into LLaVA, each is written out under images/.
        var embedded = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--image-root", TestPaths.RealFile("coco-mini", "val2017"),
            "--format", "openai", "--images", "embed", "--max-side", "16", "--shard-records", "1000", "--out", embedded)).ExitCode);
        string[] build = ["build", "--adapter", "instructions", "--input", $"file={Directory.GetFiles(Path.Combine(embedded, "data")).Single()}", "--format", "llava"];
        var single = await Single(build);
        Assert.True(Directory.GetFiles(Path.Combine(single, "images")).Length > 50);
        var parts = await Parts(build, 2);

        var merged = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);

        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(TheOutputFolder.Snapshot(single), TheOutputFolder.Snapshot(merged));
    }

    [Fact]
    public async Task A_Merge_Over_An_Earlier_Build_Leaves_None_Of_Its_Images_As_A_Build_Does()
    {
        var single = await Single(CopyBuild());
        var parts = await Parts(CopyBuild(), 2);
        var merged = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync([.. CopyBuild().Select(a => a == "32" ? "24" : a), "--out", merged])).ExitCode);

        var r = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);

        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(TheOutputFolder.Snapshot(single), TheOutputFolder.Snapshot(merged));
    }

    [Theory]
    [InlineData("replaced", "bad-part: its bytes hash to")]
    [InlineData("removed", "bad-part: ")]
    [InlineData("added", "bad-part: not an image its worker wrote")]
    public async Task A_Part_Image_Changed_After_Its_Worker_Finished_Is_A_Bad_Part_And_Nothing_Is_Written(string change, string expected)
    {
        var parts = await Parts(CopyBuild(), 2);
        var images = Directory.GetFiles(Path.Combine(parts[1], "images")).Order(StringComparer.Ordinal).ToArray();
        var named = change switch
        {
            "replaced" => images[0],
            "removed" => Path.Combine(parts[1], "images"),
            _ => Path.Combine(parts[1], "images", "holiday.jpg"),
        };
        switch (change)
        {
            case "replaced": File.Copy(images[1], images[0], overwrite: true); break;
            case "removed": File.Delete(images[0]); break;
            default: File.Copy(images[0], named); break;
        }

        var merged = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{named}: -: {expected}", r.Error, StringComparison.Ordinal);
        if (change == "removed")
        {
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{images.Length - 1} image files, but part.json says {images.Length}"), r.Error, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(merged));
    }

    [Fact]
    public async Task Parts_Whose_Input_Changed_Between_Workers_Are_Refused_Naming_The_File()
    {
        // Real questions (TextVQA), as JSON Lines; the file gains a line between the two workers' runs.
        var file = Path.Combine(TestPaths.NewTempDir(), "questions.jsonl");
        var rows = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json"))).RootElement.GetProperty("data")
            .EnumerateArray().Select(d => new JsonObject { ["id"] = d.GetProperty("question_id").GetRawText(), ["q"] = d.GetProperty("question").GetString(), ["a"] = d.GetProperty("answers")[0].GetString() }.ToJsonString()).ToList();
        File.WriteAllLines(file, rows[..^1]);
        string[] build = ["build", "--adapter", "jsonl", "--input", $"file={file}", "--map", "question=q", "--map", "answer=a", "--map", "id=id", "--format", "llava"];
        var first = await Parts(build, 2);
        File.WriteAllLines(file, rows);
        var second = await Parts(build, 2);
        var merged = Path.Combine(TestPaths.NewTempDir(), "out");

        var r = await CliRunner.RunAsync("merge", first[0], second[1], "--out", merged);

        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"the parts are not of one run: the input \S*questions\.jsonl had sha256 [0-9a-f]{64} ", r.Error);
        Assert.Contains($"for {first[0]} but ", r.Error, StringComparison.Ordinal);
        Assert.Contains($"for {second[1]}: it changed between the workers' runs", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(merged));
    }

    /// <summary>The repository's template packs, with one caption template's words changed.</summary>
    private static string OtherTemplates()
    {
        var dir = TestPaths.NewTempDir();
        var from = Path.Combine(TestPaths.RepoRoot, "templates");
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var pack = Path.Combine(dir, "caption-brief.yaml");
        var text = File.ReadAllText(pack);
        Assert.Contains("What is happening in this image", text, StringComparison.Ordinal);
        File.WriteAllText(pack, text.Replace("What is happening in this image", "What goes on in this picture", StringComparison.Ordinal));
        return dir;
    }

    [Fact]
    public async Task Parts_Drawn_From_Other_Template_Packs_Are_Refused_And_The_Merge_Reads_The_Workers_Packs()
    {
        var recipe = Recipe();
        var templates = OtherTemplates();
        var parts = await Parts(["build", "--recipe", recipe], 2);
        var other = await Parts(["build", "--recipe", recipe, "--templates-dir", templates], 2);
        var merged = Path.Combine(TestPaths.NewTempDir(), "out");

        // One worker with other words: its records would say what no single run says.
        var mixed = await CliRunner.RunAsync("merge", parts[0], other[1], "--out", merged);
        Assert.Equal(1, mixed.ExitCode);
        Assert.Contains("the parts are not of one run: templates_sha256 is", mixed.Error, StringComparison.Ordinal);
        Assert.Contains("give every worker the same --templates-dir or MLLMDATA_TEMPLATES", mixed.Error, StringComparison.Ordinal);

        // The merge writes the card with the packs it reads: the workers' ones, or it says so.
        var elsewhere = await CliRunner.RunAsync("merge", other[0], other[1], "--out", merged);
        Assert.Equal(1, elsewhere.ExitCode);
        Assert.Contains("the parts were built with other templates than this merge reads", elsewhere.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(merged));

        var single = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", recipe, "--templates-dir", templates, "--out", single)).ExitCode);
        var same = await CliRunner.RunAsync("merge", other[0], other[1], "--templates-dir", templates, "--out", merged);
        Assert.True(same.ExitCode == 0, same.Error);
        Assert.Equal(TheOutputFolder.Snapshot(single), TheOutputFolder.Snapshot(merged));
        Assert.Contains("What goes on in this picture", string.Concat(Directory.GetFiles(Path.Combine(merged, "data")).Select(File.ReadAllText)), StringComparison.Ordinal);
    }
}
