namespace MllmData.Tests.Conformance;

/// <summary>
/// Our llava output against LLaVA's own loading rules (haotian-liu/LLaVA llava/train/train.py:
/// LazySupervisedDataset, preprocess_multimodal, preprocess_v1), reproduced by tests/scripts/llava_check.py.
/// </summary>
[Trait("needs", "python")]
public class TheLlavaConsumer
{
    private const string Checker = "llava_check.py";

    [Fact]
    public async Task Should_Load_Every_Coco_Json_Shard_With_Each_Image_Under_The_Image_Folder()
    {
        var outDir = await Consumers.CocoAsync("llava", "--container", "json");
        var (code, output) = await Consumers.CheckAsync(Checker, null, ["--image-folder", Consumers.CocoImages, .. TestPaths.Shards(outDir)]);
        Assert.True(code == 0, output);
        Assert.Equal("395 records conform, 0 broken (395 with image, 0 text-only, 0 image lists)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Load_Each_Shard_Of_A_Multi_Shard_TextVqa_Build_On_Its_Own()
    {
        var outDir = await Consumers.TextVqaAsync("llava", "--container", "json", "--shard-records", "2");
        var shards = TestPaths.Shards(outDir);
        Assert.Equal(3, shards.Length);
        foreach (var shard in shards)
        {
            var (code, output) = await Consumers.CheckAsync(Checker, null, "--image-folder", Consumers.TextVqaRoot, shard);
            Assert.True(code == 0, output);
        }

        var (_, all) = await Consumers.CheckAsync(Checker, null, ["--image-folder", Consumers.TextVqaRoot, .. shards]);
        Assert.Equal("5 records conform, 0 broken (5 with image, 0 text-only, 0 image lists)", Consumers.Summary(all));
    }

    [Fact]
    public async Task Should_Keep_Text_Only_ScienceQA_Records_Without_An_Image_Key_When_Reading_Llavas_Conversion_Back()
    {
        var outDir = await Consumers.ScienceQaMixAsync("llava", "--container", "json");
        var (code, output) = await Consumers.CheckAsync(Checker, null, ["--no-image-check", .. TestPaths.Shards(outDir)]);
        Assert.True(code == 0, output);
        Assert.Equal("4241 records conform, 0 broken (2017 with image, 2224 text-only, 0 image lists)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Pass_Llavas_Own_ScienceQA_Conversion_As_A_Positive_Control()
    {
        var (code, output) = await Consumers.CheckAsync(Checker, null, "--no-image-check", Consumers.ScienceQaLlava);
        Assert.Equal(0, code);
        Assert.Equal("4241 records conform, 0 broken (2017 with image, 2224 text-only, 0 image lists)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Refuse_A_Jsonl_Shard_Because_Llava_Json_Loads_The_Whole_File()
    {
        var outDir = await Consumers.CocoAsync("llava");
        var shard = TestPaths.Shards(outDir).Single();
        var (code, output) = await Consumers.CheckAsync(Checker, null, "--image-folder", Consumers.CocoImages, shard);
        Assert.Equal(1, code);
        Assert.StartsWith(": [L1] not loadable by json.load as a list: Extra data: line 2 column 1", Consumers.Problems(output, shard).Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Report_Each_Crafted_Defect_With_The_Llava_Rule_It_Breaks()
    {
        const string Q = "\"<image>\\nWhat is here?\"";
        const string Ok = "{\"from\":\"human\",\"value\":" + Q + "},{\"from\":\"gpt\",\"value\":\"A room.\"}";
        var path = Path.Combine(TestPaths.NewTempDir(), "bad-llava.json");
        File.WriteAllText(path, "[\n" + string.Join(",\n",
            "{\"id\":\"1\",\"image\":\"000000000139.jpg\",\"conversations\":[" + Ok + "]}",
            "{\"id\":\"2\",\"image\":null,\"conversations\":[" + Ok + "]}",
            "{\"id\":\"3\",\"conversations\":[" + Ok + "]}",
            "{\"id\":\"4\",\"image\":\"000000000139.jpg\",\"conversations\":[{\"from\":\"gpt\",\"value\":\"Hello.\"},{\"from\":\"human\",\"value\":" + Q + "}]}",
            "{\"id\":\"5\",\"image\":\"000000000139.jpg\",\"conversations\":[{\"from\":\"user\",\"value\":" + Q + "},{\"from\":\"assistant\",\"value\":\"A room.\"}]}",
            "{\"id\":\"6\",\"image\":\"000000000139.jpg\",\"conversations\":[{\"from\":\"human\",\"value\":\"What is here? <image>\"},{\"from\":\"gpt\",\"value\":\"A room.\"}]}",
            "{\"id\":\"7\",\"image\":\"000000000139.jpg\",\"conversations\":[{\"from\":\"human\",\"value\":\"<image>\\nWhat is here? \"},{\"from\":\"gpt\",\"value\":\"A room.\"}]}",
            "{\"id\":\"8\",\"image\":[\"000000000139.jpg\"],\"conversations\":[" + Ok + "]}",
            "{\"id\":\"9\",\"image\":\"missing.jpg\",\"conversations\":[" + Ok + "]}",
            "{\"id\":\"10\",\"image\":\"000000000139.jpg\",\"conversations\":[{\"from\":\"human\",\"value\":" + Q + "},{\"from\":\"gpt\",\"value\":\"It shows <image>.\"}]}",
            "{\"id\":\"11\",\"image\":\"000000000139.jpg\",\"conversations\":[{\"from\":\"human\",\"value\":" + Q + "}]}",
            "{\"id\":\"12\",\"conversations\":[{\"from\":\"human\",\"value\":\"Name a colour.\"},{\"from\":\"gpt\",\"value\":7}]}") + "\n]\n");

        var (code, output) = await Consumers.CheckAsync(Checker, null, "--image-folder", Consumers.CocoImages, path);

        Assert.Equal(1, code);
        Assert.Equal(
            [
                ":record 1: [L5] image is present but not a non-empty path",
                ":record 2: [L5] text-only record holds 1 <image>",
                ":record 3: [L3] first turn is not from human (LLaVA drops it)",
                ":record 4: [L3] turn 0 is from 'user', only human/gpt exist",
                ":record 5: [L8] preprocess_multimodal changes the first human turn (token not first, or whitespace around the text)",
                ":record 6: [L8] preprocess_multimodal changes the first human turn (token not first, or whitespace around the text)",
                ":record 7: [L7] image is a list of 1; one image must be a plain string",
                $":record 8: [L6] {Path.Combine(Consumers.CocoImages, "missing.jpg")} does not exist",
                ":record 9: [L8] <image> outside the first human turn",
                ":record 10: [L3] last turn is not from gpt",
                ":record 11: [L4] turn 1 value is int, not a string",
            ],
            Consumers.Problems(output, path));
        Assert.Equal("1 records conform, 11 broken (10 with image, 2 text-only, 1 image lists)", Consumers.Summary(output));
    }
}
