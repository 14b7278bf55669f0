using System.Globalization;
using System.Text.RegularExpressions;
using MllmData.Output;
using MllmData.Tests.Conformance;
using MllmData.Tests.Models;

namespace MllmData.Tests.Output;

/// <summary>
/// <c>build --resume</c>: a build killed at any point (a real child process, killed as kill -9 does) and started again
/// with --resume reuses every finished shard whose checksum holds and every processed image, and writes the same bytes
/// as a build that was never interrupted.
/// </summary>
public partial class ResumingABuild
{
    /// <summary>coco-mini: 395 captions over 79 real images, resized (real image work), in shards of 100 records.</summary>
    private static string[] Build(string outDir, string format = "llava", string images = "copy", params string[] extra) =>
        ["build", "--adapter", "coco-captions", "--input", $"captions={Consumers.CocoCaptions}", "--image-root", Consumers.CocoImages, "--format", format,
         "--images", images, "--max-side", "64", "--shard-records", "100", "--name", "coco", "--seed", "11", "--out", outDir, .. extra];

    private static readonly Dictionary<string, string> Clean = [];

    /// <summary>A run in its own process: the tool's log (stderr) says what was reused.</summary>
    private static async Task<ChildCli.Result> RunAsync(string[] args) => await ChildCli.RunAsync(Clean, args);

    private static async Task<SortedDictionary<string, string>> UninterruptedAsync(string root, string format = "llava", string images = "copy", params string[] extra)
    {
        var clean = Path.Combine(root, "clean");
        var r = await CliRunner.RunAsync(Build(clean, format, images, extra));
        Assert.True(r.ExitCode == 0, r.Error);
        return TheOutputFolder.Snapshot(clean);
    }

    private static async Task KillAsync(string outDir, string point, string format = "llava", string images = "copy", params string[] extra)
    {
        var killed = await ChildCli.RunAsync(new Dictionary<string, string> { ["MLLMDATA_FAULT"] = "kill-at:" + point }, Build(outDir, format, images, extra));

        // 137: killed by SIGKILL, as kill -9 does; the run never reached its own end.
        Assert.True(killed.ExitCode == 137, $"exit {killed.ExitCode}: {killed.Error}");
        Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));
    }

    /// <summary>Runs the resumed build, which must succeed and leave exactly the uninterrupted build's files (no staging); its log.</summary>
    private static async Task<string> ResumeToAsync(string outDir, SortedDictionary<string, string> expected, string[] args)
    {
        var resumed = await RunAsync(args);
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Equal(expected, TheOutputFolder.Snapshot(outDir));
        Assert.False(Directory.Exists(Path.Combine(outDir, OutputFolder.StagingFolder)));
        return resumed.Error;
    }

    [GeneratedRegex(@"resume: (\d+) finished shards reused as they were, (\d+) processed images taken from the journal")]
    private static partial Regex Reused();

    private static (int Shards, int Images) ReusedOf(string log)
    {
        var m = Reused().Match(log);
        Assert.True(m.Success, log);
        return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("image-5", 0)] // in the image stage, before the first shard is finished
    [InlineData("shard-closed-0", 1)]
    [InlineData("shard-closed-2", 3)]
    [InlineData("staged", 4)] // every shard named and the manifest staged, before the promotion
    [InlineData("shard-promoted", 4)] // the first shard promoted into data/, the others still staged
    [InlineData("before-manifest", 4)] // every shard in data/, only the manifest missing
    public async Task Killed_At_Any_Point_It_Goes_On_From_The_Finished_Work_To_The_Same_Bytes(string point, int shardsKept)
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root);
        Assert.Equal(4, expected.Keys.Count(k => k.StartsWith("data/", StringComparison.Ordinal)));
        var outDir = Path.Combine(root, "out");

        await KillAsync(outDir, point);
        var log = await ResumeToAsync(outDir, expected, Build(outDir, extra: "--resume"));

        var (shards, images) = ReusedOf(log);
        Assert.Equal(shardsKept, shards);

        // Every image the killed run processed is taken from the journal, none decoded twice (at least the five of the earliest point).
        Assert.True(images >= 5, log);
    }

    [Fact]
    public async Task Killed_From_Outside_In_The_Middle_Of_Its_Images_It_Goes_On_To_The_Same_Bytes()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root, extra: ["--threads", "1"]);
        var outDir = Path.Combine(root, "out");
        var journal = Path.Combine(outDir, OutputFolder.StagingFolder, ResumeJournal.FileName);

        // Killed by the test (SIGKILL to the process tree) once ten images are journalled: no hook in the tool decides the moment.
        var killed = await ChildCli.RunAsync(Clean, Build(outDir, extra: ["--threads", "1"]), killWhen: () => ImageLines(journal) >= 10);
        Assert.True(killed.Killed, "the build finished before the test could kill it");
        var remembered = ImageLines(journal);

        var log = await ResumeToAsync(outDir, expected, Build(outDir, extra: ["--threads", "1", "--resume"]));

        Assert.True(ReusedOf(log).Images >= remembered - 1, log);
    }

    private static int ImageLines(string journal)
    {
        try
        {
            using var s = new FileStream(journal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(s);
            return reader.ReadToEnd().Split('\n').Count(l => l.StartsWith("{\"image\":", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return 0;
        }
    }

    [Fact]
    public async Task An_Embedding_Build_Keeps_Its_Processed_Images_Bytes_And_Resumes_To_The_Same_Bytes()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root, "openai", "embed");
        var outDir = Path.Combine(root, "out");

        await KillAsync(outDir, "shard-closed-1", "openai", "embed");

        // Resized images differ from their files: their bytes wait in staging, named by their sha256. The kill comes when
        // shard 1 is noted, on the thread that puts shards on disk, while the build goes on: an image being kept at that
        // moment may be left as its temporary (dot-named) file, which the resume must get past.
        var kept = Directory.GetFiles(Path.Combine(outDir, OutputFolder.StagingFolder, ResumeJournal.HeldFolder, "images"))
            .Where(k => !Path.GetFileName(k).StartsWith('.')).ToArray();
        Assert.NotEmpty(kept);
        Assert.All(kept, k => Assert.StartsWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(k))) + ".", Path.GetFileName(k), StringComparison.Ordinal));

        var log = await ResumeToAsync(outDir, expected, Build(outDir, "openai", "embed", "--resume"));
        var (shards, images) = ReusedOf(log);
        Assert.Equal(2, shards);
        Assert.True(images > 0);
    }

    [Fact]
    public async Task A_Finished_Shard_Whose_Bytes_Changed_Is_Made_Again_And_Said_So()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root);
        var outDir = Path.Combine(root, "out");
        await KillAsync(outDir, "shard-closed-1");
        var first = Path.Combine(outDir, OutputFolder.StagingFolder, OutputFolder.DataFolder, ".coco-00000.jsonl.tmp");
        var bytes = File.ReadAllBytes(first);
        bytes[10] ^= 0x20;
        File.WriteAllBytes(first, bytes);

        var log = await ResumeToAsync(outDir, expected, Build(outDir, extra: "--resume"));

        Assert.Contains("shard 0 of the interrupted run is missing or its bytes differ from its sha256", log, StringComparison.Ordinal);
        Assert.Equal(1, ReusedOf(log).Shards);
    }

    [Fact]
    public async Task A_Copied_Image_That_Went_Missing_Is_Made_Again()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root);
        var outDir = Path.Combine(root, "out");
        await KillAsync(outDir, "shard-closed-0");
        var copies = Directory.GetFiles(Path.Combine(outDir, "images")).Order(StringComparer.Ordinal).ToList();
        File.Delete(copies[0]);
        File.WriteAllText(copies[1], "not the image any more");

        var log = await ResumeToAsync(outDir, expected, Build(outDir, extra: "--resume"));

    }

    [Theory]
    [InlineData("--seed", "12")]
    [InlineData("--max-side", "48")]
    public async Task Staged_Work_Of_Another_Recipe_Is_Discarded_With_A_Warning(string flag, string value)
    {
        var root = TestPaths.NewTempDir();
        var outDir = Path.Combine(root, "out");
        await KillAsync(outDir, "shard-closed-1");
        var args = Build(outDir, extra: "--resume");
        args[Array.IndexOf(args, flag) + 1] = value;
        var cleanArgs = Build(Path.Combine(root, "clean"));
        cleanArgs[Array.IndexOf(cleanArgs, flag) + 1] = value;
        Assert.Equal(0, (await CliRunner.RunAsync(cleanArgs)).ExitCode);

        var resumed = await RunAsync(args);

        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("made from another recipe, seed, tool version or other input files; it is discarded", resumed.Error, StringComparison.Ordinal);
        Assert.Equal((0, 0), ReusedOf(resumed.Error));
        Assert.Equal(TheOutputFolder.Snapshot(Path.Combine(root, "clean")), TheOutputFolder.Snapshot(outDir));
    }

    [Fact]
    public async Task An_Input_Touched_Since_The_Kill_Discards_The_Staged_Work()
    {
        var root = TestPaths.NewTempDir();
        var captions = Path.Combine(root, "captions.json");
        File.Copy(Consumers.CocoCaptions, captions);
        string[] Args(string outDir, params string[] extra)
        {
            var a = Build(outDir, extra: extra);
            a[Array.IndexOf(a, "--input") + 1] = $"captions={captions}";
            return a;
        }

        var outDir = Path.Combine(root, "out");
        var killed = await ChildCli.RunAsync(new Dictionary<string, string> { ["MLLMDATA_FAULT"] = "kill-at:shard-closed-1" }, Args(outDir));
        Assert.Equal(137, killed.ExitCode);
        File.SetLastWriteTimeUtc(captions, File.GetLastWriteTimeUtc(captions).AddMinutes(1));

        var resumed = await RunAsync(Args(outDir, "--resume"));

        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("it is discarded", resumed.Error, StringComparison.Ordinal);
        Assert.Equal((0, 0), ReusedOf(resumed.Error));
    }

    [Fact]
    public async Task Without_Resume_A_Killed_Runs_Staging_Is_Cleared_And_Nothing_Is_Reused()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root);
        var outDir = Path.Combine(root, "out");
        await KillAsync(outDir, "shard-closed-1");

        var again = await RunAsync(Build(outDir));

        Assert.True(again.ExitCode == 0, again.Error);
        Assert.DoesNotContain("resume:", again.Error, StringComparison.Ordinal);
        Assert.Equal(expected, TheOutputFolder.Snapshot(outDir));
    }

    [Fact]
    public async Task A_Torn_Last_Journal_Line_Is_Ignored()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root);
        var outDir = Path.Combine(root, "out");
        await KillAsync(outDir, "shard-closed-1");
        File.AppendAllText(Path.Combine(outDir, OutputFolder.StagingFolder, ResumeJournal.FileName), "{\"shard\":2,\"file\":\".coco-000");

        var log = await ResumeToAsync(outDir, expected, Build(outDir, extra: "--resume"));

        Assert.Equal(2, ReusedOf(log).Shards);
    }

    [Fact]
    public async Task Resume_With_Nothing_To_Resume_Builds_From_The_Start_And_Says_So()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root);
        var outDir = Path.Combine(root, "out");

        var r = await RunAsync(Build(outDir, extra: "--resume"));

        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("no finished work of an earlier run of this recipe was found", r.Error, StringComparison.Ordinal);
        Assert.Equal((0, 0), ReusedOf(r.Error));
        Assert.Equal(expected, TheOutputFolder.Snapshot(outDir));
    }
}
