using System.Text.Json;
using System.Text.Json.Nodes;

namespace MllmData.Tests.Conformance;

/// <summary>
/// Our sharegpt output against LLaMA-Factory's own loading rules (hiyouga/LLaMA-Factory src/llamafactory/data:
/// parser.py get_dataset_list/DatasetAttr, loader.py _load_single_dataset, converter.py SharegptDatasetConverter
/// and _find_medias, mm_plugin.py _validate_messages; hparams/data_args.py media_dir), reproduced by
/// tests/scripts/llamafactory_check.py.
/// </summary>
[Trait("needs", "python")]
public class TheLlamaFactoryConsumer
{
    private const string Checker = "llamafactory_check.py";

    [Fact]
    public async Task Should_Pass_Llama_Factorys_Own_Demo_Dataset_As_A_Positive_Control()
    {
        var (code, output) = await Consumers.CheckAsync(Checker, null, "--dataset-dir", Consumers.LlamaFactoryReference, "--dataset", "mllm_demo");
        Assert.Equal(0, code);
        Assert.Equal("6 rows convert, 0 broken (6 with images, 0 text-only; images column declared)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Convert_Every_TextVqa_Row_With_Its_Images_Under_The_Image_Root_As_Media_Dir()
    {
        var outDir = await Consumers.TextVqaAsync("sharegpt", "--name", "textvqa_train");
        var (code, output) = await Consumers.CheckAsync(Checker, null, "--dataset-dir", outDir, "--dataset", "textvqa_train", "--media-dir", Consumers.TextVqaRoot);
        Assert.True(code == 0, output);
        Assert.Equal("5 rows convert, 0 broken (5 with images, 0 text-only; images column declared)", Consumers.Summary(output));

        // With media_dir left at its default (the dataset_dir) the relative paths do not resolve: the flag is needed.
        var (defaultCode, defaultOutput) = await Consumers.CheckAsync(Checker, null, "--dataset-dir", outDir, "--dataset", "textvqa_train");
        Assert.Equal(1, defaultCode);
        Assert.Equal("0 rows convert, 5 broken (5 with images, 0 text-only; images column declared)", Consumers.Summary(defaultOutput));
    }

    [Fact]
    public async Task Should_Convert_A_Coco_Build_With_Copied_Images_Under_The_Default_Media_Dir()
    {
        var outDir = await Consumers.CocoAsync("sharegpt", "--images", "copy", "--name", "coco");
        var (code, output) = await Consumers.CheckAsync(Checker, null, "--dataset-dir", outDir, "--dataset", "coco");
        Assert.True(code == 0, output);
        Assert.Equal("395 rows convert, 0 broken (395 with images, 0 text-only; images column declared)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Give_Every_Row_Of_Every_ScienceQA_Shard_One_Column_Set()
    {
        var outDir = await Consumers.ScienceQaMixAsync("sharegpt", "--shard-records", "1000");
        Assert.Equal(5, TestPaths.Shards(outDir).Length);
        var (code, output) = await Consumers.CheckAsync(Checker, null, "--dataset-dir", outDir, "--dataset", "data", "--no-image-check");
        Assert.True(code == 0, output);
        Assert.Equal("4241 rows convert, 0 broken (2017 with images, 2224 text-only; images column declared)", Consumers.Summary(output));
        var firstTextOnly = File.ReadLines(TestPaths.Shards(outDir)[0]).Select(l => JsonNode.Parse(l)!).First(r => r["images"]!.AsArray().Count == 0);
        Assert.Equal("[]", firstTextOnly["images"]!.ToJsonString());
    }

    [Fact]
    public async Task Should_Declare_No_Images_Column_For_A_Text_Only_Build()
    {
        // 40 text-only records of LLaVA's ScienceQA conversion, read back through the instructions adapter.
        var input = Path.Combine(TestPaths.NewTempDir(), "text-only.json");
        var textOnly = JsonNode.Parse(File.ReadAllText(Consumers.ScienceQaLlava))!.AsArray()
            .Where(r => r!["image"] is null).Take(40).Select(r => r!.DeepClone());
        File.WriteAllText(input, new JsonArray([.. textOnly]).ToJsonString());
        var outDir = await Consumers.BuildAsync("--adapter", "instructions", "--input", $"file={input}", "--format", "sharegpt", "--name", "sqa_text");

        var columns = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "dataset_info.json"))).RootElement.GetProperty("sqa_text").GetProperty("columns");
        Assert.Equal(["messages"], columns.EnumerateObject().Select(c => c.Name));
        var (code, output) = await Consumers.CheckAsync(Checker, null, "--dataset-dir", outDir, "--dataset", "sqa_text");
        Assert.True(code == 0, output);
        Assert.Equal("40 rows convert, 0 broken (0 with images, 40 text-only; images column not declared)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Report_Each_Crafted_Defect_With_The_Llama_Factory_Rule_It_Breaks()
    {
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        Directory.CreateDirectory(Path.Combine(dir, "img"));
        File.Copy(Path.Combine(Consumers.CocoImages, "000000000139.jpg"), Path.Combine(dir, "img", "a.jpg"));
        const string Tags = "\"tags\":{\"role_tag\":\"role\",\"content_tag\":\"content\",\"user_tag\":\"user\",\"assistant_tag\":\"assistant\",\"system_tag\":\"system\"}";
        File.WriteAllText(Path.Combine(dir, "dataset_info.json"),
            "{\"bad\":{\"file_name\":\"data\",\"formatting\":\"sharegpt\",\"columns\":{\"messages\":\"messages\",\"images\":\"images\"}," + Tags + "},"
            + "\"textonly\":{\"file_name\":\"t.jsonl\",\"formatting\":\"sharegpt\",\"columns\":{\"messages\":\"messages\"}," + Tags + "},"
            + "\"alpaca\":{\"file_name\":\"t.jsonl\"}}");
        const string Ask = "{\"role\":\"user\",\"content\":\"<image>What is here?\"}";
        const string Answer = "{\"role\":\"assistant\",\"content\":\"A room.\"}";
        var first = Path.Combine(dir, "data", "bad-00000-of-00002.jsonl");
        File.WriteAllLines(first,
        [
            "{\"messages\":[" + Ask + "," + Answer + "],\"images\":[\"img/a.jpg\"]}",
            "{\"messages\":[" + Answer + "," + Ask + "],\"images\":[\"img/a.jpg\"]}",
            "{\"messages\":[" + Ask + "],\"images\":[\"img/a.jpg\"]}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"<image><image>What is here?\"}," + Answer + "],\"images\":[\"img/a.jpg\"]}",
            "{\"messages\":[" + Ask + "," + Answer + "],\"images\":[\"img/missing.jpg\"]}",
            "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Name a colour.\"},{\"role\":\"assistant\",\"content\":\"Red.\"}],\"images\":[]}",
        ]);
        var second = Path.Combine(dir, "data", "bad-00001-of-00002.jsonl");
        File.WriteAllLines(second, ["{\"messages\":[{\"role\":\"user\",\"content\":\"Name a colour.\"},{\"role\":\"assistant\",\"content\":\"Red.\"}]}"]);
        File.WriteAllLines(Path.Combine(dir, "t.jsonl"), ["{\"messages\":[{\"role\":\"user\",\"content\":\"<image>Name a colour.\"},{\"role\":\"assistant\",\"content\":\"Red.\"}],\"images\":[\"img/a.jpg\"]}"]);

        var (code, output) = await Consumers.CheckAsync(Checker, dir, "--dataset-dir", dir, "--dataset", "bad");
        Assert.Equal(1, code);
        Assert.Equal(
            [
                ":row 1: [F4] Invalid role tag assistant at message 0: the row would be skipped",
                ":row 2: [F4] Invalid message count 1: the row would be skipped",
                ":row 3: [F6] 2 <image> for 1 images",
                $":row 4: [F5] image 'img/missing.jpg' not found under media_dir {dir}",
            ],
            Consumers.Problems(output, first));
        Assert.Equal([$":row 0: [F8] no 'images' key although the entry declares it; [H2] columns ['messages'] differ from ['images', 'messages'] of {first}:row 0"], Consumers.Problems(output, second));
        Assert.Equal("2 rows convert, 5 broken (5 with images, 2 text-only; images column declared)", Consumers.Summary(output));

        // Images used but the images column not declared: the placeholders count against zero images.
        var textOnly = await Consumers.CheckAsync(Checker, dir, "--dataset-dir", dir, "--dataset", "textonly");
        Assert.Contains("t.jsonl:row 0: [F6] 1 <image> for 0 images (no images column declared)", textOnly.Output, StringComparison.Ordinal);
        Assert.Equal("[F3] formatting is alpaca (default), expected sharegpt", (await Consumers.CheckAsync(Checker, dir, "--dataset-dir", dir, "--dataset", "alpaca")).Output.Split('\n')[0]);
        Assert.Equal($"[F1] Undefined dataset nope in {Path.Combine(dir, "dataset_info.json")}", (await Consumers.CheckAsync(Checker, dir, "--dataset-dir", dir, "--dataset", "nope")).Output.Split('\n')[0]);

        // Anything but shards of one type in the data folder stops the load.
        File.WriteAllText(Path.Combine(dir, "data", "part.tmp"), string.Empty);
        var stray = await Consumers.CheckAsync(Checker, dir, "--dataset-dir", dir, "--dataset", "bad");
        Assert.Equal(1, stray.ExitCode);
        Assert.Equal($"[F2] {Path.Combine(dir, "data", "part.tmp")}: extension 'tmp' is not an allowed file type", stray.Output.Split('\n')[0]);
    }
}
