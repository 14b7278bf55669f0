using System.Text.Json.Nodes;

namespace MllmData.Tests.Conformance;

/// <summary>build → validate → instructions adapter → build, through the command line, per readable format.</summary>
public class TheRoundTrip
{
    [Theory]
    [InlineData("sharegpt")]
    [InlineData("swift")]
    [InlineData("openai")]
    [InlineData("m3it")]
    public async Task Should_Rebuild_Coco_Byte_Identical_From_Its_Own_Output(string format)
    {
        var (first, second) = await RoundTrip(format);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public async Task Should_Rebuild_Llava_Identical_But_For_The_Ids_The_Instructions_Source_Prefixes()
    {
        // The instructions adapter names records "<source>-<id read>" (here "instructions-coco-captions-img…"), by design.
        var (first, second) = await RoundTrip("llava");
        var before = File.ReadAllLines(first).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var after = File.ReadAllLines(second).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(79, after.Count);
        Assert.Equal(before.Select(r => "instructions-" + (string)r["id"]!), after.Select(r => (string)r["id"]!));
        foreach (var r in before.Concat(after))
        {
            r.Remove("id");
        }

        Assert.Equal(before.Select(r => r.ToJsonString()), after.Select(r => r.ToJsonString()));
    }

    [Fact]
    public async Task Should_Rebuild_The_ScienceQA_Text_And_Image_Mix_Byte_Identical_In_Sharegpt()
    {
        var outDir = await Consumers.ScienceQaMixAsync("sharegpt", "--no-meta");
        var first = TestPaths.Shards(outDir).Single();
        Assert.Equal(0, (await CliRunner.RunAsync("validate", first, "--format", "sharegpt")).ExitCode);
        var again = await Consumers.BuildAsync("--adapter", "instructions", "--input", $"file={first}", "--input-format", "sharegpt", "--format", "sharegpt", "--no-meta");
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(TestPaths.Shards(again).Single()));
    }

    private static async Task<(string First, string Second)> RoundTrip(string format)
    {
        var outDir = await Consumers.CocoAsync(format, "--no-meta", "--per-image");
        var first = TestPaths.Shards(outDir).Single();
        var validate = await CliRunner.RunAsync("validate", first, "--format", format);
        Assert.True(validate.ExitCode == 0, validate.Output);

        // Embedded images (openai, m3it) come back from the lines themselves; path formats need the image root again.
        string[] images = format is "openai" or "m3it" ? [] : ["--image-root", Consumers.CocoImages];
        var again = await Consumers.BuildAsync(["--adapter", "instructions", "--input", $"file={first}", "--input-format", format, .. images, "--format", format, "--no-meta"]);
        return (first, TestPaths.Shards(again).Single());
    }
}
