namespace MllmData.Tests.Conformance;

/// <summary>
/// Our swift output against ms-swift's own dataset rules (modelscope/ms-swift: swift/llm/dataset/preprocessor/core.py
/// RowPreprocessor/MessagesPreprocessor, swift/llm/dataset/loader.py, swift/llm/template/vision_utils.py load_file,
/// Template._add_default_tags and _swift_prepare_messages), reproduced by tests/scripts/swift_check.py.
/// </summary>
[Trait("needs", "python")]
public class TheSwiftConsumer
{
    private const string Checker = "swift_check.py";

    [Fact]
    public async Task Should_Resolve_TextVqa_Images_Only_When_Run_From_The_Image_Root()
    {
        var outDir = await Consumers.TextVqaAsync("swift");
        var shard = TestPaths.Shards(outDir).Single();
        var (code, output) = await Consumers.CheckAsync(Checker, Consumers.TextVqaRoot, shard);
        Assert.True(code == 0, output);
        Assert.Equal("5 rows conform, 0 broken (5 with images, 0 text-only)", Consumers.Summary(output));

        // ms-swift makes relative paths absolute against its working directory, not the dataset file.
        var elsewhere = TestPaths.NewTempDir();
        var (otherCode, otherOutput) = await Consumers.CheckAsync(Checker, elsewhere, shard);
        Assert.Equal(1, otherCode);
        Assert.Equal(
            $":row 0: [S5] image 'train_images/0054c91397f2fe05.jpg': {Path.Combine(elsewhere, "train_images", "0054c91397f2fe05.jpg")} does not exist (resolved against the working directory {elsewhere})",
            Consumers.Problems(otherOutput, shard)[0]);
    }

    [Fact]
    public async Task Should_Conform_On_Coco_With_The_Image_Root_As_Working_Directory()
    {
        var outDir = await Consumers.CocoAsync("swift", "--system-prompt", "You describe photos.");
        var (code, output) = await Consumers.CheckAsync(Checker, Consumers.CocoImages, TestPaths.Shards(outDir));
        Assert.True(code == 0, output);
        Assert.Equal("395 rows conform, 0 broken (395 with images, 0 text-only)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Keep_One_Column_Set_Across_The_Shards_Of_The_ScienceQA_Mix()
    {
        var outDir = await Consumers.ScienceQaMixAsync("swift", "--shard-records", "1500");
        var shards = TestPaths.Shards(outDir);
        Assert.Equal(3, shards.Length);
        var (code, output) = await Consumers.CheckAsync(Checker, null, ["--no-image-check", .. shards]);
        Assert.True(code == 0, output);
        Assert.Equal("4241 rows conform, 0 broken (2017 with images, 2224 text-only)", Consumers.Summary(output));
    }

    [Fact]
    public async Task Should_Report_Each_Crafted_Defect_With_The_Swift_Rule_It_Breaks()
    {
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "http_imgs"));
        File.Copy(Path.Combine(Consumers.CocoImages, "000000000139.jpg"), Path.Combine(dir, "a.jpg"));
        File.Copy(Path.Combine(Consumers.CocoImages, "000000000139.jpg"), Path.Combine(dir, "http_imgs", "b.jpg"));
        const string Ask = "{\"role\":\"user\",\"content\":\"<image>What is here?\"}";
        const string Answer = "{\"role\":\"assistant\",\"content\":\"A room.\"}";
        var path = Path.Combine(dir, "bad.jsonl");
        File.WriteAllLines(path,
        [
            "{\"messages\":[" + Ask + "," + Answer + "],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[],\"images\":[]}",
            "{\"messages\":[{\"role\":\"human\",\"content\":\"<image>What is here?\"}," + Answer + "],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"<image>What is here?\",\"name\":\"ann\"}," + Answer + "],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[" + Ask + ",{\"role\":\"assistant\",\"content\":null}],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[" + Ask + "," + Ask + "," + Answer + "],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[" + Ask + "],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"What is here?\"}," + Answer + "],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[" + Ask + "," + Answer + "],\"images\":[\"http_imgs/b.jpg\"]}",
            "{\"messages\":[" + Ask + "," + Answer + "],\"images\":[\"missing.jpg\"]}",
            "{\"conversations\":[" + Ask + "," + Answer + "],\"images\":[\"a.jpg\"]}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"Name a colour.\"},{\"role\":\"assistant\",\"content\":\"Red.\"}]}",
        ]);

        var (code, output) = await Consumers.CheckAsync(Checker, dir, path);

        Assert.Equal(1, code);
        Assert.Equal(
            [
                ":row 1: [S2] no non-empty messages list",
                ":row 2: [S2] message 0 role 'human' is not one of ['assistant', 'system', 'tool', 'tool_call', 'tool_response', 'user']",
                ":row 3: [S2] message 0 has keys ['name'] that ms-swift deletes",
                ":row 4: [S2] message 1 content is NoneType, not a string",
                ":row 5: [S7] message 1 after the system prompt is user, alternation expects assistant",
                ":row 6: [S7] the last message is not from the assistant",
                ":row 7: [S6] 0 <image> for 1 images",
                ":row 8: [S5] image 'http_imgs/b.jpg': starts with 'http', so ms-swift fetches it as a URL",
                $":row 9: [S5] image 'missing.jpg': {Path.Combine(dir, "missing.jpg")} does not exist (resolved against the working directory {dir})",
                ":row 10: [S3] column conversations (ms-swift renames it to messages); write messages; [H2] columns ['conversations', 'images'] differ from ['images', 'messages'] of " + path + ":row 0",
                ":row 11: [H2] columns ['messages'] differ from ['images', 'messages'] of " + path + ":row 0",
            ],
            Consumers.Problems(output, path));
        Assert.Equal("1 rows conform, 11 broken (10 with images, 2 text-only)", Consumers.Summary(output));
    }
}
