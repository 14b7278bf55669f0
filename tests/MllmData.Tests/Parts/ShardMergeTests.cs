using System.Text.Json;
using MllmData.Parts;
using MllmData.Tests.Models;

namespace MllmData.Tests.Parts;

/// <summary>Job-array sharding: workers as real concurrent processes, merged, compared byte for byte with one process.</summary>
public class ShardMergeTests
{
    private const string Key = "sk-test-shards-0000";

    private static string Captions => TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    /// <summary>Two sources, real files; the template format with "dog" as the image token rejects the captions that say dog.</summary>
    internal static string Recipe(string format, string? imageToken = null)
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(path, $"""
            name: mix
            seed: 3
            format: {format}
            shard_records: 40
            shard_bytes: 6000
            sources:
              - name: caps
                adapter: coco-captions
                inputs:
                  captions: {Captions}
              - name: text
                adapter: textvqa
                inputs:
                  questions: {TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json")}
            {(imageToken is null ? string.Empty : $"tokens:\n  image: \"{imageToken}\"\n")}
            """);
        return path;
    }

    /// <summary>Every file under the folder by relative path, with its bytes.</summary>
    private static SortedDictionary<string, byte[]> Tree(string dir) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes), StringComparer.Ordinal);

    private static void AssertSameBytes(string expected, string actual)
    {
        var a = Tree(expected);
        var b = Tree(actual);
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (file, bytes) in a)
        {
            if (!bytes.AsSpan().SequenceEqual(b[file]))
            {
                // Show where: the first differing line of each side.
                var la = System.Text.Encoding.UTF8.GetString(bytes).Split('\n');
                var lb = System.Text.Encoding.UTF8.GetString(b[file]).Split('\n');
                var i = Enumerable.Range(0, Math.Min(la.Length, lb.Length)).FirstOrDefault(k => la[k] != lb[k], Math.Min(la.Length, lb.Length));
                Assert.Fail($"{file} differs at line {i + 1}:\n  single: {(i < la.Length ? la[i] : "(end)")}\n  merged: {(i < lb.Length ? lb[i] : "(end)")}");
            }
        }
    }

    /// <summary>Four workers, each its index from a different place (flag, Slurm, Kubernetes, our own variables).</summary>
    private static async Task<List<string>> RunWorkers(string[] args, Dictionary<string, string>? env = null)
    {
        var parts = Enumerable.Range(0, 4).Select(_ => TestPaths.NewTempDir()).ToList();
        Dictionary<string, string> With(params (string K, string V)[] vars)
        {
            var all = new Dictionary<string, string>(env ?? []);
            foreach (var (k, v) in vars)
            {
                all[k] = v;
            }

            return all;
        }

        var runs = await Task.WhenAll(
            ChildCli.RunAsync(With(), [.. args, "--out", parts[0], "--num-shards", "4", "--shard-index", "0"]),
            ChildCli.RunAsync(With(("SLURM_ARRAY_TASK_ID", "6"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "4")), [.. args, "--out", parts[1]]),
            ChildCli.RunAsync(With(("JOB_COMPLETION_INDEX", "2")), [.. args, "--out", parts[2], "--num-shards", "4"]),
            ChildCli.RunAsync(With(("MLLMDATA_SHARD_INDEX", "3"), ("MLLMDATA_NUM_SHARDS", "4")), [.. args, "--out", parts[3]]));
        foreach (var run in runs)
        {
            Assert.True(run.ExitCode == 0, run.Error);
        }

        for (var i = 0; i < 4; i++)
        {
            var part = JsonDocument.Parse(File.ReadAllText(Path.Combine(parts[i], "part.json"))).RootElement;
            Assert.Equal(i, part.GetProperty("shard_index").GetInt32());
            Assert.Equal(4, part.GetProperty("num_shards").GetInt32());
            Assert.False(File.Exists(Path.Combine(parts[i], "manifest.json")));
        }

        return parts;
    }

    [Theory]
    [InlineData("template", "dog")]
    [InlineData("sharegpt", null)]
    public async Task Should_Merge_Four_Worker_Processes_Into_The_Single_Build_Byte_For_Byte(string format, string? imageToken)
    {
        var recipe = Recipe(format, imageToken);
        var single = TestPaths.NewTempDir();
        var one = await CliRunner.RunAsync("build", "--recipe", recipe, "--out", single);
        Assert.True(one.ExitCode == 0, one.Error);
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(single, "manifest.json"))).RootElement;
        Assert.True(manifest.GetProperty("shards").GetArrayLength() > 10);
        Assert.Equal("bytes", manifest.GetProperty("split_reason").GetString());
        if (imageToken is not null)
        {
            Assert.Equal(11, manifest.GetProperty("rejects_by_reason").GetProperty("literal-image-token").GetInt64());
        }
        else
        {
            Assert.True(File.Exists(Path.Combine(single, "dataset_info.json")));
        }

        var parts = await RunWorkers(["build", "--recipe", recipe]);
        var records = parts.Select(p => JsonDocument.Parse(File.ReadAllText(Path.Combine(p, "part.json"))).RootElement.GetProperty("records").GetInt64()).ToList();
        Assert.Equal(manifest.GetProperty("records").GetInt64(), records.Sum());
        Assert.All(records, n => Assert.InRange(n, 50, 150));

        // Parts in any order on the command line.
        var merged = TestPaths.NewTempDir();
        var merge = await CliRunner.RunAsync(["merge", parts[2], parts[0], parts[3], parts[1], "--out", merged]);
        Assert.True(merge.ExitCode == 0, merge.Error);
        AssertSameBytes(single, merged);
    }

    [Fact]
    public async Task Should_Merge_Four_Rewrite_Workers_Into_The_Single_Rewrite_Byte_For_Byte()
    {
        // A reply that drops the caption's words for captions about dogs: rejects, in the input's order.
        using var server = new FakeModelServer(r => r.UserText.Contains("dog", StringComparison.Ordinal)
            ? FakeReply.Chat("Something else entirely.")
            : FakeReply.Chat("In the picture: " + r.UserText.Split('\n').First(l => l.StartsWith("Short answer: ", StringComparison.Ordinal))["Short answer: ".Length..]));
        var built = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--format", "llava", "--out", built)).ExitCode);
        var env = new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = Key };
        string[] Args(string cache) => ["rewrite", "--in", built, "--select", "all", "--backoff", "0.05", "--cache", cache];

        var single = TestPaths.NewTempDir();
        var one = await ChildCli.RunAsync(env, [.. Args(Path.Combine(TestPaths.NewTempDir(), "c.db")), "--out", single]);
        Assert.True(one.ExitCode == 0, one.Error);
        var asked = server.Requests;
        Assert.True(File.ReadAllLines(Path.Combine(single, "rejects.jsonl")).Length > 5);

        // Each worker its own cache, so every answer is asked again: the split shares the calls out.
        var parts = await RunWorkers([.. Args(Path.Combine(TestPaths.NewTempDir(), "shared.db"))], env);
        Assert.Equal(2 * asked, server.Requests);
        var merged = TestPaths.NewTempDir();
        var merge = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);
        Assert.True(merge.ExitCode == 0, merge.Error);
        AssertSameBytes(single, merged);
    }

    private static readonly string[] PinnedIds = ["vqav2-img9", "coco-c1", "a", "ünïcode-id"];

    private static readonly int[] PinnedOwners = [2, 0, 3, 0];

    /// <summary>Distinct words per key, so questions of different images do not collide by accident.</summary>
    private static string Words(string key, int n) =>
        string.Join(' ', Enumerable.Range(0, n).Select(i => "w" + System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(key + "|" + i)).ToString("x", System.Globalization.CultureInfo.InvariantCulture)[..7]));

    /// <summary>
    /// A model whose reply depends on the request alone: a third of the images get the same two questions (near duplicates
    /// of each other across images, and so across workers), some get answers too short to keep, the rest distinct ones.
    /// </summary>
    private static FakeReply Generate(SeenRequest r)
    {
        var key = r.UserText;
        var system = (string?)r.Body!["messages"]![0]!["content"] ?? string.Empty;
        var h = System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(key)) % 9;
        if (system.Contains("Write three to five turns", StringComparison.Ordinal) || system.Contains("reasoning question", StringComparison.Ordinal))
        {
            return h switch
            {
                < 3 => FakeReply.Chat("Question: What color is the large vehicle in the picture?\nAnswer: It is a bright red colour all over, the kind one sees on fire engines and in old toy sets, easy to spot from far away and hard to confuse with anything else in a busy street.\nQuestion: Where is the large vehicle parked?\nAnswer: It is parked next to the curb on the street."),
                3 => FakeReply.Chat("Question: Is it day?\nAnswer: Yes."),
                _ => FakeReply.Chat($"Question: Which {Words(key + "q", 5)} appear here?\nAnswer: The {Words(key + "a", 3)} appear near the middle of the view, and they look settled in place, as though they have been there for a long time and will stay there for a good while longer.\nQuestion: Is the {Words(key + "r", 4)} close?\nAnswer: Yes, it is quite close to the camera."),
            };
        }

        return FakeReply.Chat($"The picture shows an everyday scene. {Words(key + "e", 6)} appear in the middle of the frame, while the background stays calm and quiet. Light falls evenly across everything, and the objects sit where one would expect them, which gives the whole image a natural, relaxed feeling that invites a closer look at each part of it.");
    }

    [Fact]
    public async Task Should_Merge_Four_Self_Instruct_Workers_Into_The_Single_Run_With_Near_Duplicates_Decided_Across_Parts()
    {
        using var server = new FakeModelServer(Generate);
        var env = new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = Key };
        string[] Args() =>
        [
            "self-instruct", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--input", $"instances={TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json")}",
            "--cache", Path.Combine(TestPaths.NewTempDir(), "c.db"), "--backoff", "0.05", "--seed", "5", "--format", "sharegpt",
        ];
        var single = TestPaths.NewTempDir();
        var one = await ChildCli.RunAsync(env, [.. Args(), "--out", single], timeout: TimeSpan.FromMinutes(3));
        Assert.True(one.ExitCode == 0, one.Error);
        var reasons = File.ReadAllLines(Path.Combine(single, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()).ToList();
        Assert.True(reasons.Count(r => r == "near-duplicate") > 10, string.Join(", ", reasons));
        Assert.Contains("too-short", reasons);

        var parts = await RunWorkers(Args(), env);
        var merged = TestPaths.NewTempDir();
        var merge = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);
        Assert.True(merge.ExitCode == 0, merge.Error);
        AssertSameBytes(single, merged);
    }

    [Fact]
    public void Should_Give_Every_Id_To_Exactly_One_Worker()
    {
        var splits = Enumerable.Range(0, 4).Select(i => new WorkSplit(4, i)).ToList();
        var counts = new int[4];
        for (var n = 0; n < 4000; n++)
        {
            var owners = splits.Where(s => s.Owns($"coco-c{n}")).ToList();
            Assert.Single(owners);
            counts[owners[0].Index]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 850, 1150));

        // Stable across runs and machines: XxHash3 of the UTF-8 id, not string.GetHashCode.
        Assert.Equal(PinnedOwners, PinnedIds.Select(id => splits.Single(s => s.Owns(id)).Index).ToArray());
        Assert.True(new WorkSplit(1, 0).Owns("anything"));
    }

    [Fact]
    public void Should_Take_The_Index_And_Count_From_Flags_Or_The_Schedulers_Variables()
    {
        static (int, int)? Resolve(int? n, int? i, params (string K, string V)[] env) =>
            WorkSplit.Resolve(n, i, k => env.FirstOrDefault(e => e.K == k).V) is { } s ? (s.Count, s.Index) : null;

        Assert.Null(Resolve(null, null));
        Assert.Equal((4, 1), Resolve(4, 1));
        Assert.Equal((8, 3), Resolve(8, null, ("JOB_COMPLETION_INDEX", "3")));
        Assert.Equal((4, 2), Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "12"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "4")));
        Assert.Equal((3, 0), Resolve(null, null, ("MLLMDATA_SHARD_INDEX", "0"), ("MLLMDATA_NUM_SHARDS", "3")));

        // Flags win over variables.
        Assert.Equal((2, 1), Resolve(2, 1, ("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")));

        // Kubernetes sets no count: an index without one is refused, naming --num-shards.
        Assert.Contains("--num-shards", Assert.Throws<UsageException>(() => Resolve(null, null, ("JOB_COMPLETION_INDEX", "1"))).Message, StringComparison.Ordinal);
        Assert.Contains("no shard index", Assert.Throws<UsageException>(() => Resolve(4, null)).Message, StringComparison.Ordinal);
        Assert.Contains("outside 0 to 3", Assert.Throws<UsageException>(() => Resolve(4, 4)).Message, StringComparison.Ordinal);
        Assert.Contains("outside 0 to 1", Assert.Throws<UsageException>(() => Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "2"))).Message, StringComparison.Ordinal);
        Assert.Contains("between 1 and", Assert.Throws<UsageException>(() => Resolve(0, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("not a whole number", Assert.Throws<UsageException>(() => Resolve(null, null, ("MLLMDATA_NUM_SHARDS", "four"))).Message, StringComparison.Ordinal);

        // Two variables that give different values are refused, not ranked; ones that agree are fine.
        Assert.Equal(
            "JOB_COMPLETION_INDEX (giving 2) and SLURM_ARRAY_TASK_ID (giving 1) disagree: unset all but one, or pass the value as a flag",
            Assert.Throws<UsageException>(() => Resolve(3, null, ("JOB_COMPLETION_INDEX", "2"), ("SLURM_ARRAY_TASK_ID", "1"))).Message);
        Assert.Equal((3, 1), Resolve(3, null, ("JOB_COMPLETION_INDEX", "1"), ("MLLMDATA_SHARD_INDEX", "1")));
        Assert.Equal((3, 1), Resolve(3, 1, ("JOB_COMPLETION_INDEX", "2"), ("SLURM_ARRAY_TASK_ID", "0")));
        Assert.Contains("SLURM_ARRAY_TASK_COUNT (giving 4) and MLLMDATA_NUM_SHARDS (giving 3) disagree", Assert.Throws<UsageException>(() => Resolve(null, 0, ("SLURM_ARRAY_TASK_COUNT", "4"), ("MLLMDATA_NUM_SHARDS", "3"))).Message, StringComparison.Ordinal);
        Assert.Equal((4, 2), Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "12"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("MLLMDATA_SHARD_INDEX", "2")));

        // The origin a range error names is what was read: without SLURM_ARRAY_TASK_MIN, the task id alone.
        Assert.Contains("(from SLURM_ARRAY_TASK_ID)", Assert.Throws<UsageException>(() => Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "2"))).Message, StringComparison.Ordinal);
        Assert.Contains("(from SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN)", Assert.Throws<UsageException>(() => Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "13"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "2"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_Name_Where_The_Index_Came_From_And_Hold_The_Count_To_1_To_100000()
    {
        static WorkSplit? Resolve(int? n, int? i, params (string K, string V)[] env) => WorkSplit.Resolve(n, i, k => env.FirstOrDefault(e => e.K == k).V);

        Assert.Equal("--shard-index", Resolve(2, 1)!.Origin);
        Assert.Equal("--shard-index", new WorkSplit(2, 1).Origin);
        Assert.Equal("JOB_COMPLETION_INDEX", Resolve(2, null, ("JOB_COMPLETION_INDEX", "1"))!.Origin);
        Assert.Equal("MLLMDATA_SHARD_INDEX", Resolve(2, null, ("MLLMDATA_SHARD_INDEX", "1"))!.Origin);
        Assert.Equal("SLURM_ARRAY_TASK_ID", Resolve(2, null, ("SLURM_ARRAY_TASK_ID", "1"))!.Origin);
        Assert.Equal("SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN over SLURM_ARRAY_TASK_STEP", Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_STEP", "2"), ("SLURM_ARRAY_TASK_COUNT", "3"))!.Origin);

        // The count's bounds, each way.
        Assert.Equal(1, Resolve(1, 0)!.Count);
        Assert.Equal(100_000, Resolve(100_000, 99_999)!.Count);
        Assert.Equal("--num-shards 100001: the number of shards must be between 1 and 100000", Assert.Throws<UsageException>(() => Resolve(100_001, 0)).Message);
        Assert.Equal("MLLMDATA_NUM_SHARDS 0: the number of shards must be between 1 and 100000", Assert.Throws<UsageException>(() => Resolve(null, 0, ("MLLMDATA_NUM_SHARDS", "0"))).Message);
        Assert.StartsWith("SLURM_ARRAY_TASK_COUNT 4 but no shard index: give --shard-index I (0 to 3), or run as an array task (", Assert.Throws<UsageException>(() => Resolve(null, null, ("SLURM_ARRAY_TASK_COUNT", "4"))).Message, StringComparison.Ordinal);
        Assert.Equal("SLURM_ARRAY_TASK_ID 6 is not on the array's steps (SLURM_ARRAY_TASK_MIN 3, SLURM_ARRAY_TASK_STEP 2): give --shard-index", Assert.Throws<UsageException>(() => Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "6"), ("SLURM_ARRAY_TASK_MIN", "3"), ("SLURM_ARRAY_TASK_STEP", "2"), ("SLURM_ARRAY_TASK_COUNT", "3"))).Message);
        Assert.Equal(2, Resolve(null, null, ("SLURM_ARRAY_TASK_ID", "8"), ("SLURM_ARRAY_TASK_STEP", "4"), ("SLURM_ARRAY_TASK_COUNT", "3"))!.Index);
    }

    [Fact]
    public void Should_Number_The_Tasks_Of_A_Slurm_Array_With_A_Step_From_0_To_Its_Count()
    {
        static (int, int)? Resolve(params (string K, string V)[] env) =>
            WorkSplit.Resolve(null, null, k => env.FirstOrDefault(e => e.K == k).V) is { } s ? (s.Count, s.Index) : null;

        // --array=0-15:4 runs tasks 0, 4, 8 and 12 with SLURM_ARRAY_TASK_COUNT 4: they are workers 0 to 3 (they were refused).
        (string, string)[] array = [("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_STEP", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        string[] tasks = ["0", "4", "8", "12"];
        Assert.Equal([(4, 0), (4, 1), (4, 2), (4, 3)], tasks.Select(id => Resolve([("SLURM_ARRAY_TASK_ID", id), .. array])));

        // --array=3-9:3 (tasks 3, 6, 9); a step of 1 is the plain array.
        Assert.Equal((3, 2), Resolve(("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_MIN", "3"), ("SLURM_ARRAY_TASK_STEP", "3"), ("SLURM_ARRAY_TASK_COUNT", "3")));
        Assert.Equal((4, 2), Resolve(("SLURM_ARRAY_TASK_ID", "12"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_STEP", "1"), ("SLURM_ARRAY_TASK_COUNT", "4")));

        // A task off the steps, and a step below 1, are refused; the origin names the step.
        Assert.Contains("SLURM_ARRAY_TASK_ID 5 is not on the array's steps (SLURM_ARRAY_TASK_MIN 0, SLURM_ARRAY_TASK_STEP 4)", Assert.Throws<UsageException>(() => Resolve([("SLURM_ARRAY_TASK_ID", "5"), .. array])).Message, StringComparison.Ordinal);
        Assert.Contains("SLURM_ARRAY_TASK_STEP=0", Assert.Throws<UsageException>(() => Resolve(("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_STEP", "0"), ("SLURM_ARRAY_TASK_COUNT", "2"))).Message, StringComparison.Ordinal);
        Assert.Contains("(from SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN over SLURM_ARRAY_TASK_STEP)", Assert.Throws<UsageException>(() => Resolve([("SLURM_ARRAY_TASK_ID", "16"), .. array])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mixture", "a mixture (its sampling reads every source whole)")]
    [InlineData("icl", "in-context examples (--icl-shots draws each query's examples from the other records)")]
    [InlineData("eval", "an evaluation build (--split-role eval)")]
    [InlineData("exclude", "--exclude (its manifest section counts every excluded record)")]
    [InlineData("dedup", "--dedup-images (a repeat is dropped by what every earlier record's image was)")]
    [InlineData("rewrite", "a recipe with a rewrite section builds and rewrites in one run")]
    public async Task Should_Refuse_To_Split_What_Cannot_Be_Merged_Exactly_With_Exit_1_And_No_Output(string what, string reason)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "part");
        string[] coco = ["build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--out", outDir, "--num-shards", "2", "--shard-index", "1"];
        var evalSet = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--split-role", "eval", "--out", evalSet)).ExitCode);
        string[] args = what switch
        {
            "mixture" => ["build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe-mix665k.yaml"), "--out", outDir, "--num-shards", "2", "--shard-index", "1"],
            "rewrite" => ["build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe-rewrite.yaml"), "--out", outDir, "--num-shards", "2", "--shard-index", "1"],
            "icl" => [.. coco, "--format", "template", "--icl-shots", "2"],
            "eval" => [.. coco, "--split-role", "eval"],
            "exclude" => [.. coco, "--exclude", evalSet],
            _ => [.. coco, "--image-root", TestPaths.RealFile("coco-mini", "val2017"), "--images", "copy", "--dedup-images"],
        };

        var r = await CliRunner.RunAsync(args);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--num-shards: " + reason, r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    private static async Task<List<string>> InProcessParts(string recipe, int count, params string[] extra)
    {
        var parts = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var dir = TestPaths.NewTempDir();
            var r = await CliRunner.RunAsync(["build", "--recipe", recipe, "--out", dir, "--num-shards", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--shard-index", i.ToString(System.Globalization.CultureInfo.InvariantCulture), .. extra]);
            Assert.True(r.ExitCode == 0, r.Error);
            parts.Add(dir);
        }

        return parts;
    }

    [Fact]
    public async Task Should_Name_A_Missing_Part_And_Refuse_Duplicates_Without_Writing()
    {
        var parts = await InProcessParts(Recipe("sharegpt"), 4);
        var merged = Path.Combine(TestPaths.NewTempDir(), "out");
        var missing = await CliRunner.RunAsync("merge", parts[0], parts[1], parts[3], "--out", merged);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("part 2 of 4 missing (given: 0, 1, 3)", missing.Error, StringComparison.Ordinal);
        Assert.Contains("--shard-index 2", missing.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(merged));

        var twice = await CliRunner.RunAsync("merge", parts[0], parts[1], parts[2], parts[2], parts[3], "--out", merged);
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("part 2 of 4 given twice", twice.Error, StringComparison.Ordinal);

        // A worker that was killed leaves no part.json: named, with what to do.
        File.Delete(Path.Combine(parts[1], "part.json"));
        var unfinished = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);
        Assert.Equal(1, unfinished.ExitCode);
        Assert.Contains($"{parts[1]} has no part.json: its worker has not finished", unfinished.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(merged));

        // `stats` on a part says what a part is; merge on a file or a missing folder says which.
        var stats = await CliRunner.RunAsync("stats", parts[0]);
        Assert.Equal(2, stats.ExitCode);
        Assert.Contains("not a build's output folder: it is one worker's part of a job array: merge the parts (mllmdata merge) and read the merged folder", stats.Error, StringComparison.Ordinal);
        var file = Path.Combine(parts[0], "part.json");
        var notFolder = await CliRunner.RunAsync("merge", file, parts[2], "--out", merged);
        Assert.Contains($"{file} has no part.json: it is a file, not a worker's output folder", notFolder.Error, StringComparison.Ordinal);
        var nowhere = await CliRunner.RunAsync("merge", Path.Combine(parts[0], "nowhere"), parts[2], "--out", merged);
        Assert.Contains("nowhere has no part.json: no such folder", nowhere.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Refuse_Parts_Of_Different_Seeds_Recipes_Or_Tool_Versions()
    {
        var recipe = Recipe("sharegpt");
        var parts = await InProcessParts(recipe, 2);
        var otherSeed = await InProcessParts(recipe, 2, "--seed", "4");
        var merged = TestPaths.NewTempDir();
        var seed = await CliRunner.RunAsync("merge", parts[0], otherSeed[1], "--out", merged);
        Assert.Equal(1, seed.ExitCode);
        Assert.True(seed.Error.Contains("the parts are not of one run: recipe_sha256", StringComparison.Ordinal), seed.Error);

        var otherFormat = await InProcessParts(recipe, 2, "--format", "llava");
        var format = await CliRunner.RunAsync("merge", parts[0], otherFormat[1], "--out", merged);
        Assert.Equal(1, format.ExitCode);
        Assert.Contains("the parts are not of one run", format.Error, StringComparison.Ordinal);

        var json = Path.Combine(parts[1], "part.json");
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"tool_version\": \"", "\"tool_version\": \"0.0.1-other-", StringComparison.Ordinal));
        var version = await CliRunner.RunAsync("merge", parts[0], parts[1], "--out", merged);
        Assert.Equal(1, version.ExitCode);
        Assert.Contains("tool_version is", version.Error, StringComparison.Ordinal);
        Assert.Contains("0.0.1-other-", version.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(merged, "manifest.json")));
    }

    [Fact]
    public async Task Should_Refuse_A_Part_Whose_Events_Changed_And_Leave_No_Output()
    {
        var parts = await InProcessParts(Recipe("sharegpt"), 2);
        var events = Path.Combine(parts[1], "part.jsonl");
        var lines = File.ReadAllLines(events);
        File.WriteAllLines(events, lines[..^1]);
        var merged = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("bad-part", r.Error, StringComparison.Ordinal);
        Assert.Contains("the file changed since its worker finished", r.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(merged, "manifest.json")));
        Assert.Empty(Directory.EnumerateFiles(merged, "*", SearchOption.AllDirectories));
    }

    /// <summary>
    /// Real images under new names in a fresh image root: every image also under a second name (exact repeats that
    /// land on other workers), a cut-short copy (a reject of the stage), and a line naming no file (a reject before it).
    /// </summary>
    private static string ImageRecords(out string root)
    {
        root = TestPaths.NewTempDir();
        var dir = TestPaths.NewTempDir();
        var lines = new List<string>();
        var n = 0;
        foreach (var image in Directory.EnumerateFiles(TestPaths.RealFile("coco-mini", "val2017"), "*.jpg").Order(StringComparer.Ordinal).Take(24))
        {
            var name = Path.GetFileName(image);
            File.Copy(image, Path.Combine(root, name));
            File.Copy(image, Path.Combine(root, "again-" + name));
            lines.Add(JsonSerializer.Serialize(new { id = $"r{n++}", img = name, q = $"What is in picture {n}?", a = $"thing {n}" }));
            lines.Add(JsonSerializer.Serialize(new { id = $"r{n++}", img = "again-" + name, q = $"What else is in picture {n}?", a = $"other {n}" }));
            if (n % 8 == 0)
            {
                var bytes = File.ReadAllBytes(image);
                File.WriteAllBytes(Path.Combine(root, "cut-" + name), bytes[..(bytes.Length / 3)]);
                lines.Add(JsonSerializer.Serialize(new { id = $"r{n++}", img = "cut-" + name, q = "What is cut?", a = "half" }));
                lines.Add(JsonSerializer.Serialize(new { id = $"r{n++}", img = "missing-" + name, q = "What is missing?", a = "all" }));
            }
        }

        var file = Path.Combine(dir, "records.jsonl");
        File.WriteAllLines(file, lines);
        return file;
    }

    [Theory]
    [InlineData("copy", "llava", 0)]
    [InlineData("embed", "openai", 24)]
    public async Task Should_Split_The_Image_Stage_And_Count_Repeats_Across_Workers_As_One_Process(string mode, string format, long repeats)
    {
        var file = ImageRecords(out var root);
        string[] args =
        [
            "build", "--adapter", "jsonl", "--input", $"file={file}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--map", "id=id",
            "--image-root", root, "--images", mode, "--max-side", "48", "--format", format, "--shard-records", "9",
        ];
        var single = TestPaths.NewTempDir();
        var one = await CliRunner.RunAsync([.. args, "--out", single]);
        Assert.True(one.ExitCode == 0, one.Error);
        var images = JsonDocument.Parse(File.ReadAllText(Path.Combine(single, "manifest.json"))).RootElement.GetProperty("images");
        // Copies are named by content, so a repeat under another name is the same copied file, not a repeat.
        Assert.Equal(repeats, images.GetProperty("exact_duplicates").GetInt64());
        Assert.True(images.GetProperty("rejected").EnumerateObject().Sum(p => p.Value.GetInt64()) >= 6);
        Assert.Contains("missing-image", File.ReadAllText(Path.Combine(single, "rejects.jsonl")), StringComparison.Ordinal);

        var parts = await RunWorkers(args);
        var merged = TestPaths.NewTempDir();
        var merge = await CliRunner.RunAsync(["merge", .. parts, "--out", merged]);
        Assert.True(merge.ExitCode == 0, merge.Error);
        AssertSameBytes(single, merged);
    }

    [Theory]
    [InlineData("--dedup-images", "true", "--dedup-images")]
    [InlineData("--icl-shots", "2", "in-context examples")]
    public async Task Should_Refuse_What_Cannot_Be_Merged_Exactly_Before_Writing(string flag, string value, string named)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "part");
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--image-root", TestPaths.RealFile("coco-mini", "val2017"),
            "--format", "template", "--images", "reference", flag, value, "--out", outDir, "--num-shards", "2", "--shard-index", "0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"--num-shards: {named}", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }
}
