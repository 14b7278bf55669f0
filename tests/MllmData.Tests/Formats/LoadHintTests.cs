using MllmData.Formats;

namespace MllmData.Tests.Formats;

/// <summary>The line printed after a build that tells the user how to point the consumer at it.</summary>
public sealed class LoadHintTests
{
    private static readonly string[] OneJson = ["data/d-00000-of-00001.json"];
    private static readonly string[] OneJsonl = ["data/d-00000-of-00001.jsonl"];
    private static readonly string[] TwoJson = ["data/d-00000-of-00002.json", "data/d-00001-of-00002.json"];

    [Fact]
    public void LlavaNamesDataPathAndImageFolderForAJsonList()
    {
        var hint = FormatRegistry.Get("llava").LoadHint("/o", "d", OneJson, "/img");
        Assert.Equal($"LLaVA: --data_path {Path.Combine("/o", OneJson[0])}  --image_folder /img", hint);
    }

    [Fact]
    public void LlavaCountsShardsWhenThereAreSeveral()
    {
        var hint = FormatRegistry.Get("llava").LoadHint("/o", "d", TwoJson, null);
        Assert.Contains("(one run per shard, 2 shards)", hint, StringComparison.Ordinal);
        Assert.EndsWith("--image_folder IMAGE_FOLDER", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void LlavaOnJsonlTellsTheUserToBuildAJsonList()
    {
        // train.py json.load()s the whole file: JSONL fails with "Extra data".
        Assert.Equal("LLaVA's trainer reads one JSON list: build with --container json", FormatRegistry.Get("llava").LoadHint("/o", "d", OneJsonl, "/img"));
        Assert.Null(FormatRegistry.Get("llava").LoadHint("/o", "d", [], "/img"));
    }

    [Fact]
    public void ShareGptSetsMediaDirToTheImageRoot()
    {
        Assert.Equal("LLaMA-Factory: dataset_dir: /o  dataset: d  media_dir: /img", FormatRegistry.Get("sharegpt").LoadHint("/o", "d", OneJsonl, "/img"));
        Assert.Equal("LLaMA-Factory: dataset_dir: /o  dataset: d  media_dir: /o", FormatRegistry.Get("sharegpt").LoadHint("/o", "d", OneJsonl, null));
    }

    [Fact]
    public void SwiftRunsFromTheImageRootWithEveryShard()
    {
        Assert.Equal(
            $"ms-swift: run from /img with --dataset {Path.Combine("/o", TwoJson[0])} {Path.Combine("/o", TwoJson[1])}",
            FormatRegistry.Get("swift").LoadHint("/o", "d", TwoJson, "/img"));
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("template")]
    [InlineData("m3it")]
    public void FormatsWithSelfContainedRecordsGiveNoHint(string format) =>
        Assert.Null(FormatRegistry.Get(format).LoadHint("/o", "d", OneJsonl, "/img"));
}
