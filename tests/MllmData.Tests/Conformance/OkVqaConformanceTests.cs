using System.Text.Json;

namespace MllmData.Tests.Conformance;

/// <summary>
/// A real OK-VQA build, multi-turn (questions of one image grouped where an image has several), checked by each consumer's rules. The COCO
/// val2014 images are not among the fixtures, so image existence is not checked here (the coco-mini and TextVQA
/// builds check it).
/// </summary>
[Trait("needs", "python")]
public class TheOkVqaBuilds
{
    [Fact]
    public async Task Should_Load_In_Llava_From_Each_Of_Three_Json_Shards()
    {
        var outDir = await Consumers.OkVqaAsync("llava", "--container", "json", "--shard-records", "2000");
        var shards = TestPaths.Shards(outDir);
        Assert.Equal(3, shards.Length);
        var (code, output) = await Consumers.CheckAsync("llava_check.py", null, ["--no-image-check", .. shards]);
        Assert.True(code == 0, output);
        var records = shards.SelectMany(s => JsonDocument.Parse(File.ReadAllText(s)).RootElement.EnumerateArray().Select(e => e.Clone())).ToList();
        Assert.Equal(5046, records.Sum(r => r.GetProperty("conversations").GetArrayLength() / 2));
    }

    [Fact]
    public async Task Should_Convert_Every_Row_In_Llama_Factory()
    {
        var outDir = await Consumers.OkVqaAsync("sharegpt", "--name", "okvqa");
        var (code, output) = await Consumers.CheckAsync("llamafactory_check.py", null, "--dataset-dir", outDir, "--dataset", "okvqa", "--no-image-check");
        Assert.True(code == 0, output);
        Assert.Equal("5046 rows convert, 0 broken (5046 with images, 0 text-only; images column declared)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Conform_To_Ms_Swift()
    {
        var outDir = await Consumers.OkVqaAsync("swift");
        var (code, output) = await Consumers.CheckAsync("swift_check.py", null, ["--no-image-check", .. TestPaths.Shards(outDir)]);
        Assert.True(code == 0, output);
    }

    [Fact]
    public async Task Should_Pass_Openais_Rules_With_Image_Urls()
    {
        var outDir = await Consumers.OkVqaAsync("openai", "--image-url-prefix", "https://example.org/coco/val2014/");
        var lines = TestPaths.Shards(outDir).SelectMany(File.ReadLines).ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var messages = JsonDocument.Parse(line).RootElement.GetProperty("messages");
            Assert.Equal("assistant", messages[messages.GetArrayLength() - 1].GetProperty("role").GetString());
            var url = messages[0].GetProperty("content")[1].GetProperty("image_url").GetProperty("url").GetString()!;
            Assert.StartsWith("https://example.org/coco/val2014/COCO_val2014_", url, StringComparison.Ordinal);
        }
    }
}
