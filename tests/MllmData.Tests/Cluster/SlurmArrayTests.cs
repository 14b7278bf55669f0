using System.Diagnostics;
using System.Text;

namespace MllmData.Tests.Cluster;

/// <summary>
/// docs/scale-out/slurm.sh under a real Slurm (tests/cluster/slurm-local.sh up, as .ci/run does): the array's parts merge
/// into the single run's bytes, and a failed task is named by the merge and re-run alone. Without a cluster (no
/// SLURM_CONF) the tests say so and pass, unless MLLMDATA_REQUIRE_SLURM=1 (set by .ci/run when the cluster came up).
/// </summary>
[Trait("needs", "cluster")]
public sealed class SlurmArrayTests
{
    private static readonly string Script = Path.Combine(TestPaths.RepoRoot, "docs", "scale-out", "slurm.sh");
    private static readonly string Recipe = Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml");

    private static bool ClusterUp()
    {
        var up = Environment.GetEnvironmentVariable("SLURM_CONF") is { Length: > 0 } conf && File.Exists(conf);
        Assert.True(up || Environment.GetEnvironmentVariable("MLLMDATA_REQUIRE_SLURM") != "1", "MLLMDATA_REQUIRE_SLURM=1 but SLURM_CONF names no slurm.conf");
        if (!up)
        {
            Console.Error.WriteLine("SlurmArrayTests: no local cluster (SLURM_CONF unset); run tests/cluster/slurm-local.sh up");
        }

        return up;
    }

    /// <summary>The tool as the array's tasks run it: the test build's mllmdata.dll, or a wrapper script.</summary>
    private static string Tool => "dotnet " + Path.Combine(AppContext.BaseDirectory, "mllmdata.dll");

    private static async Task<(int Code, string Output)> Bash(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await output + await error);
    }

    private static SortedDictionary<string, byte[]> Tree(string dir) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes), StringComparer.Ordinal);

    private static void AssertSameBytes(string expected, string actual)
    {
        var a = Tree(expected);
        var b = Tree(actual);
        Assert.Equal(a.Keys, b.Keys);
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), $"{kv.Key} differs"));
    }

    [Fact]
    public async Task An_Array_Of_Four_Tasks_Merges_Into_The_Single_Build_Byte_For_Byte()
    {
        if (!ClusterUp())
        {
            return;
        }

        var dir = TestPaths.NewTempDir();
        var single = Path.Combine(dir, "single");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Recipe, "--out", single)).ExitCode);

        var merged = Path.Combine(dir, "merged");
        var (code, output) = await Bash(new Dictionary<string, string> { ["MLLMDATA"] = Tool }, Script, Recipe, merged, "4");

        Assert.True(code == 0, output);
        Assert.Equal(4, Directory.GetDirectories(merged + ".parts", "part-*").Length);
        AssertSameBytes(single, merged);
    }

    [Fact]
    public async Task A_Failed_Task_Is_Named_By_The_Merge_And_Rerunning_Only_It_Gives_The_Same_Bytes()
    {
        if (!ClusterUp())
        {
            return;
        }

        var dir = TestPaths.NewTempDir();
        var single = Path.Combine(dir, "single");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Recipe, "--out", single)).ExitCode);

        // Task 2's process dies the first time (as a killed task would); the marker file lets its re-run through.
        var marker = Path.Combine(dir, "task-2-failed-once");
        var wrapper = Path.Combine(dir, "mllmdata-flaky.sh");
        File.WriteAllText(wrapper, new StringBuilder()
            .Append("#!/usr/bin/env bash\n")
            .Append($"if [ \"$1\" = build ] && [ \"${{SLURM_ARRAY_TASK_ID:-}}\" = 2 ] && [ ! -e '{marker}' ]; then touch '{marker}'; kill -9 $$; fi\n")
            .Append($"exec {Tool} \"$@\"\n").ToString());
        var env = new Dictionary<string, string> { ["MLLMDATA"] = "bash " + wrapper };
        var merged = Path.Combine(dir, "merged");

        var (failedCode, failedOutput) = await Bash(env, Script, Recipe, merged, "4");

        Assert.NotEqual(0, failedCode);
        Assert.Contains("merge: " + Path.Combine(merged + ".parts", "part-2") + " has no part.json", failedOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(merged, "manifest.json")));

        var (code, output) = await Bash(new Dictionary<string, string>(env) { ["ARRAY"] = "2" }, Script, Recipe, merged, "4");

        Assert.True(code == 0, output);
        AssertSameBytes(single, merged);
    }

    [Fact]
    public async Task A_Rewrite_As_An_Array_Of_Four_Tasks_Against_The_Loopback_Model_Merges_Into_The_Single_Rewrite_Byte_For_Byte()
    {
        if (!ClusterUp())
        {
            return;
        }

        // The array's tasks are processes slurmd starts on this host: they reach the model on 127.0.0.1 as one process does.
        using var server = new Models.FakeModelServer(r => Models.FakeReply.Chat(
            "In the picture: " + r.UserText.Split('\n').First(l => l.StartsWith("Short answer: ", StringComparison.Ordinal))["Short answer: ".Length..] + "."));
        var dir = TestPaths.NewTempDir();
        var built = Path.Combine(dir, "built");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Recipe, "--out", built)).ExitCode);
        var env = new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-test-slurm-0000", ["MLLMDATA"] = Tool };
        string[] Flags(string cache) => ["--select", "all", "--backoff", "0.05", "--cache", cache];

        var single = Path.Combine(dir, "single");
        var one = await Models.ChildCli.RunAsync(env, ["rewrite", "--in", built, "--out", single, .. Flags(Path.Combine(dir, "single.db"))]);
        Assert.True(one.ExitCode == 0, one.Error);
        var asked = server.Requests;
        Assert.True(asked > 0);

        var merged = Path.Combine(dir, "merged");
        var (code, output) = await Bash(env, [Script, "rewrite", built, merged, "4", "--", .. Flags(Path.Combine(dir, "array.db"))]);

        Assert.True(code == 0, output);
        Assert.Equal(4, Directory.GetDirectories(merged + ".parts", "part-*").Length);

        // Every answer was asked once more, shared out over the four tasks (their cache is another file).
        Assert.Equal(2 * asked, server.Requests);
        Assert.Contains("In the picture: ", File.ReadAllText(TestPaths.Shards(merged)[0]), StringComparison.Ordinal);
        AssertSameBytes(single, merged);
    }
}
