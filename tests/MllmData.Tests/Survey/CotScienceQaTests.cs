using System.Text.Json;

namespace MllmData.Tests.Survey;

/// <summary>ScienceQA's Multimodal-CoT stages, built from the fixture's problems with the real splits and captions.</summary>
public class TheScienceQaCotStages
{
    private static string Problems => Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", "problems.json");

    private sealed record Built(int ExitCode, string Error, List<JsonElement> Records, List<JsonElement> Rejects, string OutDir);

    private static async Task<Built> Build(params string[] args)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", "--out", outDir, "--adapter", "scienceqa", "--input", $"problems={Problems}", .. args]);
        var records = TestPaths.Shards(outDir).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var rejectsFile = Path.Combine(outDir, "rejects.jsonl");
        var rejects = File.Exists(rejectsFile) ? File.ReadLines(rejectsFile).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList() : [];
        return new Built(r.ExitCode, r.Error, records, rejects, outDir);
    }

    private static string[] TestSplit(params string[] extra) =>
    [
        "--input", $"splits={TestPaths.RealFile("scienceqa", "pid_splits.json")}", "--input", $"captions={TestPaths.RealFile("scienceqa", "captions.json")}",
        "--split", "test", .. extra,
    ];

    private static JsonElement ById(Built b, string id) => b.Records.Single(r => r.GetProperty("id").GetString() == id);

    private static (string Human, string Gpt) Turn(JsonElement llava) =>
        (llava.GetProperty("conversations")[0].GetProperty("value").GetString()!, llava.GetProperty("conversations")[1].GetProperty("value").GetString()!);

    private static string Stage(JsonElement record) => record.GetProperty("meta").GetProperty("extra").GetProperty("cot_stage").GetString()!;

    [Fact]
    public async Task Two_Stage_Makes_A_Rationale_Record_Then_An_Answer_Record_Per_Problem()
    {
        var built = await Build(TestSplit("--cot", "two-stage"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(
            ["scienceqa-4-rationale", "scienceqa-4-answer-given-rationale", "scienceqa-5-rationale", "scienceqa-5-answer-given-rationale", "scienceqa-11-rationale", "scienceqa-11-answer-given-rationale"],
            built.Records.Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(["rationale", "answer-given-rationale", "rationale", "answer-given-rationale", "rationale", "answer-given-rationale"], built.Records.Select(Stage));
        Assert.All(built.Records, r => Assert.Equal(r.GetProperty("id").GetString()!.Split('-')[1], r.GetProperty("meta").GetProperty("ids").GetProperty("pid").GetString()));
        Assert.Equal(["missing-field"], built.Rejects.Select(r => r.GetProperty("reason").GetString()));

        // Stage one: question, context and options in; the lecture, then the solution, out.
        Assert.Equal(
            ("Which figure of speech is used in this line?\nHelpful information: O wind, carry my words across the hills.\nPick one:\nA. chiasmus\nB. apostrophe\n"
             + "Explain the science behind the question and reason through the problem, without giving the answer letter.",
             "Figures of speech use words in non-literal ways.\nThe speaker talks to the wind, which cannot answer: that is apostrophe."),
            Turn(ById(built, "scienceqa-4-rationale")));

        // Stage two: the same input plus that rationale; the answer out.
        Assert.Equal(
            ("<image>\nContext: Engineers load a model bridge with sand bags. A large white kite is in the air.\nQuestion: Which goal does the test in the picture check?\n"
             + "Options:\nA. if the bridge holds the weight\nB. if the bridge is cheap\n"
             + "Rationale: Tests show whether a design meets its goals.\nThe sand bags measure how much weight the bridge can hold.\n"
             + "Choose with the help of the reasoning provided, and state the answer as \"The answer is X.\"",
             "The answer is A."),
            Turn(ById(built, "scienceqa-5-answer-given-rationale")));
        Assert.Equal("test/5/image.png", ById(built, "scienceqa-5-answer-given-rationale").GetProperty("image").GetString());

        // A problem with a solution and no lecture: the solution alone is the rationale.
        Assert.Equal("The highlighted colony is New Hampshire.", Turn(ById(built, "scienceqa-11-rationale")).Gpt);
        Assert.Contains("\nRationale: The highlighted colony is New Hampshire.\n", Turn(ById(built, "scienceqa-11-answer-given-rationale")).Human, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rationale")]
    [InlineData("answer-given-rationale")]
    public async Task One_Stage_Makes_Only_That_Stage_And_The_Same_Lines_As_Two_Stage(string stage)
    {
        var one = await Build(TestSplit("--cot", stage));
        var both = await Build(TestSplit("--cot", "two-stage"));
        Assert.True(one.ExitCode == 0, one.Error);
        Assert.Equal(["scienceqa-4-" + stage, "scienceqa-5-" + stage, "scienceqa-11-" + stage], one.Records.Select(r => r.GetProperty("id").GetString()));
        Assert.All(one.Records, r => Assert.Equal(stage, Stage(r)));
        var twoStageLines = both.Records.Select(r => r.GetRawText()).ToHashSet(StringComparer.Ordinal);
        Assert.All(one.Records, r => Assert.Contains(r.GetRawText(), twoStageLines));
    }

    [Fact]
    public async Task A_Problem_Without_Lecture_Or_Solution_Is_A_No_Rationale_Reject_For_Each_Stage()
    {
        var built = await Build("--split", "train", "--cot", "two-stage", "--allow-empty");
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Empty(built.Records);
        Assert.Equal(["no-rationale", "no-rationale"], built.Rejects.Select(r => r.GetProperty("reason").GetString()));
        Assert.EndsWith("(rationale)", built.Rejects[0].GetProperty("position").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("(answer-given-rationale)", built.Rejects[1].GetProperty("position").GetString(), StringComparison.Ordinal);

        // Without the stages the same problem still builds, as before.
        var lea = await Build("--split", "train", "--cot", "LEA");
        Assert.Equal("The answer is A.", Turn(lea.Records.Single()).Gpt);
        Assert.False(lea.Records.Single().GetProperty("meta").GetProperty("extra").TryGetProperty("cot_stage", out _));
        Assert.Equal("scienceqa-1", lea.Records.Single().GetProperty("id").GetString());
    }

    [Fact]
    public async Task The_Answer_Stage_Keeps_The_Rationale_In_The_Input_Of_A_Format_With_A_Separate_Input()
    {
        var built = await Build(TestSplit("--cot", "answer-given-rationale", "--format", "m3it", "--image-root", TestPaths.NewTempDir()));
        Assert.True(built.ExitCode == 0, built.Error);
        var record = built.Records.Single();
        Assert.Equal(
            "O wind, carry my words across the hills.\nWhich figure of speech is used in this line?\nA. chiasmus\nB. apostrophe\n"
            + "Figures of speech use words in non-literal ways.\nThe speaker talks to the wind, which cannot answer: that is apostrophe.",
            record.GetProperty("inputs").GetString());
        Assert.Equal("The answer is B.", record.GetProperty("outputs").GetString());
        Assert.EndsWith("\nChoose with the help of the reasoning provided, and state the answer as \"The answer is X.\"", record.GetProperty("instruction").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_Unknown_Cot_Value_Is_A_Usage_Error_Naming_The_Choices()
    {
        var built = await Build(TestSplit("--cot", "three-stage"));
        Assert.Equal(1, built.ExitCode);
        Assert.Contains("two-stage", built.Error, StringComparison.Ordinal);
        Assert.Empty(built.Records);
    }
}
