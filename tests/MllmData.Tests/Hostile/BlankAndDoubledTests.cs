using System.Text.Json;
using Microsoft.ML.Tokenizers;
using MllmData.Adapters;
using MllmData.Json;
using MllmData.ModelCalls;

namespace MllmData.Tests.Hostile;

/// <summary>
/// The second probe of blank text and doubled keys: blank votes, captions, options and OCR tokens, default-ignorable
/// characters, blank ids and system prompts, a doubled record key in keyed layouts and doubled read keys, and long texts.
/// </summary>
public class BlankTextAndDoubledKeysAgain
{
    private static Task<(int Exit, string Error, List<JsonElement> Records, List<JsonElement> Rejects)> Build(params string[] args) => HostileFile.BuildLlava(args);

    private static string Write(string name, string text) => HostileFile.Write(name, text);

    [Theory]
    [InlineData("\u034f")] // combining grapheme joiner
    [InlineData("\ufe0f")] // variation selector
    [InlineData("\U000E0100")] // variation selector supplement
    [InlineData("\u17b4\u17b5")] // Khmer inherent vowels
    [InlineData("\u180b\u180e")] // Mongolian free variation selector, vowel separator
    [InlineData("\u061c\u202a\u202e")] // direction marks and embeddings
    [InlineData("\U0001D173")] // a musical format control
    public void Default_Ignorable_Characters_Are_Blank(string text)
    {
        Assert.True(TextCheck.IsBlank(text));
        Assert.True(TextCheck.IsBlank(" " + text + "\u3000"));
        Assert.True(TextCheck.IsBlankUtf8(System.Text.Encoding.UTF8.GetBytes(" " + text + "\u3000\n")));
        Assert.StartsWith("only invisible characters", TextCheck.BlankKind(text), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\u0600")] // Arabic number sign: a format character that is seen
    [InlineData("\u06dd")]
    [InlineData("\u070f")]
    [InlineData("\U000110BD")]
    [InlineData("\ufff9")]
    public void Visible_Format_Characters_Are_Not_Blank(string text) => Assert.False(TextCheck.IsBlank(text));

    [Fact]
    public void Blank_Utf8_Text_Is_Blank_Text()
    {
        // The validator reads escaped messages as UTF-8 bytes: they are blank exactly when their string would be.
        string[] texts = ["", " ", "\n\t\r ", "\u00a0", "\u200b\u2800", "\u3164 \u2800", "a", " a ", "\u0600", "\U0001F600", "\u00ad", "\ufeffx", "\u3000\u3000", "\u2028", "\u0085", "\u180e"];
        foreach (var text in texts)
        {
            Assert.True(TextCheck.IsBlank(text) == TextCheck.IsBlankUtf8(System.Text.Encoding.UTF8.GetBytes(text)), $"U+{string.Join(" U+", text.EnumerateRunes().Select(r => r.Value.ToString("X4", System.Globalization.CultureInfo.InvariantCulture)))}");
        }

        // Bytes that are not UTF-8 are never blank (as a string decoded from them holds U+FFFD).
        Assert.False(TextCheck.IsBlankUtf8([0x20, 0xC3]));
        Assert.False(TextCheck.IsBlankUtf8([0xFF]));
        Assert.True(TextCheck.IsBlankUtf8([]));
    }

    [Fact]
    public void Null_Is_Blank_And_Blank_Votes_Do_Not_Win()
    {
        Assert.True(TextCheck.IsBlank(null));
        Assert.Equal("empty", TextCheck.BlankKind(null));
        Assert.Equal("cat", VqaAnswers.MajorityVote([.. Enumerable.Repeat("\u200b", 6), .. Enumerable.Repeat("cat", 4)]));
        Assert.Equal("cat", VqaAnswers.MajorityVote([.. Enumerable.Repeat("\u3164 \u2800", 6), "cat"]));
        Assert.Null(VqaAnswers.MajorityVote(["\u200b", " ", "\ufeff"]));
    }

    [Fact]
    public async Task A_Blank_Caption_Is_Skipped_Not_The_Image()
    {
        var captions = Write("captions.json", """{"images":[{"id":1,"file_name":"a.jpg"},{"id":2,"file_name":"b.jpg"}],"annotations":[{"id":10,"image_id":1,"caption":"\u200b"},{"id":11,"image_id":1,"caption":"A cat on a mat."},{"id":12,"image_id":2,"caption":"\u3164"}]}""");

        var perCaption = await Build("build", "--adapter", "coco-captions", "--input", $"captions={captions}");
        Assert.Equal(0, perCaption.Exit);
        Assert.Equal(["empty-answer", "empty-answer"], perCaption.Rejects.Select(r => r.GetProperty("reason").GetString()));
        Assert.Single(perCaption.Records);

        var perImage = await Build("build", "--adapter", "coco-captions", "--input", $"captions={captions}", "--per-image");
        Assert.True(perImage.Exit == 0, perImage.Error);
        Assert.Equal("A cat on a mat.", perImage.Records.Single().GetProperty("conversations")[1].GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_Blank_Option_Is_An_Empty_Choice_And_A_Csv_Empty_Option_Does_Not_Move_The_Others()
    {
        var jsonl = Write("rows.jsonl", string.Join("\n",
            """{"img":"a.jpg","q":"Which?","a":"1","ch":["a"," ","c"]}""",
            """{"img":"a.jpg","q":"Which?","a":"0","ch":["\u200b","\u200b"]}""",
            """{"img":"a.jpg","q":"Which?","a":"1","ch":["a","b"]}"""));
        var csv = Write("rows.csv", "img,q,a,ch\nimg.jpg,Which?,1,a||c|d\nimg.jpg,Which?,1,a|b\n");

        var j = await Build("build", "--adapter", "jsonl", "--input", $"file={jsonl}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--map", "choices=ch");
        var c = await Build("build", "--adapter", "csv", "--input", $"file={csv}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--map", "choices=ch");

        Assert.True(j.Exit == 0, j.Error);
        Assert.True(c.Exit == 0, c.Error);
        Assert.Equal([("empty-choice", "option B is only white space"), ("empty-choice", "option A is only invisible characters (U+200B first)")], j.Rejects.Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("detail").GetString())));
        Assert.Equal([("empty-choice", "option B is empty")], c.Rejects.Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("detail").GetString())));
        Assert.Single(j.Records);
        Assert.Equal("B", c.Records.Single().GetProperty("conversations")[1].GetProperty("value").GetString());
    }

    [Fact]
    public async Task Ocr_Tokens_That_Show_Nothing_Are_No_Ocr()
    {
        var root = TestPaths.NewTempDir();
        var questions = Path.Combine(root, "TextVQA_0.5.1_train.json");
        Directory.CreateDirectory(Path.Combine(root, "train_images"));
        File.WriteAllBytes(Path.Combine(root, "train_images", "i1.jpg"), [0xFF, 0xD8, 0xFF]);
        File.WriteAllBytes(Path.Combine(root, "train_images", "i2.jpg"), [0xFF, 0xD8, 0xFF]);
        File.WriteAllText(questions, """{"dataset_type":"train","data":[{"question_id":1,"question":"What does it say?","image_id":"i1","answers":["stop","stop"],"ocr_tokens":["\u200b","\u3164"," "]},{"question_id":2,"question":"What does it say?","image_id":"i2","answers":["go"],"ocr_tokens":["\u200b","go"]}]}""");

        var r = await Build("build", "--adapter", "textvqa", "--input", $"questions={questions}", "--image-root", root, "--ocr-hint");

        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["missing-ocr"], r.Rejects.Select(x => x.GetProperty("reason").GetString()));
        var human = r.Records.Single().GetProperty("conversations")[0].GetProperty("value").GetString()!;
        Assert.Contains("go", human, StringComparison.Ordinal);
        Assert.DoesNotContain("\u200b", human, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("   ", "only white space")]
    [InlineData("\u200b", "only invisible characters (U+200B first)")]
    public async Task A_Blank_System_Prompt_Is_A_Usage_Error(string prompt, string words)
    {
        var samples = Path.Combine(TestPaths.RepoRoot, "samples", "vqav2");
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={Path.Combine(samples, "v2_OpenEnded_mscoco_train2014_questions.json")}", "--input", $"annotations={Path.Combine(samples, "v2_mscoco_train2014_annotations.json")}", "--format", "openai", "--system-prompt", prompt, "--out", Path.Combine(TestPaths.NewTempDir(), "out"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"--system-prompt (system_prompt) is {words}", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Blank_Mapped_Id_Is_No_Id()
    {
        var jsonl = Write("rows.jsonl", string.Join("\n",
            """{"img":"a.jpg","q":"One?","a":"1","id":" "}""",
            """{"img":"a.jpg","q":"Two?","a":"2","id":"\u200b"}"""));
        var r = await Build("build", "--adapter", "jsonl", "--input", $"file={jsonl}", "--map", "image=img", "--map", "question=q", "--map", "answer=a", "--map", "id=id");
        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["jsonl-l1", "jsonl-l2"], r.Records.Select(x => x.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task A_Karpathy_Image_Whose_Sentences_Are_All_Blank_Is_An_Empty_Answer()
    {
        var dataset = Write("dataset_flickr8k.json", """
            {"images":[
              {"filename":"a.jpg","imgid":1,"split":"train","sentences":[{"raw":"A dog runs.","sentid":10}]},
              {"filename":"b.jpg","imgid":2,"split":"train","sentences":[{"raw":" ","sentid":20},{"raw":"​","sentid":21}]},
              {"filename":"c.jpg","imgid":3,"split":"train","sentences":[]},
              {"filename":"d.jpg","imgid":4,"split":"train","sentences":[{"tokens":["a"],"sentid":40}]}
            ]}
            """);
        var r = await Build("build", "--adapter", "karpathy", "--input", $"dataset={dataset}", "--splits", "train");
        Assert.True(r.Exit == 0, r.Error);
        Assert.Single(r.Records);
        Assert.Equal(
            [("empty-answer", "all 2 captions of image 2 are blank"), ("missing-field", "no sentences with \"raw\" text"), ("missing-field", "no sentences with \"raw\" text")],
            r.Rejects.Select(x => (x.GetProperty("reason").GetString(), x.GetProperty("detail").GetString())));
    }

    [Fact]
    public async Task A_Record_Key_Written_Twice_In_A_Keyed_Layout_Is_A_Duplicate_Id()
    {
        var gqa = Write("questions.json", """{"g1":{"imageId":"n0","question":"Is it?","answer":"yes","fullAnswer":"Yes."},"g2":{"imageId":"n0","question":"Is it red?","answer":"no","fullAnswer":"No."},"g1":{"imageId":"n0","question":"Is it not?","answer":"no","fullAnswer":"No."}}""");
        var r = await Build("build", "--adapter", "gqa", "--input", $"questions={gqa}");
        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(["gqa-qg1", "gqa-qg2"], r.Records.Select(x => x.GetProperty("id").GetString()));
        var reject = r.Rejects.Single();
        Assert.Equal(("duplicate-id", "the key \"g1\" appears a second time in the object"), (reject.GetProperty("reason").GetString(), reject.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task A_Read_Key_Or_Split_Written_Twice_Stops_The_Build()
    {
        var q = Write("questions.json", """{"data_subtype":"train2014","data_subtype":"val2014","questions":[{"image_id":1,"question":"Is it red?","question_id":1}]}""");
        var a = Write("annotations.json", """{"annotations":[{"question_id":1,"multiple_choice_answer":"yes","answers":[{"answer":"yes"}]}]}""");
        var vqa = await Build("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");
        Assert.Equal(2, vqa.Exit);
        Assert.Contains("duplicate-key: the top-level key \"data_subtype\" appears a second time", vqa.Error, StringComparison.Ordinal);

        var problems = Write("problems.json", """{"100":{"question":"Which is a mammal?","choices":["cat","fish"],"answer":0,"split":"train"},"101":{"question":"Which is a bird?","choices":["cat","owl"],"answer":1,"split":"train"}}""");
        var splits = Write("pid_splits.json", """{"train":["100"],"val":[],"train":["101"]}""");
        var sqa = await Build("build", "--adapter", "scienceqa", "--input", $"problems={problems}", "--input", $"splits={splits}");
        Assert.Equal(2, sqa.Exit);
        Assert.Contains("duplicate-key: the split \"train\" is listed twice", sqa.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ScienceQa_Field_Of_Another_Kind_Is_Wrong_Type_And_An_Absent_One_Missing()
    {
        var problems = Write("problems.json", """
            {"1":{"question":"Q1?","choices":["a","b"],"answer":"1","split":"train"},
             "2":{"question":"Q2?","choices":["a","b"],"answer":1.0,"split":"train"},
             "3":{"question":"Q3?","choices":"a, b","answer":1,"split":"train"},
             "4":{"question":5,"choices":["a","b"],"answer":1,"split":"train"},
             "5":{"question":"Q5?","choices":["a","b"],"split":"train"},
             "6":{"question":"Q6?","choices":["a","b"],"answer":2,"split":"train"},
             "7":{"question":"Q7?","choices":["a","b"],"answer":1,"split":"train"}}
            """);
        var r = await Build("build", "--adapter", "scienceqa", "--input", $"problems={problems}", "--split", "train");
        Assert.True(r.Exit == 0, r.Error);
        Assert.Equal(
            [
                ("wrong-type", "\"answer\" is a string, expected a whole number"),
                ("wrong-type", "\"answer\" is the number 1.0, expected a whole number"),
                ("wrong-type", "\"choices\" is a string, expected a list of strings"),
                ("wrong-type", "\"question\" is the number 5, expected a string"),
                ("missing-field", "no \"answer\" index within the choices"),
                ("missing-field", "no \"answer\" index within the choices"),
            ],
            r.Rejects.Select(x => (x.GetProperty("reason").GetString(), x.GetProperty("detail").GetString())));
        Assert.Single(r.Records);
    }

    public static TheoryData<string> LongTexts() =>
    [
        new string('a', 1000) + new string(' ', 40) + "b",
        new string('a', 1022) + "  \n b",
        new string('a', 1022) + "\t  b",
        "x" + string.Concat(Enumerable.Repeat("😀", 600)),
        new string('a', 1020) + "<|endoftext|>",
        string.Join(" ", Enumerable.Repeat("word", 400)) + new string(' ', 2000) + "end",
        new string('\t', 1026) + "x",
        new string('!', 1025),
        " " + new string('a', 1024),
        string.Concat(Enumerable.Repeat(" \t\u00a0\n", 1200)) + "end",
    ];

    [Theory]
    [MemberData(nameof(LongTexts))]
    public void A_Long_Text_With_Spaces_Counts_As_The_Library_Counts_It(string text)
    {
        // A fresh library instance: a long-lived one forgets its special tokens once its cache has turned over.
        var reference = TiktokenTokenizer.CreateForEncoding("o200k_base");
        Assert.Equal(reference.CountTokens(text), TokenCounter.Text(text));
    }

    [Fact]
    public async Task An_Image_Whose_Captions_Are_All_Blank_Is_An_Empty_Answer_And_The_Build_Goes_On()
    {
        var root = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(root, "train_images"));
        foreach (var name in new[] { "t1", "t2", "t3" })
        {
            File.WriteAllBytes(Path.Combine(root, "train_images", $"{name}.jpg"), [0xFF, 0xD8, 0xFF]);
        }

        var textcaps = Path.Combine(root, "TextCaps_0.1_train.json");
        File.WriteAllText(textcaps, """{"data":[{"image_id":"t1","caption_id":1,"caption_str":"A sign.","reference_strs":["A sign."],"set_name":"train"},{"image_id":"t2","caption_id":3,"caption_str":"\u180e","reference_strs":["\u180e"],"set_name":"train"},{"image_id":"t3","caption_id":4,"caption_str":"\u2800","reference_strs":["\u2800","A stop sign."],"set_name":"train"},{"image_id":"t3","caption_id":5,"caption_str":"A stop sign.","reference_strs":["\u2800","A stop sign."],"set_name":"train"}]}""");

        var perImage = await Build("build", "--adapter", "textcaps", "--input", $"captions={textcaps}", "--image-root", root);
        Assert.True(perImage.Exit == 0, perImage.Error);
        Assert.Equal([("empty-answer", "all 1 captions of image t2 are blank")], perImage.Rejects.Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("detail").GetString())));
        Assert.Equal(["A sign.", "A stop sign."], perImage.Records.Select(r => r.GetProperty("conversations")[1].GetProperty("value").GetString()));

        // A blank first row no longer brings in the references: the later row's caption is the image's only one.
        var perCaption = await Build("build", "--adapter", "textcaps", "--input", $"captions={textcaps}", "--image-root", root, "--per-caption");
        Assert.True(perCaption.Exit == 0, perCaption.Error);
        Assert.Equal(["textcaps-c1", "textcaps-c5"], perCaption.Records.Select(r => r.GetProperty("id").GetString()));

        var nocaps = Path.Combine(root, "nocaps_val_4500_captions.json");
        File.WriteAllText(nocaps, """{"images":[{"id":1,"file_name":"img1.jpg","open_images_id":"o1","domain":"in-domain"},{"id":2,"file_name":"img2.jpg","open_images_id":"o2","domain":"near-domain"}],"annotations":[{"image_id":1,"caption":"A car."},{"image_id":2,"caption":"\ufe0e"},{"image_id":2,"caption":" "}]}""");
        File.WriteAllBytes(Path.Combine(root, "img1.jpg"), [0xFF, 0xD8, 0xFF]);
        File.WriteAllBytes(Path.Combine(root, "img2.jpg"), [0xFF, 0xD8, 0xFF]);
        var n = await Build("build", "--adapter", "nocaps", "--input", $"captions={nocaps}", "--image-root", root);
        Assert.True(n.Exit == 0, n.Error);
        Assert.Equal([("empty-answer", "all 2 captions of image 2 are blank")], n.Rejects.Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("detail").GetString())));
        Assert.Single(n.Records);
    }

    [Fact]
    public async Task A_ScienceQa_Caption_Given_Twice_Stops_The_Build()
    {
        var problems = Write("problems.json", """{"5":{"question":"Q5?","choices":["a","b"],"answer":0,"hint":"","image":"image.png","lecture":"L","solution":"S","split":"train"}}""");
        var captions = Write("captions.json", """{"captions":{"5":"A red cat.","6":"x","5":"A blue dog."}}""");
        var r = await Build("build", "--adapter", "scienceqa", "--input", $"problems={problems}", "--input", $"captions={captions}");
        Assert.Equal(2, r.Exit);
        Assert.Contains("duplicate-key: the caption of 5 is given twice", r.Error, StringComparison.Ordinal);
    }
}
