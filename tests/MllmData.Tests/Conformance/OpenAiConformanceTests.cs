using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MllmData.Tests.Conformance;

/// <summary>
/// Our openai output against OpenAI's schema (FineTuneChatRequestInput, tests/scripts/openai_schema_check.py) and
/// the vision fine-tuning rules the schema leaves out (<see cref="OpenAiConsumerRules"/>).
/// </summary>
public class TheOpenAiConsumer
{
    [Theory]
    [Trait("needs", "python")]
    [InlineData("auto")]
    [InlineData("low")]
    [InlineData("high")]
    public async Task Should_Pass_The_Schema_And_The_Image_Rules_On_Coco_With_The_Detail_Asked_For(string detail)
    {
        var outDir = await Consumers.CocoAsync("openai", "--image-detail", detail);
        var shard = TestPaths.Shards(outDir).Single();
        var (code, output) = await Consumers.CheckAsync("openai_schema_check.py", null, TestPaths.RealFile("validators", "openai-openapi", "openapi.yaml"), shard);
        Assert.True(code == 0, output);
        Assert.Equal("395 lines valid, 0 invalid", Consumers.Summary(output));

        var report = OpenAiConsumerRules.Check(shard, detail);
        Assert.Equal((395, 395), (report.Lines, report.Images));
        Assert.Empty(report.Problems);
    }

    [Fact]
    public async Task Should_Embed_Every_TextVqa_Image_In_Rgb_Or_Rgba_Mode()
    {
        var outDir = await Consumers.TextVqaAsync("openai");
        var report = OpenAiConsumerRules.Check(TestPaths.Shards(outDir).Single());
        Assert.Equal((5, 5), (report.Lines, report.Images));
        Assert.Empty(report.Problems);
    }

    [Fact]
    public async Task Should_Catch_Greyscale_Gif_Eleven_Images_Wrong_Detail_And_A_Missing_Answer_In_Crafted_Lines()
    {
        var dir = TestPaths.NewTempDir();
        string DataUrl(string type, byte[] bytes) => $"data:{type};base64,{Convert.ToBase64String(bytes)}";
        string Part(string url, string detail = "low") => $$$"""{"type":"image_url","image_url":{"url":"{{{url}}}","detail":"{{{detail}}}"}}""";
        string Line(string parts, bool answered = true) =>
            $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"What is shown?"},{{parts}}]}{{(answered ? ",{\"role\":\"assistant\",\"content\":\"A scene.\"}" : string.Empty)}}]}""";
        var rgb = DataUrl("image/jpeg", File.ReadAllBytes(Path.Combine(Consumers.CocoImages, "000000000139.jpg")));
        var grey = DataUrl("image/jpeg", File.ReadAllBytes(Path.Combine(Consumers.TextVqaRoot, "train_images", "005635e119b9f32f.jpg")));
        using var gifStream = new MemoryStream();
        using (var gif = new Image<Rgb24>(4, 4))
        {
            gif.SaveAsGif(gifStream);
        }

        var path = Path.Combine(dir, "crafted.jsonl");
        File.WriteAllLines(path,
        [
            Line(Part(rgb)),
            Line(Part(grey)),
            Line(Part(DataUrl("image/gif", gifStream.ToArray()))),
            Line(string.Join(",", Enumerable.Repeat(Part(rgb), 11))),
            Line(Part(rgb, "high")),
            Line(Part(rgb), answered: false),
        ]);

        var report = OpenAiConsumerRules.Check(path, "low");

        Assert.Equal(
            [
                "line 2: [O5] image 0 is in mode L; only RGB or RGBA are accepted",
                "line 3: [O5] image 0 is image/gif; only JPEG, PNG or WEBP are accepted",
                "line 4: [O5] 11 images; at most 10 per example",
                "line 5: [O2] image 0 detail is high, expected low",
                "line 6: [O4] the last message is not from the assistant",
            ],
            report.Problems);

        // Our own validator refuses the GIF data URL too.
        var validate = await CliRunner.RunAsync("validate", path, "--format", "openai");
        Assert.Equal(2, validate.ExitCode);
        Assert.Contains(path + ":line 3: bad-image-type:", validate.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Reject_A_Gif_Source_Image_Instead_Of_Embedding_It()
    {
        var dir = TestPaths.NewTempDir();
        using (var gif = new Image<Rgb24>(16, 16))
        {
            await gif.SaveAsGifAsync(Path.Combine(dir, "a.gif"));
        }

        File.Copy(Path.Combine(Consumers.CocoImages, "000000000139.jpg"), Path.Combine(dir, "b.jpg"));
        var input = Path.Combine(dir, "in.jsonl");
        File.WriteAllLines(input,
        [
            """{"image":"a.gif","q":"What colour is it?","a":"black"}""",
            """{"image":"b.jpg","q":"What room is this?","a":"a living room"}""",
        ]);
        var outDir = await Consumers.BuildAsync("--adapter", "jsonl", "--input", $"file={input}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", "--image-root", dir, "--format", "openai");

        Assert.Contains("living room", Assert.Single(File.ReadAllLines(TestPaths.Shards(outDir).Single())), StringComparison.Ordinal);
        var reject = JsonDocument.Parse(File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal("unknown-format", reject.GetProperty("reason").GetString());
        Assert.Empty(OpenAiConsumerRules.Check(TestPaths.Shards(outDir).Single()).Problems);
    }

    [Fact]
    public async Task Should_Reject_An_Eleven_Image_Record_And_Keep_A_Ten_Image_One()
    {
        var files = Directory.GetFiles(Consumers.CocoImages).Order(StringComparer.Ordinal).Select(Path.GetFileName).Take(11).ToList();
        string Record(string id, int n) => JsonSerializer.Serialize(new
        {
            id,
            image = files.Take(n),
            conversations = new object[]
            {
                new { from = "human", value = string.Concat(Enumerable.Repeat("<image>\n", n)) + "Which photo shows food?" },
                new { from = "gpt", value = "The first one." },
            },
        });
        var input = Path.Combine(TestPaths.NewTempDir(), "multi.json");
        File.WriteAllText(input, $"[{Record("ten", 10)},{Record("eleven", 11)}]");
        var outDir = await Consumers.BuildAsync("--adapter", "instructions", "--input", $"file={input}", "--image-root", Consumers.CocoImages, "--format", "openai");

        var report = OpenAiConsumerRules.Check(TestPaths.Shards(outDir).Single());
        Assert.Equal((1, 10), (report.Lines, report.Images));
        Assert.Empty(report.Problems);
        var reject = JsonDocument.Parse(File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal("too-many-images", reject.GetProperty("reason").GetString());
    }
}
