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
        Assert.Equal("LLaMA-Factory: dataset_dir: /o  dataset: d  media_dir: the folder the image paths are relative to (this build was given no --image-root)", FormatRegistry.Get("sharegpt").LoadHint("/o", "d", OneJsonl, null));
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

/// <summary>The hint a whole build returns: image paths are relative to the image root, or to the output with copied images.</summary>
public sealed class BuildLoadHintTests
{
    private static async Task<string?> HintOf(string mode)
    {
        var images = Path.Combine(TestPaths.RepoRoot, "samples", "images");
        var recipe = new MllmData.Recipes.Recipe
        {
            Format = "sharegpt",
            Sources =
            [
                new MllmData.Recipes.SourceSpec
                {
                    Adapter = "vqav2",
                    Inputs = new(StringComparer.Ordinal)
                    {
                        ["questions"] = Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_OpenEnded_mscoco_train2014_questions.json"),
                        ["annotations"] = Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_mscoco_train2014_annotations.json"),
                    },
                    ImageRoot = images,
                },
            ],
        };
        recipe.Images.Mode = mode;
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var library = MllmData.Templates.TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        var result = await new MllmData.Pipeline.BuildPipeline(library, Serilog.Core.Logger.None).RunAsync(recipe, outDir, new MllmData.Inputs.ProgressCounter(), CancellationToken.None);
        return result.LoadHint?.Replace(outDir, "OUT", StringComparison.Ordinal).Replace(images, "IMAGES", StringComparison.Ordinal);
    }

    [Fact]
    public async Task MediaDirIsTheImageRootForReferencedImages() =>
        Assert.Equal("LLaMA-Factory: dataset_dir: OUT  dataset: data  media_dir: IMAGES", await HintOf("none"));

    [Fact]
    public async Task MediaDirIsTheOutputWhenImagesAreCopiedThere() =>
        Assert.Equal("LLaMA-Factory: dataset_dir: OUT  dataset: data  media_dir: OUT", await HintOf("copy"));
}
