using MllmData.Cli;
using MllmData.Inputs;

namespace MllmData.Tests.Cli;

/// <summary>What a newcomer meets first: usage errors, help, the format and adapter listings, progress.</summary>
public class TheNewcomerPath
{
    [Theory]
    [InlineData(new[] { "build", "--container", "xml" }, "error: --container: Argument 'xml' not recognized. Must be one of jsonl, json, parquet\nsee mllmdata build --help\n")]
    [InlineData(new[] { "build", "--seed", "abc" }, "error: Cannot parse argument 'abc' for option '--seed' as a whole number.\nsee mllmdata build --help\n")]
    [InlineData(new[] { "build", "--weight-decay", "1" }, "error: Unrecognized command or argument '--weight-decay'.\nsee mllmdata build --help\n")]
    [InlineData(new[] { "score", "--metric", "bleu", "--predictions", "p.jsonl", "--answers", "a.jsonl" }, "error: --metric: Argument 'bleu' not recognized. Must be one of vqa, mc, exact, yesno, constraints\nsee mllmdata score --help\n")]
    public async Task A_Bad_Value_Is_One_Line_In_Words_And_A_Pointer_To_Help(string[] args, string expected)
    {
        var r = await CliRunner.RunAsync(args);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal(expected, r.Error);
        Assert.Equal(string.Empty, r.Output);
    }

    [Theory]
    [InlineData(new[] { "build", "--bogus" }, "error: Unrecognized command or argument '--bogus'.", "see mllmdata build --help")]
    [InlineData(new[] { "templates", "show" }, "error: Required argument 'pack' missing for command: 'show'.", "see mllmdata templates show --help")]
    [InlineData(new[] { "valdate" }, "error: Unrecognized command or argument 'valdate'.", "see mllmdata --help")]
    public async Task A_Usage_Error_Is_One_Line_And_A_Pointer_To_Help_On_Stderr_With_Nothing_On_Stdout(string[] args, string first, string second)
    {
        var r = await CliRunner.RunAsync(args);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal([first, second], r.Error.TrimEnd().Split('\n'));
        Assert.Equal(string.Empty, r.Output);
    }

    [Theory]
    [InlineData(new[] { "stats", "out", "--bogus" }, "--bogus", "see mllmdata stats --help")]
    [InlineData(new[] { "stats", "--html-reprot", "out" }, "--html-reprot", "see mllmdata stats --help")]
    [InlineData(new[] { "merge", "p0", "-x", "--out", "o" }, "-x", "see mllmdata merge --help")]
    [InlineData(new[] { "validate", "--format", "llava", "data.jsonl", "--strcit" }, "--strcit", "see mllmdata validate --help")]
    [InlineData(new[] { "batch", "status", "--bogus" }, "--bogus", "see mllmdata batch status --help")]
    public async Task An_Unknown_Option_Where_A_Path_Goes_Is_A_Usage_Error_Not_A_Missing_File(string[] args, string word, string help)
    {
        // A command that takes paths took an unknown option for one, and said "no such folder" (exit 2) instead.
        var r = await CliRunner.RunAsync(args);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal([$"error: Unrecognized option '{word}' (a file whose name starts with '-' is given as ./{word}, or after --)", help], r.Error.TrimEnd().Split('\n'));
        Assert.Equal(string.Empty, r.Output);
    }

    [Theory]
    [InlineData("validate", "--format", "llava", "--", "-odd.jsonl")]
    [InlineData("stats", "--", "-a", "-b")]
    [InlineData("validate", "--format", "llava", "-")]
    public void After_A_Double_Dash_A_Word_That_Starts_With_A_Dash_Is_A_Path_And_A_Lone_Dash_Is_An_Argument(params string[] args)
    {
        var parse = CliApp.CreateRoot().Parse(args);

        Assert.Empty(parse.Errors);
        Assert.Null(CliApp.OptionLike(parse));
    }

    [Fact]
    public async Task Build_Help_Shows_General_Options_Only_And_Points_To_The_Adapter_Listing()
    {
        var r = await CliRunner.RunAsync("build", "--help");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--format", r.Output, StringComparison.Ordinal);
        Assert.Contains("mllmdata sources ADAPTER", r.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("--unanswered", r.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("--group-by-image", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sources_Of_One_Adapter_Lists_Its_Flags_With_Values_And_Bare_Flags_Without()
    {
        var r = await CliRunner.RunAsync("sources", "vqav2");

        Assert.Equal(0, r.ExitCode);
        var lines = r.Output.Split('\n');
        Assert.StartsWith("vqav2  ", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("    --group-by-image  merge", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("    --answer VALUE  ", StringComparison.Ordinal) && l.EndsWith("[default: mc] [values: mc, majority]", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("coco-captions", StringComparison.Ordinal));
        Assert.Equal(1, (await CliRunner.RunAsync("sources", "vqa3")).ExitCode);
    }

    [Fact]
    public async Task Formats_Lists_Every_Registered_Format_With_Its_Consumer_And_Capabilities()
    {
        var r = await CliRunner.RunAsync("formats");

        Assert.Equal(0, r.ExitCode);
        foreach (var f in MllmData.Formats.FormatRegistry.All)
        {
            Assert.Contains($"{f.Name}: {f.Description}", r.Output, StringComparison.Ordinal);
            Assert.Contains($"  read by: {f.Consumer}", r.Output, StringComparison.Ordinal);
        }

        Assert.Contains("turns: one; system message: no", r.Output, StringComparison.Ordinal);
        Assert.Contains("shards split before: OpenAI fine-tuning upload limits", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_Off_A_Terminal_Is_A_Timestamped_Line_With_Records_Rate_And_Eta()
    {
        var counter = new ProgressCounter();
        counter.AddTotal(1000);
        counter.AddDone(250);
        for (var i = 0; i < 1234; i++)
        {
            counter.AddRecord();
        }

        counter.AddReject();
        using var error = new StringWriter();
        using (var display = new ProgressDisplay(counter, error, TimeSpan.FromHours(1), () => new DateTimeOffset(2026, 11, 28, 9, 5, 7, TimeSpan.Zero)))
        {
            display.Tick();
        }

        var line = error.ToString().TrimEnd();
        Assert.StartsWith("[2026-11-28 09:05:07] progress: 1,234 records  ", line, StringComparison.Ordinal);
        Assert.Contains("/s  1 rejects  25%  ETA ", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', line);
    }

    [Theory]
    [InlineData(100, 0, 0, 0, 10.0, "100 records  10/s  0 rejects")]
    [InlineData(500, 3, 50, 100, 5.0, "500 records  100/s  3 rejects  50%  ETA 00:00:05")]
    [InlineData(10, 0, 100, 100, 2.0, "10 records  5/s  0 rejects  100%  ETA 00:00:00")]
    public void A_Progress_Line_Gives_Percent_And_Eta_From_The_Input_Bytes(long records, long rejects, long done, long total, double seconds, string expected) =>
        Assert.Equal(expected, ProgressDisplay.Line(records, rejects, done, total, seconds));
}
