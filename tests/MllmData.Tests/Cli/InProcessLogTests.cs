namespace MllmData.Tests.Cli;

/// <summary>
/// A caller that gives its own error writer (a host embedding the tool, a test) gets the run's log there, at the level
/// --verbosity asks for; only the console keeps the progress-aware console sink.
/// </summary>
public class InProcessLogTests
{
    private static readonly string Recipe = Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml");

    [Fact]
    public async Task The_Log_Goes_To_The_Callers_Error_Writer_At_The_Asked_Level()
    {
        var normal = await CliRunner.RunAsync("build", "--recipe", Recipe, "--out", TestPaths.NewTempDir());
        Assert.Equal(0, normal.ExitCode);
        Assert.Contains("[INF] source vqav2-sample: 3 records", normal.Error, StringComparison.Ordinal);
        Assert.Contains("[INF] source coco-sample: 5 records", normal.Error, StringComparison.Ordinal);
        Assert.All(normal.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Matches(@"^\[(INF|WRN|DBG)\] ", l));

        var quiet = await CliRunner.RunAsync("build", "--recipe", Recipe, "--out", TestPaths.NewTempDir(), "-v", "quiet");
        Assert.Equal(0, quiet.ExitCode);
        Assert.Equal(string.Empty, quiet.Error);

        var minimal = await CliRunner.RunAsync("build", "--recipe", Recipe, "--out", TestPaths.NewTempDir(), "-v", "minimal");
        Assert.Equal(0, minimal.ExitCode);
        Assert.DoesNotContain("[INF]", minimal.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Warning_Of_A_Run_Is_Readable_In_Process()
    {
        // An ICL pool none of whose lines can serve is named in a warning (until now only a child process could show it).
        var pool = Path.Combine(TestPaths.NewTempDir(), "pool.jsonl");
        File.WriteAllText(pool, "{\"not\": \"a record\"}\n");
        var r = await CliRunner.RunAsync("build", "--recipe", Recipe, "--out", TestPaths.NewTempDir(), "--icl-shots", "1", "--icl-pool", pool, "-v", "minimal");
        // Every query is then rejected (exit 2, the data error); the warning comes first and says why.
        Assert.Equal(2, r.ExitCode);
        // One warning per source that would draw on the pool, each naming its source.
        Assert.StartsWith($"[WRN] --icl-pool {pool}: no line is a solved single-image record to use as an example for source vqav2-sample (lines passed over, by reason: unknown-format 1)", r.Error, StringComparison.Ordinal);
        Assert.Contains("error: source 'vqav2-sample' yielded no records", r.Error, StringComparison.Ordinal);
    }
}
