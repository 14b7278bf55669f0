using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using MllmData.Stats;
using MllmData.Templates;
using MllmData.Tests.Models;

namespace MllmData.Tests.Stats;

/// <summary>
/// A rewrite and a self-instruct run write a dataset card too: the build's front matter and figures (from their own
/// shards), their settings from the manifest in place of a recipe, and nothing that differs between runs that end with
/// the same records (usage and cost stay in the manifest).
/// </summary>
public sealed class DerivedCardTests
{
    private static JsonElement Manifest(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json"))).RootElement;

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The card lists itself in the manifest with its size and sha256, and its figures are the output's own.</summary>
    private static string CheckCard(string dir, string kind, string name)
    {
        var path = Path.Combine(dir, "README.md");
        var bytes = File.ReadAllBytes(path);
        var card = Manifest(dir).GetProperty("card");
        Assert.Equal("README.md", card.GetProperty("path").GetString());
        Assert.Equal(bytes.LongLength, card.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), card.GetProperty("sha256").GetString());

        var text = File.ReadAllText(path);
        Assert.StartsWith($"---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: \"data/{name}-*.jsonl\"\nlicense: \"unknown\"\n", text, StringComparison.Ordinal);
        Assert.Contains($"# {name}\n\nMade by `mllmdata {kind}` ", text, StringComparison.Ordinal);

        // The figures a test reads from the output's shards, the way `mllmdata stats` does.
        var stats = StatsReader.Read(dir, new QuestionFinder(TemplateLibrary.Load(TemplateLibrary.LocateRoot(null))));
        var o = stats.Overall;
        Assert.Equal(Manifest(dir).GetProperty("records").GetInt64(), o.Records);
        Assert.True(o.Records > 0, "the run wrote records");
        Assert.Contains(I($"| records | {o.Records} |"), text, StringComparison.Ordinal);
        Assert.Contains(I($"| answers of ≤3 words | {o.ShortAnswers} of {o.Answers} ("), text, StringComparison.Ordinal);
        Assert.Contains(I($"| answer tokens | mean {o.AnswerTokens.Mean:0.##}, p50 {o.AnswerTokens.Percentile(50)}, p90 {o.AnswerTokens.Percentile(90)}, max {o.AnswerTokens.Max} |"), text, StringComparison.Ordinal);
        Assert.DoesNotContain("usage.", text, StringComparison.Ordinal);
        return text;
    }

    [Fact]
    public async Task A_Rewrite_Writes_A_Card_Of_Its_Longer_Answers_And_Its_Settings()
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var input = TestPaths.NewTempDir();
        var build = await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", input);
        Assert.True(build.ExitCode == 0, build.Error);
        var output = TestPaths.NewTempDir();
        var env = new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-card" };
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var run = await ChildCli.RunAsync(env, ["rewrite", "--in", input, "--out", output, "--cache", cache, "--backoff", "0.05"]);
        Assert.True(run.ExitCode == 0, run.Error);

        var text = CheckCard(output, "rewrite", "samples");
        var rewrite = Manifest(output).GetProperty("rewrite");
        Assert.Contains(I($"| rewritten\\_answers | {rewrite.GetProperty("rewritten_answers").GetInt64()} |"), text, StringComparison.Ordinal);
        Assert.Contains($"| prompt\\_version | \"{rewrite.GetProperty("prompt_version").GetString()}\" |", text, StringComparison.Ordinal);
        Assert.Contains("with the model `gpt-4o-mini`", text, StringComparison.Ordinal);

        // The answers got longer: the input build's card counted more short answers than the rewrite's.
        var before = StatsReader.Read(input, new QuestionFinder(null)).Overall;
        var after = StatsReader.Read(output, new QuestionFinder(null)).Overall;
        Assert.True(after.ShortAnswers < before.ShortAnswers, $"{after.ShortAnswers} short answers after, {before.ShortAnswers} before");

        // A second run answered from the cache (no model call) ends with the same records and the same card, though its
        // usage (cache hits, no requests) differs from the first run's.
        var again = TestPaths.NewTempDir();
        var requests = server.Requests;
        Assert.Equal(0, (await ChildCli.RunAsync(env, ["rewrite", "--in", input, "--out", again, "--cache", cache, "--backoff", "0.05"])).ExitCode);
        Assert.Equal(requests, server.Requests);
        Assert.NotEqual(Manifest(output).GetProperty("usage").GetRawText(), Manifest(again).GetProperty("usage").GetRawText());
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "README.md")), File.ReadAllBytes(Path.Combine(again, "README.md")));
    }

    [Fact]
    public async Task A_Self_Instruct_Run_Writes_A_Card_Of_What_The_Model_Wrote()
    {
        // A long description of each image, made from its first caption so no two are near duplicates.
        using var server = new FakeModelServer(r => FakeReply.Chat(
            "The picture shows an everyday scene. " + (r.UserText.Split('\n').FirstOrDefault(l => l.StartsWith("- ", StringComparison.Ordinal)) ?? r.UserText)[2..]
            + " Light falls evenly across everything in the frame, and the objects sit where one would expect them to be, which gives the whole image a natural and relaxed feeling that invites a closer look at each of its parts."));
        var output = TestPaths.NewTempDir();
        var env = new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-card" };
        var captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
        var instances = TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json");
        var run = await ChildCli.RunAsync(
            env,
            ["self-instruct", "--adapter", "coco-captions", "--input", $"captions={captions}", "--input", $"instances={instances}", "--kinds", "detail", "--out", output, "--cache", Path.Combine(TestPaths.NewTempDir(), "c.db"), "--backoff", "0.05", "--seed", "3"],
            timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.Error);

        var text = CheckCard(output, "self-instruct", "self-instruct");
        var section = Manifest(output).GetProperty("self_instruct");
        Assert.Contains(I($"| records\\_by\\_kind | {{\"detail\":{section.GetProperty("records_by_kind").GetProperty("detail").GetInt64()}}} |"), text, StringComparison.Ordinal);
    }
}
