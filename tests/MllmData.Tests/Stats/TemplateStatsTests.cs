using System.Text.Json.Nodes;
using MllmData.Formats;

namespace MllmData.Tests.Stats;

/// <summary>Template-form lines are not read back into turns, but their images are counted, in the card and in `stats`.</summary>
public class TheFiguresOfATemplateBuild
{
    [Fact]
    public async Task Count_The_Images_Of_Every_Line()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var build = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json")}", "--format", "template", "--out", outDir);
        Assert.True(build.ExitCode == 0, build.Error);
        var lines = TestPaths.Shards(outDir).SelectMany(File.ReadLines).ToList();
        var images = lines.Sum(l => ((JsonArray)JsonNode.Parse(l)!["images"]!).Count);
        Assert.Equal(lines.Count, images); // one image a caption record

        var json = Path.Combine(outDir, "..", "stats.json");
        var stats = await CliRunner.RunAsync("stats", outDir, "--json", json);
        Assert.True(stats.ExitCode == 0, stats.Error);
        // Turns and text are unknown, not zero: each such figure says "-".
        Assert.Contains($"records {lines.Count}, turns -, images {images},", stats.Output, StringComparison.Ordinal);
        Assert.Contains("turns/record: -\n", stats.Output, StringComparison.Ordinal);
        Assert.Contains("images/record: mean 1, p50 1, p90 1, p99 1, max 1", stats.Output, StringComparison.Ordinal);
        Assert.Contains("answers of <=3 words: -\n", stats.Output, StringComparison.Ordinal);
        Assert.Contains("answer kinds: -; yes share of yes/no -\n", stats.Output, StringComparison.Ordinal);
        Assert.Contains($"  coco-captions: records {lines.Count}, turns/record -, images/record 1, answer tokens p50 - mean -, <=3 words -, yes share -\n", stats.Output, StringComparison.Ordinal);

        var card = File.ReadAllText(Path.Combine(outDir, "README.md"));
        Assert.Contains("template lines cannot be read back into turns: the turn and text figures are left out (-).\n\n| figure | value |", card, StringComparison.Ordinal);
        Assert.Contains("| turns per record | - |\n", card, StringComparison.Ordinal);
        Assert.Contains("| answers of ≤3 words | - |\n| answer kinds | - |\n| yes share of yes/no answers | - |\n", card, StringComparison.Ordinal);
        Assert.Contains($"| caption | {lines.Count} | - | - |\n", card, StringComparison.Ordinal);

        // Side by side with a LLaVA build of the same captions: the template side and the change say "-", not 0.
        var llava = Path.Combine(TestPaths.NewTempDir(), "llava");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json")}", "--format", "llava", "--out", llava)).ExitCode);
        var compare = await CliRunner.RunAsync("stats", outDir, llava);
        Assert.True(compare.ExitCode == 0, compare.Error);
        var rows = compare.Output.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Split(l.Trim(), @"\s{2,}")).Where(c => c.Length == 4).ToDictionary(c => c[0], c => (c[1], c[2], c[3]));
        Assert.Equal(("-", $"{lines.Count}", "-"), rows["turns"]);
        Assert.Equal(("-", "1", "-"), rows["turns/record mean"]);
        Assert.Equal("-", rows["answer tokens mean"].Item1);
        Assert.Equal(("-", "-", "-"), rows["yes share of yes/no %"]);
        Assert.Equal(("-", "0", "-"), rows["answers: yes"]); // unknown on the template side, a known 0 on the LLaVA side
        Assert.Equal(("-", $"{lines.Count}", "-"), rows["answers: other"]);
        Assert.Equal((lines.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), lines.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "0"), rows["records"]);
        Assert.Equal(images, (int)JsonNode.Parse(File.ReadAllText(json))!["overall"]!["images"]!);
    }

    [Fact]
    public void Take_The_Paths_Of_The_Images_List_And_Nothing_Else()
    {
        var format = new TemplateFormat();
        Assert.Equal(["a.jpg", "b/c.png"], format.Images(new JsonObject { ["images"] = new JsonArray("a.jpg", "b/c.png") }));
        Assert.Equal(["a.jpg"], format.Images(new JsonObject { ["images"] = new JsonArray("a.jpg", 3, null, new JsonObject()) }));
        Assert.Empty(format.Images(new JsonObject { ["images"] = "a.jpg" }));
        Assert.Empty(format.Images(new JsonObject { ["text"] = "<BOS> x <EOS>" }));
    }
}
