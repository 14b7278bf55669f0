using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using MllmData.Output;
using MllmData.Tests.Models;

namespace MllmData.Tests.Output;

/// <summary>The output folder: promoted whole, locked against a second run, never replacing an input, clean after failures.</summary>
public class TheOutputFolder
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    private static string[] Build(string outDir, int seed, string format = "template") =>
        ["build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--format", format, "--shard-records", "100", "--name", "coco", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", outDir];

    /// <summary>Every file of the folder (data/ included) by relative path, with its bytes' hash; a run's lock file aside.</summary>
    internal static SortedDictionary<string, string> Snapshot(string dir) =>
        new(Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != OutputFolder.LockFile)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);

    /// <summary>A manifest, where there is one, lists exactly the shards in data/ with their true checksums.</summary>
    private static bool ManifestMatches(string dir)
    {
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json"))).RootElement;
        var listed = manifest.GetProperty("shards").EnumerateArray().ToDictionary(s => s.GetProperty("path").GetString()!, s => s.GetProperty("sha256").GetString()!);
        var present = Directory.GetFiles(Path.Combine(dir, "data")).Select(f => Path.GetRelativePath(dir, f)).ToHashSet();
        return present.SetEquals(listed.Keys)
            && listed.All(kv => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, kv.Key)))) == kv.Value);
    }

    [Theory]
    [InlineData("staged", true)]
    [InlineData("manifest-removed", false)]
    [InlineData("shard-promoted", false)]
    [InlineData("before-manifest", false)]
    public async Task A_Kill_At_Any_Step_Of_The_Promotion_Leaves_The_Old_Output_Or_No_Manifest_And_The_Next_Run_Completes(string point, bool oldOutputKept)
    {
        var root = TestPaths.NewTempDir();
        var outDir = Path.Combine(root, "out");
        var clean = Path.Combine(root, "clean");
        Assert.Equal(0, (await CliRunner.RunAsync(Build(outDir, 1))).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(Build(clean, 2))).ExitCode);
        var before = Snapshot(outDir);

        var killed = await ChildCli.RunAsync(new Dictionary<string, string> { ["MLLMDATA_FAULT"] = "kill-at:" + point }, Build(outDir, 2));
        Assert.NotEqual(0, killed.ExitCode);

        if (oldOutputKept)
        {
            // Killed before the promotion began: the previous build is untouched (the staging folder aside).
            Assert.Equal(before, new SortedDictionary<string, string>(Snapshot(outDir).Where(kv => !kv.Key.StartsWith(".staging", StringComparison.Ordinal)).ToDictionary(), StringComparer.Ordinal));
            Assert.True(ManifestMatches(outDir));
        }
        else
        {
            // Killed during the promotion: no manifest, so no reader takes the half-promoted shards for a build.
            Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));
        }

        var again = await CliRunner.RunAsync(Build(outDir, 2));
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.False(Directory.Exists(Path.Combine(outDir, ".staging")));
        Assert.True(ManifestMatches(outDir));
        Assert.Equal(Snapshot(clean), Snapshot(outDir));
    }

    [Fact]
    public async Task The_Next_Run_Removes_What_A_Killed_Run_Left_And_Nothing_Else()
    {
        var outDir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(outDir, ".staging", "data"));
        File.WriteAllText(Path.Combine(outDir, ".staging", "data", ".coco-00000.jsonl.tmp"), "half");
        Directory.CreateDirectory(Path.Combine(outDir, "images"));
        File.WriteAllText(Path.Combine(outDir, "images", ".abc.jpg.7.tmp"), "half");
        File.WriteAllText(Path.Combine(outDir, ".manifest.json.tmp"), "half");
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "the user's own file");

        Assert.Equal(0, (await CliRunner.RunAsync(Build(outDir, 1))).ExitCode);

        Assert.False(Directory.Exists(Path.Combine(outDir, ".staging")));
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal("the user's own file", File.ReadAllText(Path.Combine(outDir, "notes.txt")));
        Assert.True(ManifestMatches(outDir));
    }

    [Fact]
    public async Task A_Second_Run_On_A_Folder_In_Use_Is_Refused_With_Exit_1_And_Leaves_The_Folder_As_It_Was()
    {
        var outDir = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync(Build(outDir, 1))).ExitCode);
        var before = Snapshot(outDir);
        using (new FileStream(Path.Combine(outDir, OutputFolder.LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var second = await CliRunner.RunAsync(Build(outDir, 2));
            Assert.Equal(1, second.ExitCode);
            Assert.Contains("another run is writing to this output folder", second.Error, StringComparison.Ordinal);
            Assert.Single(second.Error.Trim().Split('\n'));
        }

        Assert.Equal(before, Snapshot(outDir));
    }

    [Fact]
    public async Task Two_Builds_Started_Together_On_One_Folder_Give_One_Success_And_One_Clear_Refusal()
    {
        var outDir = TestPaths.NewTempDir();
        var a = ChildCli.RunAsync(new Dictionary<string, string>(), Build(outDir, 1));
        var b = ChildCli.RunAsync(new Dictionary<string, string>(), Build(outDir, 1));
        var results = await Task.WhenAll(a, b);

        // Both may finish one after the other; when they overlap, the later one is refused, never a crash or a mix.
        Assert.All(results, r => Assert.True(r.ExitCode == 0 || (r.ExitCode == 1 && r.Error.Contains("another run is writing", StringComparison.Ordinal)), r.Error));
        Assert.Contains(results, r => r.ExitCode == 0);
        Assert.True(ManifestMatches(outDir));
    }

    [Fact]
    public async Task An_Output_Folder_Whose_Data_Holds_An_Input_Is_Refused_And_The_Input_Keeps_Its_Bytes()
    {
        var outDir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(outDir, "data"));
        var input = Path.Combine(outDir, "data", "captions.json");
        File.Copy(Captions, input);
        var bytes = File.ReadAllBytes(input);

        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={input}", "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("would replace or delete the input", r.Error, StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(input));
        Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));
    }

    [Fact]
    public async Task An_Input_Reached_Through_A_Link_Into_The_Output_Is_Refused_Too()
    {
        var root = TestPaths.NewTempDir();
        var outDir = Path.Combine(root, "out");
        Directory.CreateDirectory(Path.Combine(outDir, "data"));
        var real = Path.Combine(outDir, "data", "captions.json");
        File.Copy(Captions, real);
        var link = Path.Combine(root, "inputs");
        Directory.CreateSymbolicLink(link, Path.Combine(outDir, "data"));

        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={Path.Combine(link, "captions.json")}", "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal(File.ReadAllBytes(Captions), File.ReadAllBytes(real));
    }

    [Fact]
    public async Task Rewrite_Into_Its_Own_Input_Folder_Is_Refused_And_Leaves_The_Shards_Unchanged()
    {
        var dir = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync(Build(dir, 1, "llava"))).ExitCode);
        var before = Snapshot(dir);

        var live = await ChildCli.RunAsync(new Dictionary<string, string> { ["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1", ["OPENAI_API_KEY"] = "k" }, ["rewrite", "--in", dir, "--out", dir + "/", "--model", "m", "--cache", Path.Combine(TestPaths.NewTempDir(), "c.db")]);

        Assert.Equal(1, live.ExitCode);
        Assert.Contains("would replace or delete the input", live.Error, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(dir));
    }

    [Fact]
    public async Task A_Full_Disk_Is_A_Clear_Exit_2_And_Leaves_No_Temporary_Files()
    {
        var mountPoint = TestPaths.NewTempDir();
        using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint]) { RedirectStandardError = true })!;
        await mount.WaitForExitAsync();
        Assert.True(mount.ExitCode == 0, "this test mounts a 64 KB tmpfs (as root): " + await mount.StandardError.ReadToEndAsync());
        try
        {
            var outDir = Path.Combine(mountPoint, "out");
            var r = await CliRunner.RunAsync(Build(outDir, 1));

            Assert.Equal(2, r.ExitCode);
            Assert.Contains("No space left on device", r.Error, StringComparison.Ordinal);
            // The run made the folder, so it removes it with everything it wrote.
            Assert.False(Directory.Exists(outDir));
            Assert.Empty(Directory.GetFileSystemEntries(mountPoint, "*", SearchOption.AllDirectories));
        }
        finally
        {
            // While the whole suite runs, another process can hold the mount for a moment (umount: target is busy); a lazy
            // unmount then detaches it at once and frees it when the last holder lets go, so no mount outlives the run.
            using var umount = Process.Start("umount", [mountPoint]);
            await umount.WaitForExitAsync();
            if (umount.ExitCode != 0)
            {
                using var lazy = Process.Start("umount", ["-l", mountPoint]);
                await lazy.WaitForExitAsync();
            }
        }
    }
}

public class AFailedRun
{
    private static readonly string Questions = TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json");

    [Fact]
    public async Task Leaves_No_Folder_It_Made_When_The_Source_Refuses_Late()
    {
        // OK-VQA questions without annotations: refused when the source is opened, after the folder was made.
        var outDir = Path.Combine(TestPaths.NewTempDir(), "never");
        var r = await CliRunner.RunAsync("build", "--adapter", "okvqa", "--input", $"questions={Questions}", "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Keeps_A_Folder_That_Was_There_Before_With_Its_Files()
    {
        var outDir = TestPaths.NewTempDir();
        var mine = Path.Combine(outDir, "notes.txt");
        File.WriteAllText(mine, "kept");
        var r = await CliRunner.RunAsync("build", "--adapter", "okvqa", "--input", $"questions={Questions}", "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName));
        Assert.Equal("kept", File.ReadAllText(mine));
    }
}
