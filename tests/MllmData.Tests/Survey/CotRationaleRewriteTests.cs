using System.Text.Json;
using MllmData.Generation;
using MllmData.Tests.Models;

namespace MllmData.Tests.Survey;

/// <summary><c>rewrite --prompt rationale</c>: a short chain of reasoning whose final answer must be the raw answer.</summary>
public class TheRationaleRewrite
{
    private static Dictionary<string, string> OpenAi(FakeModelServer server) => new() { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-test-rationale" };

    /// <summary>Replies per question of the sample build: right answers for img101 and the yes/no questions, one wrong and one without an answer line.</summary>
    private static FakeReply Reply(SeenRequest r)
    {
        var text = r.UserText;
        string Has(string q) => text.Contains(q, StringComparison.Ordinal) ? q : string.Empty;
        return (Has("What color is the box?"), Has("How many boxes"), Has("tall shape"), Has("shining")) switch
        {
            ({ Length: > 0 }, _, _, _) => FakeReply.Chat("The question asks for the colour of the box.\nThe box in the picture is painted a strong red.\n**Answer:** Red."),
            (_, { Length: > 0 }, _, _) => FakeReply.Chat("Only a single box stands in the scene.\nAnswer: one"),
            (_, _, { Length: > 0 }, _) => FakeReply.Chat("The tall shape looks like grass in the field.\nAnswer: green"),
            (_, _, _, { Length: > 0 }) => FakeReply.Chat("At night the brightest thing in the sky is the moon, so that is what shines."),
            _ => FakeReply.Chat("The scene settles it directly.\nAnswer: " + (text.Contains("Short answer: yes", StringComparison.Ordinal) ? "Yes" : "No")),
        };
    }

    [Fact]
    public async Task Keeps_A_Rationale_Ending_In_The_Answer_And_Rejects_A_Wrong_Or_Missing_Final_Answer()
    {
        using var server = new FakeModelServer(Reply);
        var input = TestPaths.NewTempDir();
        var build = await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", input);
        Assert.Equal(0, build.ExitCode);
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(OpenAi(server), ["rewrite", "--in", input, "--out", output, "--cache", Path.Combine(TestPaths.NewTempDir(), "c.db"), "--prompt", "rationale"]);
        Assert.True(run.ExitCode == 0, run.Error);

        // Every short answer was asked with the rationale prompt.
        Assert.Equal(7, server.Requests);
        Assert.All(server.Seen, s => Assert.EndsWith("then end with the line \"Answer: " + s.UserText.Split('\n')[1]["Short answer: ".Length..] + "\".", s.UserText, StringComparison.Ordinal));

        var lines = File.ReadAllLines(TestPaths.Shards(output).Single()).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var kept = lines.Single(l => l.GetProperty("id").GetString() == "vqav2-sample-img101");
        Assert.Equal(
            ["The question asks for the colour of the box.\nThe box in the picture is painted a strong red.\n**Answer:** Red.", "The scene settles it directly.\nAnswer: Yes", "Only a single box stands in the scene.\nAnswer: one"],
            [.. Enumerable.Range(0, 3).Select(i => kept.GetProperty("conversations")[(i * 2) + 1].GetProperty("value").GetString()!)]);
        Assert.Equal(["red", "yes", "1"], kept.GetProperty("meta").GetProperty("rewrite").GetProperty("raw_answers").EnumerateArray().Select(x => x.GetString()));
        Assert.DoesNotContain(lines, l => l.GetProperty("id").GetString() is "vqav2-sample-img102" or "vqav2-sample-img103");
        Assert.Equal(6, lines.Count);

        var rejects = File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["rationale-answer-mismatch", "rationale-no-final-answer"], rejects.Select(r => r.GetProperty("reason").GetString()));
        Assert.Contains("ends in the answer \"green\", not \"blue\"", rejects[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("does not end in a line \"Answer: moon\"", rejects[1].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("moon", "The light source is round and pale.\nFinal answer: the moon.", null)]
    [InlineData("2", "Two animals are visible.\n\n  answer : Two  \n", null)]
    [InlineData("yes", "It is sunny.\nAnswer: yes, it is", "rationale-answer-mismatch")]
    [InlineData("red", "The box is red.\nAnswer: blue", "rationale-answer-mismatch")]
    [InlineData("red", "The box is red, so the answer is red.", "rationale-no-final-answer")]
    [InlineData("red", "Answer: red\nThe box is red.", "rationale-no-final-answer")]
    [InlineData("red", "Reasoning first.\nAnswer:", "rationale-no-final-answer")]
    [InlineData("red", "Answer: red", "rationale-no-reasoning")]
    public void The_Final_Answer_Is_The_Last_Line_Reading_Answer_X_Compared_After_Vqa_Normalisation(string raw, string reply, string? reason)
    {
        Assert.Equal(reason, RewriteCheck.CheckRationale(raw, reply).Reason);
    }
}
