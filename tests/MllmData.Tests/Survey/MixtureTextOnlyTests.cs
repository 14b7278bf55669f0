using System.Text.Json;
using System.Text.RegularExpressions;
using MllmData.Templates;

namespace MllmData.Tests.Survey;

/// <summary>Text-only sources for mixtures: Alpaca lines read back, no image key or placeholder, never an image template.</summary>
public partial class TheMixtureTextOnlySources
{
    private static readonly string Alpaca = Path.Combine(TestPaths.RepoRoot, "samples", "text", "alpaca-40.jsonl");

    private static async Task<string> Build(params string[] args)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", .. args, "--out", outDir]);
        Assert.True(r.ExitCode == 0, r.Error);
        return outDir;
    }

    private static List<string> Lines(string outDir) => [.. TestPaths.Shards(outDir).SelectMany(File.ReadLines)];

    private static List<(string Position, string Reason)> Rejects(string outDir) =>
        [.. File.ReadLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (e.GetProperty("position").GetString()!, e.GetProperty("reason").GetString()!))];

    [Fact]
    public async Task Reads_Alpaca_Lines_As_One_Turn_Text_Records_Without_An_Image()
    {
        var llava = Lines(await Build("--adapter", "instructions", "--input", $"file={Alpaca}", "--format", "llava", "--no-meta"));
        var sharegpt = Lines(await Build("--adapter", "instructions", "--input", $"file={Alpaca}", "--format", "sharegpt"));

        Assert.Equal(40, llava.Count);
        Assert.Equal("""{"id":"instructions-l2","conversations":[{"from":"human","value":"Add the two numbers.\n17 and 25"},{"from":"gpt","value":"17 + 25 = 42."}]}""", llava[1]);
        Assert.Equal("""{"id":"instructions-l1","conversations":[{"from":"human","value":"Name three primary colours."},{"from":"gpt","value":"Red, yellow and blue are the traditional primary colours in painting."}]}""", llava[0]);

        // LLaMA-Factory's sharegpt layout keeps an empty image list; no placeholder anywhere.
        Assert.Equal("""{"messages":[{"role":"user","content":"Add the two numbers.\n17 and 25"},{"role":"assistant","content":"17 + 25 = 42."}],"images":[]}""", sharegpt[1]);
        Assert.All(llava.Concat(sharegpt), l => Assert.DoesNotContain("<image>", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reads_Alpaca_History_As_Earlier_Turns()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "chat.jsonl");
        File.WriteAllText(file, """{"instruction":"And in Celsius?","input":"","output":"About 37 degrees.","history":[["What is normal body temperature in Fahrenheit?","About 98.6 degrees."]]}""" + "\n");

        var line = Assert.Single(Lines(await Build("--adapter", "instructions", "--input", $"file={file}", "--no-meta")));

        Assert.Equal("""{"id":"instructions-l1","conversations":[{"from":"human","value":"What is normal body temperature in Fahrenheit?"},{"from":"gpt","value":"About 98.6 degrees."},{"from":"human","value":"And in Celsius?"},{"from":"gpt","value":"About 37 degrees."}]}""", line);
    }

    [Fact]
    public async Task Rejects_Bad_Alpaca_Lines_With_A_Reason()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "bad.jsonl");
        File.WriteAllLines(file,
        [
            """{"instruction":"Say hi.","output":""}""",
            """{"instruction":"Say hi.","output":5}""",
            """{"instruction":"Say hi.","output":"Hi.","history":[["only one"]]}""",
            """{"instruction":"Say hi.","input":"","output":"Hi."}""",
            """{"instruction":"Say hi.","input":"no output"}""",
        ]);

        var outDir = await Build("--adapter", "instructions", "--input", $"file={file}");

        Assert.Equal(["instructions-l4"], Lines(outDir).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()));
        Assert.Equal([("line 1", "empty-content"), ("line 2", "wrong-type"), ("line 3", "wrong-type"), ("line 5", "unknown-format")], Rejects(outDir));

        // Named explicitly, a line without output is a missing field.
        var named = await Build("--adapter", "instructions", "--input", $"file={file}", "--input-format", "alpaca");
        Assert.Equal(("line 5", "missing-field"), Rejects(named)[^1]);
    }

    [GeneratedRegex(@"\b(image|images|picture|photo|photograph|scene|visual|shown|see|look|view)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ImageWords();

    [Fact]
    public async Task Gives_Rows_Without_An_Image_The_Text_Pack_Whose_Templates_Never_Mention_An_Image()
    {
        var pack = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates")).Get("text");
        Assert.True(pack.Templates.Count >= 15);
        Assert.All(pack.Templates, t => Assert.DoesNotMatch(ImageWords(), t.Text));

        var file = Path.Combine(TestPaths.NewTempDir(), "rows.jsonl");
        File.WriteAllLines(file, Enumerable.Range(1, 30).Select(i => $$"""{"q":"What is {{i}} plus {{i}}?","a":"{{2 * i}}"}"""));
        var outDir = await Build("--adapter", "jsonl", "--input", $"file={file}", "--map", "question=q", "--map", "answer=a", "--seed", "3");

        var records = Lines(outDir).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(30, records.Count);
        foreach (var r in records)
        {
            Assert.False(r.TryGetProperty("image", out _));
            Assert.Equal("text", r.GetProperty("meta").GetProperty("task").GetString());
            Assert.StartsWith("text-", r.GetProperty("meta").GetProperty("templates")[0].GetString(), StringComparison.Ordinal);
            var human = r.GetProperty("conversations")[0].GetProperty("value").GetString()!;
            Assert.DoesNotMatch(ImageWords(), human);
            Assert.Contains("plus", human, StringComparison.Ordinal);
        }
    }
}
