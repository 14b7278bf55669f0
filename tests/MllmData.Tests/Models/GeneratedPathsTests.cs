namespace MllmData.Tests.Models;

/// <summary>Rewrite and self-instruct outputs hold no absolute local path, like builds.</summary>
public class TheGeneratedOutputPaths
{
    private static readonly string TempRoot = Path.Combine(Path.GetTempPath(), "mllmdata-tests");

    private static void AssertNoLocalPath(string dir)
    {
        foreach (var file in Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".jpg", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(TempRoot, File.ReadAllText(file), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rewrite_Writes_Shard_Paths_Relative_To_Its_Output_In_The_Manifest_And_The_Rejects()
    {
        // Replies to the colour questions drop the answer, so the run has rejects to write (chosen by content, not by
        // arrival order, which retries and concurrency change).
        using var server = new FakeModelServer(r => r.UserText.Contains("color", StringComparison.Ordinal) ? FakeReply.Chat("I cannot tell from the picture.") : FakeModelServer.Faithful(r));
        var input = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", input)).ExitCode);
        var output = TestPaths.NewTempDir();

        var run = await ChildCli.RunAsync(
            new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-paths" },
            ["rewrite", "--in", input, "--out", output, "--cache", Path.Combine(TestPaths.NewTempDir(), "c.db"), "--backoff", "0.05"]);

        Assert.True(run.ExitCode == 0, run.Error);
        var rejects = File.ReadAllLines(Path.Combine(output, "rejects.jsonl"));
        Assert.NotEmpty(rejects);
        Assert.All(rejects, r => Assert.Contains($"\"file\":\"../{Path.GetFileName(input)}/data/samples-00000-of-00001.jsonl\"", r, StringComparison.Ordinal));
        AssertNoLocalPath(output);
    }
}
