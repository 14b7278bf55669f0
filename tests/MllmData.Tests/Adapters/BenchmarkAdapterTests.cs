using System.Text.Json;

namespace MllmData.Tests.Adapters;

/// <summary>Every adapter on its fixture: real files where they exist, official-layout files we wrote otherwise.</summary>
public class TheBenchmarkAdapters
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", name);

    private static string Pack(string name) => Fixture(Path.Combine("packs", name + ".yaml"));

    private sealed record Built(int ExitCode, string Error, List<JsonElement> Records, List<JsonElement> Rejects);

    private static async Task<Built> Build(string format, params string[] args)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", "--format", format, "--out", outDir, .. args]);
        var records = TestPaths.Shards(outDir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var rejectsFile = Path.Combine(outDir, "rejects.jsonl");
        var rejects = File.Exists(rejectsFile) ? File.ReadLines(rejectsFile).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList() : [];
        return new Built(r.ExitCode, r.Error, records, rejects);
    }

    /// <summary>Question-only records, read from the adapter itself: no build takes them until an evaluation output exists.</summary>
    private static async Task<List<MllmData.Records.InstructionRecord>> ReadEval(string adapter, params (string Name, string File)[] inputs)
    {
        var context = new MllmData.Adapters.SourceContext
        {
            SourceName = adapter,
            Inputs = inputs.ToDictionary(i => i.Name, i => i.File),
            Options = new Dictionary<string, string> { ["unanswered"] = "eval" },
        };
        var records = new List<MllmData.Records.InstructionRecord>();
        await foreach (var item in MllmData.Adapters.AdapterRegistry.Get(adapter).ReadAsync(context, CancellationToken.None))
        {
            records.AddRange(item.Record is { } r ? [r] : []);
        }

        return records;
    }

    private static JsonElement ById(Built b, string id) => b.Records.Single(r => r.GetProperty("id").GetString() == id);

    private static string Human(JsonElement llava, int turn = 0) => llava.GetProperty("conversations")[turn * 2].GetProperty("value").GetString()!;

    private static string Gpt(JsonElement llava, int turn = 0) => llava.GetProperty("conversations")[(turn * 2) + 1].GetProperty("value").GetString()!;

    private static string Text(JsonElement template) => template.GetProperty("text").GetString()!;

    /// <summary>Builds in both formats with a one-template pack and checks count, rejects and one record's exact text.</summary>
    private static async Task<(Built Llava, Built Template)> BuildBoth(int expected, string[] rejectReasons, string[] args)
    {
        var llava = await Build("llava", [.. args, "--suffix", "none"]);
        var template = await Build("template", [.. args, "--suffix", "none"]);
        Assert.True(llava.ExitCode == 0, llava.Error);
        Assert.True(template.ExitCode == 0, template.Error);
        Assert.Equal(expected, llava.Records.Count);
        Assert.Equal(expected, template.Records.Count);
        Assert.Equal(rejectReasons, llava.Rejects.Select(r => r.GetProperty("reason").GetString()));
        return (llava, template);
    }

    [Fact]
    public async Task Should_List_At_Least_14_Adapters_With_Their_Inputs()
    {
        var r = await CliRunner.RunAsync("sources");
        var adapters = r.Output.Split('\n').Where(l => l.Length > 0 && char.IsLower(l[0])).Select(l => l.Split("  ")[0]).ToList();
        Assert.Equal(["vqav2", "coco-captions", "okvqa", "aokvqa", "gqa", "textvqa", "vizwiz", "scienceqa", "karpathy", "textcaps", "nocaps", "csv", "jsonl", "instructions", "coco-objects"], adapters);
        Assert.Contains("--input problems=FILE  (required)", r.Output, StringComparison.Ordinal);
        Assert.Contains("--input ocr=FILE  (optional)", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Okvqa_Builds_Evaluation_Records_From_The_Real_Question_File()
    {
        var records = await ReadEval("okvqa", ("questions", TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json")));
        Assert.Equal(5046, records.Count);
        var first = records.Single(r => r.Id == "okvqa-q2971475");
        Assert.Equal("COCO_val2014_000000297147.jpg", first.Images.Single().Path);
        Assert.Equal("What sport can you use this for?", first.Turns.Single().Slots["question"]);
        Assert.Null(first.Turns.Single().Output);
    }

    [Fact]
    public async Task Aokvqa_Builds_Lettered_Choices_And_Direct_Answers()
    {
        var (llava, template) = await BuildBoth(2, ["missing-field"], ["--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--templates", Pack("test-mc")]);
        var r = ById(llava, "aokvqa-q22jbM6gDxdaMaunuzgrsBB");
        Assert.Equal("val2017/000000461751.jpg", r.GetProperty("image").GetString());
        Assert.Equal("<image>\nWhat is in the motorcyclist's mouth?\nA. toothpick\nB. food\nC. popsicle stick\nD. cigarette", Human(r));
        Assert.Equal("D", Gpt(r));
        Assert.Equal("<BOS> What is in the motorcyclist's mouth?\nA. toothpick\nB. food\nC. popsicle stick\nD. cigarette <image> D <EOS>", Text(ById(template, "aokvqa-q22jbM6gDxdaMaunuzgrsBB")));
        Assert.Equal("val2017/000000000011.jpg", ById(llava, "aokvqa-q2xxKzTvdFSq").GetProperty("image").GetString());

        var direct = await Build("llava", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--mode", "direct", "--templates", Pack("test-vqa"), "--suffix", "none");
        Assert.Equal(["cigarette", "winter"], direct.Records.Select(x => Gpt(x)));
        Assert.Equal(["missing-field"], direct.Rejects.Select(x => x.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Aokvqa_Test_Split_Stops_Or_Builds_Evaluation_Records()
    {
        var stop = await Build("llava", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_test.json")}");
        Assert.Equal(2, stop.ExitCode);
        Assert.Contains("no-answers", stop.Error, StringComparison.Ordinal);
        Assert.Contains("--unanswered eval", stop.Error, StringComparison.Ordinal);
        Assert.Empty(stop.Records);

        var eval = (await ReadEval("aokvqa", ("questions", Fixture("aokvqa_v1p0_test.json")))).Single();
        Assert.Equal(("What color is the bus?", "A. red\nB. blue\nC. green\nD. white"), (eval.Turns[0].Slots["question"], eval.Turns[0].Slots["options"]));
        Assert.Equal("test2017/000000000012.jpg", eval.Images.Single().Path);
    }

    [Fact]
    public async Task Gqa_Reads_The_Keyed_Object_With_Non_Numeric_Image_Ids()
    {
        var (llava, template) = await BuildBoth(2, ["missing-field"], ["--adapter", "gqa", "--input", $"questions={Fixture("testdev_balanced_questions.json")}", "--templates", Pack("test-vqa")]);
        var r = ById(llava, "gqa-q201307251");
        Assert.Equal("images/n161313.jpg", r.GetProperty("image").GetString());
        Assert.Equal(("<image>\nIs the sky dark?", "yes"), (Human(r), Gpt(r)));
        Assert.Equal("<BOS> Is the sky dark? <image> yes <EOS>", Text(ById(template, "gqa-q201307251")));

        var full = await Build("llava", "--adapter", "gqa", "--input", $"questions={Fixture("testdev_balanced_questions.json")}", "--answer", "full", "--templates", Pack("test-vqa"), "--suffix", "none");
        Assert.Equal(["Yes, the sky is dark.", "The man is wearing a shirt."], full.Records.Select(x => Gpt(x)));
    }

    [Fact]
    public async Task Textvqa_Builds_The_Real_051_Records_With_Their_Images()
    {
        var root = TestPaths.RealFile("textvqa", "hf-dummy");
        var (llava, template) = await BuildBoth(5, [], ["--adapter", "textvqa", "--input", $"questions={Path.Combine(root, "TextVQA_0.5.1_train.json")}", "--image-root", root, "--templates", Pack("test-vqa")]);
        var r = ById(llava, "textvqa-q0");
        Assert.Equal("train_images/0054c91397f2fe05.jpg", r.GetProperty("image").GetString());
        Assert.Equal(("<image>\nwhat is the brand of phone?", "nokia"), (Human(r), Gpt(r)));
        Assert.Equal("<BOS> what is the brand of phone? <image> nokia <EOS>", Text(ById(template, "textvqa-q0")));

        // These records carry no OCR tokens and no OCR file is given: --ocr-hint rejects them rather than writing "none".
        var ocr = await Build("llava", "--adapter", "textvqa", "--input", $"questions={Path.Combine(root, "TextVQA_0.5.1_train.json")}", "--ocr-hint", "--templates", Pack("test-ocr"), "--suffix", "none", "--allow-empty");
        Assert.Empty(ocr.Records);
        Assert.Equal(Enumerable.Repeat("missing-ocr", 5), ocr.Rejects.Select(x => x.GetProperty("reason").GetString()));

        var test = await ReadEval("textvqa", ("questions", Path.Combine(root, "TextVQA_0.5.1_test.json")));
        Assert.Equal(5, test.Count);
        Assert.All(test, x => Assert.StartsWith("test_images/", x.Images.Single().Path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Textvqa_Reads_The_Older_Layout_Naming_The_Image()
    {
        var (llava, _) = await BuildBoth(1, [], ["--adapter", "textvqa", "--input", $"questions={Fixture("TextVQA_0.5_train_old.json")}", "--templates", Pack("test-vqa")]);
        Assert.Equal("train_images/a1b2c3d4.jpg", llava.Records[0].GetProperty("image").GetString());
        Assert.Equal("23", Gpt(llava.Records[0]));
    }

    [Fact]
    public async Task Vizwiz_Keeps_Unanswerable_Items_With_An_Explicit_Response_Or_Drops_Them()
    {
        var (llava, template) = await BuildBoth(3, [], ["--adapter", "vizwiz", "--input", $"questions={Fixture("val.json")}", "--templates", Pack("test-vqa")]);
        Assert.Equal("The question cannot be answered from this image.", Gpt(ById(llava, "vizwiz-VizWiz_val_00000000")));
        Assert.Equal("night time", Gpt(ById(llava, "vizwiz-VizWiz_val_00000001")));
        Assert.Equal("<BOS> What is the title of this book? <image> dog years <EOS>", Text(ById(template, "vizwiz-VizWiz_val_00000002")));

        var drop = await Build("llava", "--adapter", "vizwiz", "--input", $"questions={Fixture("val.json")}", "--unanswerable", "drop");
        Assert.Equal(2, drop.Records.Count);
        Assert.Equal("unanswerable", drop.Rejects.Single().GetProperty("reason").GetString());

        Assert.Single(await ReadEval("vizwiz", ("questions", Fixture("test.json"))));
    }

    private static string[] ScienceQa(params string[] extra) =>
    [
        "--adapter", "scienceqa", "--input", $"problems={Fixture("problems.json")}", "--input", $"splits={TestPaths.RealFile("scienceqa", "pid_splits.json")}",
        "--input", $"captions={TestPaths.RealFile("scienceqa", "captions.json")}", "--split", "test", .. extra,
    ];

    [Fact]
    public async Task Scienceqa_Builds_Test_Problems_With_Context_Options_And_Text_Only_Records()
    {
        var (llava, template) = await BuildBoth(3, ["missing-field"], [.. ScienceQa(), "--templates", Pack("test-sqa")]);
        var textOnly = ById(llava, "scienceqa-4");
        Assert.False(textOnly.TryGetProperty("image", out _));
        Assert.Equal("Which figure of speech is used in this line?\nContext: O wind, carry my words across the hills.\nA. chiasmus\nB. apostrophe", Human(textOnly));
        Assert.Equal("B", Gpt(textOnly));
        Assert.Equal("<BOS> Which figure of speech is used in this line?\nContext: O wind, carry my words across the hills.\nA. chiasmus\nB. apostrophe B <EOS>", Text(ById(template, "scienceqa-4")));

        // Image problems carry the official caption after the hint.
        var withImage = ById(llava, "scienceqa-5");
        Assert.Equal("test/5/image.png", withImage.GetProperty("image").GetString());
        Assert.Contains("Context: Engineers load a model bridge with sand bags. A large white kite is in the air.", Human(withImage), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("LEA", "Figures of speech use words in non-literal ways.\nThe speaker talks to the wind, which cannot answer: that is apostrophe.\nThe answer is B.")]
    [InlineData("ALE", "The answer is B.\nFigures of speech use words in non-literal ways.\nThe speaker talks to the wind, which cannot answer: that is apostrophe.")]
    [InlineData("A", "B")]
    public async Task Scienceqa_Puts_The_Reasoning_Where_The_Cot_Format_Says(string cot, string expected)
    {
        var built = await Build("llava", [.. ScienceQa("--cot", cot)]);
        Assert.Equal(0, built.ExitCode);
        Assert.Equal(expected, Gpt(ById(built, "scienceqa-4")));
        var human = Human(ById(built, "scienceqa-4"));
        if (cot == "A")
        {
            Assert.EndsWith("Reply with the letter of the correct option only.", human, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("The answer is X.", human, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Scienceqa_With_Lea_Has_The_Turn_Structure_Of_Llavas_Own_Conversion()
    {
        var built = await Build("llava", [.. ScienceQa("--cot", "LEA")]);
        var reference = JsonDocument.Parse(File.ReadAllText(TestPaths.RealFile("scienceqa", "llava_test_CQM-A.json"))).RootElement
            .EnumerateArray().ToDictionary(x => x.GetProperty("id").GetString()!, x => x.Clone());
        Assert.Equal(3, built.Records.Count);
        foreach (var ours in built.Records)
        {
            var pid = ours.GetProperty("id").GetString()!["scienceqa-".Length..];
            var theirs = reference[pid];
            Assert.Equal(
                theirs.GetProperty("conversations").EnumerateArray().Select(t => t.GetProperty("from").GetString()),
                ours.GetProperty("conversations").EnumerateArray().Select(t => t.GetProperty("from").GetString()));
            var theyHaveImage = theirs.TryGetProperty("image", out _);
            Assert.Equal(theyHaveImage, ours.TryGetProperty("image", out _));
            Assert.Equal(theyHaveImage, Human(ours).StartsWith("<image>\n", StringComparison.Ordinal));
            Assert.Equal(theyHaveImage ? 1 : 0, Human(ours).Split("<image>").Length - 1);
        }
    }

    [Fact]
    public async Task Karpathy_Selects_Splits_Including_Restval()
    {
        var (llava, template) = await BuildBoth(3, ["missing-field"], ["--adapter", "karpathy", "--input", $"dataset={Fixture("dataset_flickr8k.json")}", "--templates", Pack("test-caption")]);
        var r = ById(llava, "karpathy-s0");
        Assert.Equal("1000268201_693b08cb0e.jpg", r.GetProperty("image").GetString());
        Assert.Equal(("<image>\nDescribe the image briefly.", "A dog runs across the grass ."), (Human(r), Gpt(r)));
        Assert.Equal("<BOS> Describe the image briefly. <image> A dog runs across the grass . <EOS>", Text(ById(template, "karpathy-s0")));
        Assert.Contains(llava.Records, x => x.GetProperty("id").GetString() == "karpathy-s2");

        var test = await Build("llava", "--adapter", "karpathy", "--input", $"dataset={Fixture("dataset_flickr8k.json")}", "--splits", "test", "--per-image");
        Assert.Equal(["karpathy-img2"], test.Records.Select(x => x.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Textcaps_Groups_The_Caption_Rows_Of_An_Image()
    {
        var (llava, template) = await BuildBoth(2, [], ["--adapter", "textcaps", "--input", $"captions={Fixture("TextCaps_0.1_train.json")}", "--templates", Pack("test-caption")]);
        var r = ById(llava, "textcaps-img011e7e629fb9ae7b");
        Assert.Equal("train_images/011e7e629fb9ae7b.jpg", r.GetProperty("image").GetString());
        Assert.Equal("A bottle of Coca-Cola sits on a table.", Gpt(r));
        Assert.Equal(2, r.GetProperty("meta").GetProperty("extra").GetProperty("other_captions").GetArrayLength());
        Assert.Equal("<BOS> Describe the image briefly. <image> A sign that says STOP at a corner. <EOS>", Text(ById(template, "textcaps-img0a0bc91825468c45")));
    }

    [Fact]
    public async Task Nocaps_Filters_By_Domain_And_Handles_The_Captionless_Test_File()
    {
        var (llava, template) = await BuildBoth(3, [], ["--adapter", "nocaps", "--input", $"captions={Fixture("nocaps_val_4500_captions.json")}", "--templates", Pack("test-caption")]);
        Assert.Equal("A baby is standing in front of a house.", Gpt(ById(llava, "nocaps-img0")));
        Assert.Equal("<BOS> Describe the image briefly. <image> A red panda sits on a branch. <EOS>", Text(ById(template, "nocaps-img1")));

        var near = await Build("llava", "--adapter", "nocaps", "--input", $"captions={Fixture("nocaps_val_4500_captions.json")}", "--domain", "in-domain,near-domain");
        Assert.Equal(["nocaps-img0", "nocaps-img2"], near.Records.Select(x => x.GetProperty("id").GetString()));

        var test = await Build("llava", "--adapter", "nocaps", "--input", $"captions={Fixture("nocaps_test_image_info.json")}");
        Assert.Equal(2, test.ExitCode);
        Assert.Equal(2, (await ReadEval("nocaps", ("captions", Fixture("nocaps_test_image_info.json")))).Count);
    }

    [Fact]
    public async Task Csv_Reads_Mapped_Columns_With_Quoted_Commas_And_Choices()
    {
        var (llava, template) = await BuildBoth(2, ["empty-question"], ["--adapter", "csv", "--input", $"file={Fixture("generic.csv")}", "--map", "image=img", "--map", "question=prompt", "--map", "answer=label", "--map", "choices=opts", "--templates", Pack("test-vqa")]);
        Assert.Equal(("<image>\nHow many apples, roughly?", "3"), (Human(llava.Records[0]), Gpt(llava.Records[0])));
        Assert.Equal("images/a.jpg", llava.Records[0].GetProperty("image").GetString());
        Assert.Equal("<BOS> How many apples, roughly? <image> 3 <EOS>", Text(template.Records[0]));
        Assert.Equal("line 4", llava.Rejects[0].GetProperty("position").GetString());

        var mc = await Build("llava", "--adapter", "csv", "--input", $"file={Fixture("generic.csv")}", "--map", "image=img", "--map", "question=prompt", "--map", "answer=label", "--map", "choices=opts", "--templates", Pack("test-mc"), "--suffix", "none");
        Assert.Equal(("<image>\nWhich animal is shown?\nA. dog\nB. cat\nC. bird", "B"), (Human(mc.Records[1]), Gpt(mc.Records[1])));
    }

    [Fact]
    public async Task Csv_Stops_With_Exit_2_On_A_Mapped_Column_That_Is_Not_There()
    {
        var r = await Build("llava", "--adapter", "csv", "--input", $"file={Fixture("generic.csv")}", "--map", "question=nope", "--map", "answer=label");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no column 'nope'", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_Skips_Blank_Lines_Votes_On_Answer_Lists_And_Rejects_Bad_Lines()
    {
        var (llava, template) = await BuildBoth(2, ["not-json"], ["--adapter", "jsonl", "--input", $"file={Fixture("generic.jsonl")}", "--map", "image=image", "--map", "question=q", "--map", "answer=answers", "--templates", Pack("test-vqa")]);
        Assert.Equal(("<image>\nWhat fruit is this?", "apple"), (Human(llava.Records[0]), Gpt(llava.Records[0])));
        Assert.Equal("<BOS> Is it sunny? <image> yes <EOS>", Text(template.Records[1]));
        Assert.Equal("line 4", llava.Rejects[0].GetProperty("position").GetString());
    }

    [Fact]
    public async Task Instructions_Reads_LlamaFactorys_Demo_Llavas_Conversions_And_Question_Files()
    {
        var (llava, template) = await BuildBoth(6, [], ["--adapter", "instructions", "--input", $"file={TestPaths.RealFile("reference-outputs", "llama-factory", "mllm_demo.json")}"]);
        var first = llava.Records[0];
        Assert.Equal(2, first.GetProperty("image").GetArrayLength());
        Assert.Equal("<image>\n<image>\nWho are they?", Human(first));
        Assert.Equal("They are celebrating on the soccer field.", Gpt(first, 1));
        Assert.StartsWith("<BOS> Who are they? <image> <image> They're Kane and Gretzka from Bayern Munich. <EOS>\n<BOS> What are they doing?", Text(template.Records[0]), StringComparison.Ordinal);

        var sqa = await Build("sharegpt", "--adapter", "instructions", "--input", $"file={TestPaths.RealFile("scienceqa", "llava_test_CQM-A.json")}");
        Assert.Equal(4241, sqa.Records.Count);
        Assert.Equal(2017, sqa.Records.Count(r => r.GetProperty("images").GetArrayLength() > 0));
        Assert.All(sqa.Records.Where(r => r.GetProperty("images").GetArrayLength() == 0), r => Assert.DoesNotContain("<image>", r.GetProperty("messages")[0].GetProperty("content").GetString()!, StringComparison.Ordinal));

        // LLaVA question files hold questions without answers: a training format takes none of them (the build fails, naming
        // why and what to do), an evaluation build takes every one.
        var questions = TestPaths.RealFile("gqa", "llava_gqa_testdev_balanced.jsonl");
        var refused = await Build("llava", "--adapter", "instructions", "--input", $"file={questions}");
        Assert.Equal(2, refused.ExitCode);
        Assert.Empty(refused.Records);
        Assert.Contains("12578 rejects, most often missing-assistant (12578), first at instructions-201307251: turn 1 has no answer (a training record answers every turn); "
            + "hint: the records have questions but no answers (question files?): --split-role eval builds an evaluation set from them", refused.Error, StringComparison.Ordinal);

        var eval = await ReadEval("instructions", ("file", questions));
        Assert.Equal(12578, eval.Count);
        var overcast = eval.Single(r => r.Id == "instructions-201307251");
        Assert.Equal(("n161313.jpg", "Is it overcast?\nAnswer the question using a single word or phrase.", null), (overcast.Images.Single().Path, overcast.Turns.Single().Instruction ?? overcast.Turns.Single().Input, overcast.Turns.Single().Output));
    }

    [Fact]
    public async Task Instructions_Rejects_Lines_Its_Format_Does_Not_Accept_And_Skips_Blank_Lines()
    {
        var built = await Build("sharegpt", "--adapter", "instructions", "--input", $"file={TestPaths.RealFile("reference-outputs", "llama-factory", "v1_multimodal_demo.jsonl")}", "--allow-empty");
        Assert.Equal(0, built.ExitCode);
        Assert.Empty(built.Records);
        Assert.Equal(24, built.Rejects.Count);
        // Content parts make these lines look like OpenAI chat, whose image parts need image_url.url, not "value".
        Assert.All(built.Rejects, r => Assert.Equal("missing-field", r.GetProperty("reason").GetString()));
        Assert.All(built.Rejects, r => Assert.StartsWith("as openai: ", r.GetProperty("detail").GetString(), StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(1, 24).Select(n => $"line {n}"), built.Rejects.Select(r => r.GetProperty("position").GetString()));
    }

    [Fact]
    public async Task Unknown_Layouts_Give_Exit_2_With_File_And_Reason()
    {
        var r = await Build("llava", "--adapter", "gqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{Fixture("aokvqa_v1p0_val.json")}: byte 0: unknown-layout", r.Error, StringComparison.Ordinal);

        var t = await Build("llava", "--adapter", "textcaps", "--input", $"captions={Fixture("val.json")}");
        Assert.Equal(2, t.ExitCode);
        Assert.Contains("unknown-layout", t.Error, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> AdaptersAndBadFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var adapter in MllmData.Adapters.AdapterRegistry.All)
        {
            foreach (var bad in new[] { "empty", "number", "truncated", "wrong-shape" })
            {
                data.Add(adapter.Name, bad);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AdaptersAndBadFiles))]
    public async Task Every_Adapter_Meets_Bad_Files_With_Exit_2_Or_Rejects_Never_A_Crash(string adapterName, string bad)
    {
        var adapter = MllmData.Adapters.AdapterRegistry.Get(adapterName);
        var file = Path.Combine(TestPaths.NewTempDir(), "input.json");
        File.WriteAllText(file, bad switch
        {
            "empty" => string.Empty,
            "number" => "42",
            "truncated" => "{\"questions\": [{\"question_id\": 1, \"question\": \"wh",
            _ => "[{\"unexpected\": true}, {\"data\": 3}]",
        });
        List<string> args = ["build", "--format", "llava", "--out", TestPaths.NewTempDir(), "--adapter", adapterName];
        // Without answers a build stops before reading (exit 1), so the answers file is given too, and is just as bad.
        foreach (var input in adapter.Inputs.Where(i => i.Required || i.Name == "annotations"))
        {
            args.AddRange(["--input", $"{input.Name}={file}"]);
        }

        if (adapterName is "csv" or "jsonl")
        {
            args.AddRange(["--map", "question=question", "--map", "answer=answer"]);
        }

        var r = await CliRunner.RunAsync([.. args]);
        Assert.True(r.ExitCode is 0 or 2, $"exit {r.ExitCode}: {r.Error}");
        if (r.ExitCode == 2)
        {
            Assert.Contains(file, r.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
        }
    }
}
