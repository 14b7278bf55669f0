using System.Text.Json;
using MllmData.Templates;

namespace MllmData.Tests.Survey;

/// <summary>Reasoning triggers of the cot pack appended to instructions by --cot-trigger (recipe key cot_trigger).</summary>
public class TheCotTrigger
{
    private static string Problems => Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", "problems.json");

    private static async Task<(int ExitCode, string Error, string OutDir, List<JsonElement> Records)> Build(params string[] args)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["build", "--out", outDir, .. args]);
        var records = TestPaths.Shards(outDir).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        return (r.ExitCode, r.Error, outDir, records);
    }

    private static string[] ScienceQa(params string[] extra) =>
        ["--adapter", "scienceqa", "--input", $"problems={Problems}", "--input", $"splits={TestPaths.RealFile("scienceqa", "pid_splits.json")}", "--split", "test", .. extra];

    private static string Human(JsonElement r) => r.GetProperty("conversations")[0].GetProperty("value").GetString()!;

    private static string LastLine(JsonElement r) => Human(r).Split('\n')[^1];

    [Fact]
    public async Task Random_Picks_One_Trigger_Per_Record_From_The_Seed_And_Records_Its_Id()
    {
        var built = await Build(ScienceQa("--cot-trigger", "random", "--suffix", "none", "--seed", "3"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(
            [
                ("scienceqa-4", "cot-05", "Explain your reasoning as you go, and end with the answer."),
                ("scienceqa-5", "cot-11", "Consider each part of the question separately, then put the parts together."),
                ("scienceqa-11", "cot-18", "Gather the relevant facts, reason over them in order, then answer."),
            ],
            built.Records.Select(r => (r.GetProperty("id").GetString(), r.GetProperty("meta").GetProperty("extra").GetProperty("cot_trigger").GetString(), LastLine(r))));
        Assert.Equal(
            "O wind, carry my words across the hills.\nScience question: Which figure of speech is used in this line?\nChoose one of these:\nA. chiasmus\nB. apostrophe\n"
            + "Explain your reasoning as you go, and end with the answer.",
            Human(built.Records[0]));

        // The same seed gives the same bytes; another seed another choice.
        var again = await Build(ScienceQa("--cot-trigger", "random", "--suffix", "none", "--seed", "3"));
        Assert.Equal(File.ReadAllBytes(TestPaths.Shards(built.OutDir).Single()), File.ReadAllBytes(TestPaths.Shards(again.OutDir).Single()));
        var other = await Build(ScienceQa("--cot-trigger", "random", "--suffix", "none", "--seed", "4"));
        Assert.NotEqual(
            built.Records.Select(r => r.GetProperty("meta").GetProperty("extra").GetProperty("cot_trigger").GetString()),
            other.Records.Select(r => r.GetProperty("meta").GetProperty("extra").GetProperty("cot_trigger").GetString()));
    }

    [Fact]
    public async Task A_Named_Trigger_Goes_On_Every_Record_After_The_Suffix()
    {
        var built = await Build(ScienceQa("--cot-trigger", "cot-01"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(3, built.Records.Count);
        Assert.All(built.Records, r => Assert.EndsWith("\nReply with the letter of the correct option only.\nThink it through step by step before you answer.", Human(r), StringComparison.Ordinal));

        // Without the flag nothing is appended and meta names no trigger.
        var plain = await Build(ScienceQa());
        Assert.All(plain.Records, r => Assert.EndsWith("\nReply with the letter of the correct option only.", Human(r), StringComparison.Ordinal));
        Assert.All(plain.Records, r => Assert.False(r.GetProperty("meta").GetProperty("extra").TryGetProperty("cot_trigger", out _)));
    }

    [Fact]
    public async Task The_Recipe_Key_Gives_The_Same_Bytes_As_The_Flag()
    {
        var dir = TestPaths.NewTempDir();
        var recipe = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(recipe, $"""
            seed: 3
            sources:
              - adapter: scienceqa
                inputs:
                  problems: {Problems}
                  splits: {TestPaths.RealFile("scienceqa", "pid_splits.json")}
                suffix: none
                cot_trigger: random
                options:
                  split: test
            """);
        var fromRecipe = await Build("--recipe", recipe);
        var fromFlags = await Build(ScienceQa("--cot-trigger", "random", "--suffix", "none", "--seed", "3"));
        Assert.True(fromRecipe.ExitCode == 0, fromRecipe.Error);
        Assert.Equal(
            fromFlags.Records.Select(r => Human(r)),
            fromRecipe.Records.Select(r => Human(r)));
    }

    [Fact]
    public async Task An_Unknown_Trigger_Is_A_Usage_Error_Before_Any_Folder_Is_Made()
    {
        var built = await Build(ScienceQa("--cot-trigger", "cot-99"));
        Assert.Equal(1, built.ExitCode);
        Assert.Contains("the cot pack has no trigger 'cot-99'", built.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(built.OutDir));
    }

    [Fact]
    public void The_Cot_Pack_Holds_At_Least_15_Distinct_Triggers_Without_Placeholders_And_Lints_Clean()
    {
        var pack = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates")).Get(CotTrigger.PackId);
        Assert.True(pack.Templates.Count >= 15, $"{pack.Templates.Count} triggers");
        Assert.All(pack.Templates, t => Assert.Empty(t.PlaceholderNames()));
        Assert.Empty(TemplateLinter.Lint(pack));
    }

    [Fact]
    public void No_Trigger_Refers_To_Seeing_So_Every_Trigger_Suits_Text_Only_Records()
    {
        // --cot-trigger random may give any trigger to a text-only record (e.g. a ScienceQA problem without an image).
        var pack = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates")).Get(CotTrigger.PackId);
        var seeing = new System.Text.RegularExpressions.Regex(@"\b(see|seen|saw|look|looking|image|picture|photo|visual|shown|shows)\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        Assert.All(pack.Templates, t => Assert.False(seeing.IsMatch(t.Text), $"{t.Id}: {t.Text}"));
    }

    [Fact]
    public async Task An_Evaluation_Set_Ends_Each_Question_Line_With_The_Trigger()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "eval");
        var r = await CliRunner.RunAsync(
            "build", "--adapter", "vqav2",
            "--input", $"questions={Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_OpenEnded_mscoco_train2014_questions.json")}",
            "--input", $"annotations={Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_mscoco_train2014_annotations.json")}",
            "--split-role", "eval", "--cot-trigger", "cot-01", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var lines = TestPaths.Shards(outDir).SelectMany(File.ReadAllLines).Where(l => l.Length > 0).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.EndsWith("\nThink it through step by step before you answer.", System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("text").GetString(), StringComparison.Ordinal));
        Assert.DoesNotContain("--cot-trigger on a training build", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Training_Build_With_A_Trigger_Is_Built_With_A_Warning_That_Its_Answers_Are_No_Reasoning()
    {
        var built = await Build(ScienceQa("--cot-trigger", "cot-01", "--suffix", "none", "--source-name", "sqa", "--format", "llava"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.NotEmpty(built.Records);
        Assert.Contains("source sqa: --cot-trigger on a training build pairs a request for step-by-step reasoning with the source's own answers; use it for an evaluation set, or turn the answers into reasoning with `mllmdata rewrite --prompt rationale`", built.Error, StringComparison.Ordinal);

        var plain = await Build(ScienceQa("--suffix", "none", "--format", "llava"));
        Assert.DoesNotContain("--cot-trigger on a training build", plain.Error, StringComparison.Ordinal);
    }
}
