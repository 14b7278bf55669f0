using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Adapters;

namespace MllmData.Tests.Adapters;

/// <summary>Every written answer is one an annotator gave; prompts never carry placeholders for missing data.</summary>
public class TheAnswersAnAdapterWrites
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", name);

    private static string Pack(string name) => Fixture(Path.Combine("packs", name + ".yaml"));

    private sealed record Built(int ExitCode, string Error, List<JsonElement> Records, List<JsonElement> Rejects)
    {
        public JsonElement this[string id] => Records.Single(r => r.GetProperty("id").GetString() == id);

        public Dictionary<string, string> Answers() =>
            Records.ToDictionary(r => r.GetProperty("id").GetString()!, r => Gpt(r));

        public List<string?> Reasons() => [.. Rejects.Select(r => r.GetProperty("reason").GetString())];
    }

    private static async Task<Built> Build(params string[] args)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", "--format", "llava", "--out", outDir, "--suffix", "none", .. args]);
        var records = TestPaths.Shards(outDir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var rejectsFile = Path.Combine(outDir, "rejects.jsonl");
        var rejects = File.Exists(rejectsFile) ? File.ReadLines(rejectsFile).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList() : [];
        return new Built(r.ExitCode, r.Error, records, rejects);
    }

    /// <summary>The record part of a reject's position, without the byte offset.</summary>
    private static string Record(JsonElement reject) => reject.GetProperty("position").GetString()!.Split(" (byte ")[0];

    private static string Human(JsonElement llava) => llava.GetProperty("conversations")[0].GetProperty("value").GetString()!;

    private static string Gpt(JsonElement llava) => llava.GetProperty("conversations")[1].GetProperty("value").GetString()!;

    private static string WriteTemp(string fileName, string text)
    {
        var file = Path.Combine(TestPaths.NewTempDir(), fileName);
        File.WriteAllText(file, text);
        return file;
    }

    [Fact]
    public async Task A_Blank_Multiple_Choice_Answer_Gives_The_Vote_And_Meta_Names_The_Vote_As_Its_Raw_Answer()
    {
        var q = WriteTemp("questions.json", """{"questions":[{"image_id":1,"question":"What color?","question_id":1},{"image_id":1,"question":"Which?","question_id":2},{"image_id":1,"question":"How many?","question_id":3}]}""");
        var a = WriteTemp("annotations.json", """
            {"annotations":[
              {"question_id":1,"multiple_choice_answer":"","answers":[{"answer":"Red "},{"answer":"red"},{"answer":"blue"}]},
              {"question_id":2,"multiple_choice_answer":"   ","answers":[{"answer":"the left one"},{"answer":"left one"}]},
              {"question_id":3,"multiple_choice_answer":" 2 ","answers":[{"answer":"3"},{"answer":"3"}]}]}
            """);
        var built = await Build("--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}");
        Assert.True(built.ExitCode == 0, built.Error);

        string Raw(string id) => string.Join(" | ", built[id].GetProperty("meta").GetProperty("raw_answers").EnumerateArray().Select(x => x.GetString()!));
        Assert.Equal(("Red", "Red"), (Gpt(built["vqav2-q1"]), Raw("vqav2-q1")));
        Assert.Equal(Gpt(built["vqav2-q2"]), Raw("vqav2-q2"));
        Assert.NotEqual(string.Empty, Gpt(built["vqav2-q2"]).Trim());

        // A multiple_choice_answer that is there is the answer, trimmed, and its raw form is kept as written.
        Assert.Equal(("2", " 2 "), (Gpt(built["vqav2-q3"]), Raw("vqav2-q3")));
    }

    /// <summary>Asserts that every written answer equals, ignoring case, one raw answer of its question.</summary>
    private static void AssertEveryAnswerIsAnAnnotators(Dictionary<string, string> written, Dictionary<string, List<string>> rawById)
    {
        Assert.NotEmpty(written);
        foreach (var (id, answer) in written)
        {
            Assert.True(rawById.TryGetValue(id, out var raw), $"{id}: no raw answers read for it");
            Assert.True(
                raw.Any(r => string.Equals(r.Trim(), answer, StringComparison.OrdinalIgnoreCase)),
                $"{id}: '{answer}' is none of the annotators' answers [{string.Join(" | ", raw)}]");
        }
    }

    // ---- the vote itself ----

    [Theory]
    [InlineData("the speaking eye", new[] { "the speaking eye", "speaking eye", "the speaking eye", "eye", "eye", "eye" })]
    [InlineData("one penny", new[] { "one penny", "1 penny", "one penny", "dime", "dime" })]
    [InlineData("ph-sma", new[] { "ph-sma", "ph sma", "ph-sma", "phs" })]
    [InlineData("two", new[] { "2", "two", "two", "3", "3" })]
    [InlineData("a", new[] { "a", "dog", "a", "the", "cat" })]
    [InlineData("the", new[] { "the", "The", "dog" })]
    [InlineData("the", new[] { "  ", "the", "" })]
    [InlineData("bowmore", new[] { "bowmore ", "bowmore", "bowmore", "islay" })]
    public void Majority_Returns_The_Raw_String_Most_Given_In_The_Winning_Class(string expected, string[] answers) =>
        Assert.Equal(expected, VqaAnswers.MajorityVote(answers));

    [Fact]
    public void Majority_Breaks_Class_Ties_By_The_Earliest_First_Vote_And_String_Ties_By_First_Occurrence()
    {
        // red and blue have two votes each; red's first vote comes first.
        Assert.Equal("red", VqaAnswers.MajorityVote(["red", "blue", "blue", "Red"]));

        // Inside the winning class "Red" and "red" are given once each: the first one wins.
        Assert.Equal("Red", VqaAnswers.MajorityVote(["blue", "Red", "red", "blue", "green", "green", "the red"]));
        Assert.Null(VqaAnswers.MajorityVote(["", "  ", null]));
    }

    [Fact]
    public void Majority_Counts_Okvqas_Processed_Answer_And_Writes_The_Raw_Answer()
    {
        AnnotatorAnswer[] answers =
        [
            new("race", "racing"), new("race", "racing"), new("car", "cars"), new("car", "cars"), new("race", "race"),
            new("car", "car"), new("race", "racing"),
        ];
        Assert.Equal("racing", VqaAnswers.MajorityVote(answers));
        Assert.Equal("fly", VqaAnswers.MajorityVote([new AnnotatorAnswer("fly", " "), new AnnotatorAnswer(null, null)]));
    }

    // ---- VQA layout, --answer majority, on the real OK-VQA question file ----

    /// <summary>Ten answers (raw, processed) per question, like OK-VQA's five annotators each counted twice.</summary>
    private static readonly (string Raw, string Processed)[][] OkvqaAnswerSets =
    [
        [("the speaking eye", "speaking eye"), ("the speaking eye", "speaking eye"), ("speaking eye", "speaking eye"), ("eye", "eye"), ("eye", "eye")],
        [("one penny", "one penny"), ("one penny", "one penny"), ("1 penny", "1 penny"), ("dime", "dime"), ("nickel", "nickel")],
        [("ph-sma", "ph-sma"), ("ph sma", "ph sma"), ("ph-sma", "ph-sma"), ("pH", "ph"), ("acid", "acid")],
        [("a", "a"), ("a", "a"), ("the", "the"), ("dog", "dog"), ("cat", "cat")],
        [("racing", "race"), ("racing", "race"), ("race", "race"), ("cars", "car"), ("cars", "car")],
        [("Two", "two"), ("2", "2"), ("2", "2"), ("three", "three"), ("3", "3")],
    ];

    private static readonly string[] OkvqaExpected = ["the speaking eye", "one penny", "ph-sma", "a", "racing", "2"];

    [Fact]
    public async Task Okvqa_Majority_On_The_Real_Question_File_Writes_Only_Answers_Annotators_Gave()
    {
        // The real OK-VQA annotations file is over 4 MiB and not among the fixtures, so the test writes one in the
        // official layout (answer + raw_answer) for every real question.
        var questionsFile = TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json");
        var questions = JsonNode.Parse(File.ReadAllText(questionsFile))!["questions"]!.AsArray();
        var annotations = new JsonArray();
        for (var i = 0; i < questions.Count; i++)
        {
            var set = OkvqaAnswerSets[i % OkvqaAnswerSets.Length];
            var list = new JsonArray();
            for (var k = 0; k < 10; k++)
            {
                var (typed, processed) = set[k / 2];
                list.Add(new JsonObject { ["answer_id"] = k + 1, ["raw_answer"] = typed, ["answer_confidence"] = "yes", ["answer"] = processed });
            }

            annotations.Add(new JsonObject
            {
                ["image_id"] = questions[i]!["image_id"]!.GetValue<long>(), ["answer_type"] = "other", ["question_type"] = "other",
                ["question_id"] = questions[i]!["question_id"]!.GetValue<long>(), ["answers"] = list, ["confidence"] = 3,
            });
        }

        var annotationsFile = WriteTemp("mscoco_val2014_annotations.json", new JsonObject { ["annotations"] = annotations }.ToJsonString());
        var built = await Build("--adapter", "okvqa", "--input", $"questions={questionsFile}", "--input", $"annotations={annotationsFile}", "--answer", "majority", "--templates", Pack("test-vqa"));

        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Empty(built.Rejects);
        Assert.Equal(5046, built.Records.Count);

        // The raw answers, read back from the annotations file on their own.
        var raw = JsonDocument.Parse(File.ReadAllText(annotationsFile)).RootElement.GetProperty("annotations").EnumerateArray().ToDictionary(
            a => $"okvqa-q{a.GetProperty("question_id").GetInt64()}",
            a => a.GetProperty("answers").EnumerateArray().Select(x => x.GetProperty("raw_answer").GetString()!).ToList());
        var written = built.Answers();
        AssertEveryAnswerIsAnAnnotators(written, raw);
        var firstIds = questions.Take(OkvqaExpected.Length).Select(q => $"okvqa-q{q!["question_id"]!.GetValue<long>()}");
        Assert.Equal(OkvqaExpected, firstIds.Select(id => written[id]));
        Assert.Equal("<image>\nWhat sport can you use this for?", Human(built["okvqa-q2971475"]));
    }

    [Fact]
    public async Task Vqav2_Majority_Writes_The_Raw_Answer_And_Keeps_Answers_That_Normalise_To_Nothing()
    {
        var dir = TestPaths.NewTempDir();
        var q = Path.Combine(dir, "v2_OpenEnded_mscoco_val2014_questions.json");
        var a = Path.Combine(dir, "v2_mscoco_val2014_annotations.json");
        File.WriteAllText(q, """{"data_subtype": "val2014", "questions": [{"image_id": 1, "question": "Which article?", "question_id": 1}, {"image_id": 2, "question": "Blank?", "question_id": 2}, {"image_id": 3, "question": "Coin?", "question_id": 3}]}""");
        File.WriteAllText(a, """
            {"annotations": [
              {"question_id": 1, "image_id": 1, "multiple_choice_answer": "", "answers": [{"answer": "the"}, {"answer": "The"}, {"answer": "an"}]},
              {"question_id": 2, "image_id": 2, "multiple_choice_answer": "", "answers": [{"answer": " "}, {"answer": ""}]},
              {"question_id": 3, "image_id": 3, "multiple_choice_answer": "1 penny", "answers": [{"answer": "one penny"}, {"answer": "one penny"}, {"answer": "1 penny"}]}
            ]}
            """);
        var majority = await Build("--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--answer", "majority", "--templates", Pack("test-vqa"));
        Assert.True(majority.ExitCode == 0, majority.Error);
        Assert.Equal(new Dictionary<string, string> { ["vqav2-q1"] = "the", ["vqav2-q3"] = "one penny" }, majority.Answers());
        Assert.Equal(["empty-answer"], majority.Reasons());

        // mc keeps multiple_choice_answer; where it is blank, the same vote fills in.
        var mc = await Build("--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--templates", Pack("test-vqa"));
        Assert.Equal(new Dictionary<string, string> { ["vqav2-q1"] = "the", ["vqav2-q3"] = "1 penny" }, mc.Answers());
    }

    // ---- TextVQA ----

    private static Dictionary<string, List<string>> TextVqaRawAnswers(string file) =>
        JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("data").EnumerateArray().ToDictionary(
            x => $"textvqa-q{x.GetProperty("question_id").GetRawText()}",
            x => x.GetProperty("answers").EnumerateArray().Select(v => v.GetString()!).ToList());

    [Theory]
    [InlineData("TextVQA_0.5.1_train.json", new[] { "nokia", "lape", "ec", "simon clancy", "virgin" })]
    [InlineData("TextVQA_0.5.1_val.json", new[] { "dakota", "copenhagen", "ale", "bowmore", "10 years" })]
    public async Task Textvqa_On_The_Real_Files_Writes_Only_Answers_Annotators_Gave(string file, string[] expected)
    {
        var path = TestPaths.RealFile("textvqa", "hf-dummy", file);
        var built = await Build("--adapter", "textvqa", "--input", $"questions={path}", "--templates", Pack("test-vqa"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Empty(built.Rejects);
        AssertEveryAnswerIsAnAnnotators(built.Answers(), TextVqaRawAnswers(path));
        Assert.Equal(expected, built.Records.Select(Gpt));
    }

    [Fact]
    public async Task Textvqa_Keeps_Answers_That_Normalise_To_Nothing_And_Rejects_Only_Blank_Ones()
    {
        var file = WriteTemp("TextVQA_0.5.1_train.json", """
            {"data": [
              {"question_id": 1, "question": "what word is on the sign?", "image_id": "aa", "set_name": "train", "answers": ["a", "a", "the", "stop", "a"]},
              {"question_id": 2, "question": "what is written?", "image_id": "bb", "set_name": "train", "answers": ["the speaking eye", "speaking eye", "the speaking eye"]},
              {"question_id": 3, "question": "blank?", "image_id": "cc", "set_name": "train", "answers": ["", "  "]}
            ]}
            """);
        var built = await Build("--adapter", "textvqa", "--input", $"questions={file}", "--templates", Pack("test-vqa"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(new Dictionary<string, string> { ["textvqa-q1"] = "a", ["textvqa-q2"] = "the speaking eye" }, built.Answers());
        Assert.Equal(["empty-answer"], built.Reasons());
        AssertEveryAnswerIsAnAnnotators(built.Answers(), TextVqaRawAnswers(file));
    }

    [Fact]
    public async Task Textvqa_Ocr_Hint_Rejects_Records_Without_Ocr_Tokens_And_Never_Writes_None()
    {
        var root = TestPaths.RealFile("textvqa", "hf-dummy");
        var questions = Path.Combine(root, "TextVQA_0.5.1_train.json");
        var ocr = WriteTemp("TextVQA_Rosetta_OCR_v0.2_train.json", """{"data": [{"image_id": "0054c91397f2fe05", "ocr_tokens": ["NOKIA", "3310"]}, {"image_id": "00685bc495504d61", "ocr_tokens": []}]}""");
        var built = await Build("--adapter", "textvqa", "--input", $"questions={questions}", "--input", $"ocr={ocr}", "--ocr-hint", "--templates", Pack("test-ocr"));

        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(["textvqa-q0"], built.Records.Select(r => r.GetProperty("id").GetString()));
        Assert.Equal("<image>\nwhat is the brand of phone? OCR: NOKIA, 3310", Human(built.Records[0]));
        Assert.Equal(["missing-ocr", "missing-ocr", "missing-ocr", "missing-ocr"], built.Reasons());
        Assert.Equal(
            [
                $"--ocr-hint is on but image 005635e119b9f32f (question_id 1) has no OCR tokens, neither in the record nor in {Path.GetFileName(ocr)}",
                $"--ocr-hint is on but image 005635e119b9f32f (question_id 2) has no OCR tokens, neither in the record nor in {Path.GetFileName(ocr)}",
                $"--ocr-hint is on but image 00685bc495504d61 (question_id 3) has no OCR tokens, neither in the record nor in {Path.GetFileName(ocr)}",
                $"--ocr-hint is on but image 00685bc495504d61 (question_id 4) has no OCR tokens, neither in the record nor in {Path.GetFileName(ocr)}",
            ],
            built.Rejects.Select(r => r.GetProperty("detail").GetString()));
        Assert.Equal(["data[1]", "data[2]", "data[3]", "data[4]"], built.Rejects.Select(Record));

        var noFile = await Build("--adapter", "textvqa", "--input", $"questions={questions}", "--ocr-hint", "--templates", Pack("test-ocr"), "--allow-empty");
        Assert.Empty(noFile.Records);
        Assert.Equal(Enumerable.Repeat<string?>("missing-ocr", 5), noFile.Reasons());
        Assert.EndsWith("neither in the record nor in an --input ocr=FILE (none given)", noFile.Rejects[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    // ---- VizWiz ----

    [Fact]
    public async Task Vizwiz_Writes_Annotator_Answers_Or_The_Unanswerable_Response_On_The_Fixture()
    {
        const string Response = "The question cannot be answered from this image.";
        var path = Fixture("val.json");
        var built = await Build("--adapter", "vizwiz", "--input", $"questions={path}", "--templates", Pack("test-vqa"));
        Assert.True(built.ExitCode == 0, built.Error);
        var raw = JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().ToDictionary(
            x => "vizwiz-" + Path.GetFileNameWithoutExtension(x.GetProperty("image").GetString()),
            x => x.GetProperty("answers").EnumerateArray().Select(a => a.GetProperty("answer").GetString()!).ToList());
        var answers = built.Answers();
        Assert.Equal(Response, answers["vizwiz-VizWiz_val_00000000"]);
        AssertEveryAnswerIsAnAnnotators(answers.Where(kv => kv.Value != Response).ToDictionary(), raw);
        Assert.Equal(["night time", "dog years"], answers.Where(kv => kv.Value != Response).Select(kv => kv.Value));
    }

    private static string VizwizItem(string image, string answers, string marks) =>
        $$"""{"image": "{{image}}.jpg", "question": "What is it?", "answers": [{{string.Join(", ", answers.Split('|').Select(a => $$"""{"answer": "{{a}}", "answer_confidence": "yes"}"""))}}]{{marks}}}""";

    [Fact]
    public async Task Vizwiz_Honours_The_Records_Own_Answerable_Marks_Before_The_Vote()
    {
        var file = WriteTemp("val.json", "[" + string.Join(",\n", [
            VizwizItem("zero", "red|red|red|blue", ", \"answerable\": 0, \"answer_type\": \"other\""),
            VizwizItem("typed", "red|red|red", ", \"answer_type\": \"unanswerable\""),
            VizwizItem("one", "unanswerable|unanswerable|unanswerable|unanswerable|unanswerable|unanswerable|blue|blue|navy|blue", ", \"answerable\": 1, \"answer_type\": \"other\""),
            VizwizItem("typed-other", "unanswerable|unanswerable|unanswerable|the speaking eye", ", \"answer_type\": \"other\""),
            VizwizItem("one-none-real", "unanswerable|unanswerable", ", \"answerable\": 1"),
            VizwizItem("unmarked", "unanswerable|unanswerable|green", string.Empty),
            VizwizItem("unmarked-real", "green|unanswerable|green", string.Empty),
        ]) + "]");
        var built = await Build("--adapter", "vizwiz", "--input", $"questions={file}", "--unanswerable-response", "Cannot tell.", "--templates", Pack("test-vqa"));

        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["vizwiz-zero"] = "Cannot tell.", ["vizwiz-typed"] = "Cannot tell.", ["vizwiz-one"] = "blue", ["vizwiz-typed-other"] = "the speaking eye",
                ["vizwiz-one-none-real"] = "Cannot tell.", ["vizwiz-unmarked"] = "Cannot tell.", ["vizwiz-unmarked-real"] = "green",
            },
            built.Answers());

        var drop = await Build("--adapter", "vizwiz", "--input", $"questions={file}", "--unanswerable", "drop", "--templates", Pack("test-vqa"));
        Assert.Equal(["vizwiz-one", "vizwiz-typed-other", "vizwiz-unmarked-real"], drop.Records.Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(["unanswerable", "unanswerable", "unanswerable", "unanswerable"], drop.Reasons());
        Assert.Equal(["questions[0]", "questions[1]", "questions[4]", "questions[5]"], drop.Rejects.Select(Record));
    }

    // ---- A-OKVQA ----

    [Fact]
    public async Task Aokvqa_Direct_Writes_Only_Direct_Answers_Annotators_Gave()
    {
        var path = Fixture("aokvqa_v1p0_val.json");
        var built = await Build("--adapter", "aokvqa", "--input", $"questions={path}", "--mode", "direct", "--templates", Pack("test-vqa"));
        var raw = JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().Where(x => x.TryGetProperty("direct_answers", out _)).ToDictionary(
            x => "aokvqa-q" + x.GetProperty("question_id").GetString(),
            x => x.GetProperty("direct_answers").EnumerateArray().Select(a => a.GetString()!).ToList());
        AssertEveryAnswerIsAnAnnotators(built.Answers(), raw);
        Assert.Equal(["cigarette", "winter"], built.Records.Select(Gpt));

        var crafted = WriteTemp("aokvqa_v1p0_val.json", """
            [{"split": "val", "image_id": 1, "question_id": "p", "question": "What coin?", "choices": ["a", "b"], "correct_choice_idx": 0,
              "direct_answers": ["one penny", "1 penny", "one penny", "a dime", "dime", "the"]},
             {"split": "val", "image_id": 2, "question_id": "t", "question": "Which word?", "choices": ["a", "b"], "correct_choice_idx": 0,
              "direct_answers": ["The", "the", "an", "The"]},
             {"split": "val", "image_id": 3, "question_id": "b", "question": "Blank?", "choices": ["a", "b"], "correct_choice_idx": 0,
              "direct_answers": ["", " "]}]
            """);
        var votes = await Build("--adapter", "aokvqa", "--input", $"questions={crafted}", "--mode", "direct", "--templates", Pack("test-vqa"));
        Assert.Equal(new Dictionary<string, string> { ["aokvqa-qp"] = "one penny", ["aokvqa-qt"] = "The" }, votes.Answers());
        Assert.Equal(["empty-answer"], votes.Reasons());
    }

    private static string Choices(int n) => "[" + string.Join(", ", Enumerable.Range(1, n).Select(i => $"\"option {i}\"")) + "]";

    [Fact]
    public async Task Aokvqa_Rejects_More_Than_26_Choices_And_Letters_26_Up_To_Z()
    {
        var file = WriteTemp("aokvqa_v1p0_val.json", $$"""
            [{"split": "val", "image_id": 1, "question_id": "z", "question": "Which one?", "choices": {{Choices(26)}}, "correct_choice_idx": 25, "direct_answers": ["x"]},
             {"split": "val", "image_id": 2, "question_id": "over", "question": "Which one?", "choices": {{Choices(27)}}, "correct_choice_idx": 26, "direct_answers": ["x"]}]
            """);
        var built = await Build("--adapter", "aokvqa", "--input", $"questions={file}", "--templates", Pack("test-mc"));
        Assert.True(built.ExitCode == 0, built.Error);
        var z = built["aokvqa-qz"];
        Assert.Equal("Z", Gpt(z));
        Assert.EndsWith("\nY. option 25\nZ. option 26", Human(z), StringComparison.Ordinal);
        Assert.Equal(["too-many-choices"], built.Reasons());
        Assert.Equal("27 choices, but options are lettered A to Z (at most 26)", built.Rejects[0].GetProperty("detail").GetString());
        Assert.Equal("questions[1]", Record(built.Rejects[0]));
    }

    // ---- ScienceQA ----

    [Fact]
    public async Task Scienceqa_Without_Context_Leaves_The_Context_Line_Out_And_Rejects_Too_Many_Choices()
    {
        var file = WriteTemp("problems.json", $$$"""
            {"1": {"question": "Which is a mammal?", "choices": ["frog", "whale"], "answer": 1, "hint": "", "image": null, "split": "test"},
             "2": {"question": "Which is a mammal?", "choices": ["frog", "whale"], "answer": 1, "hint": "Look at the animals.", "image": null, "split": "test"},
             "3": {"question": "Pick one.", "choices": {{{Choices(27)}}}, "answer": 0, "hint": "", "image": null, "split": "test"}}
            """);
        var built = await Build("--adapter", "scienceqa", "--input", $"problems={file}", "--split", "test", "--templates", Pack("test-sqa"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal("Which is a mammal?\nA. frog\nB. whale", Human(built["scienceqa-1"]));
        Assert.Equal("Which is a mammal?\nContext: Look at the animals.\nA. frog\nB. whale", Human(built["scienceqa-2"]));
        Assert.Equal(["too-many-choices"], built.Reasons());

        // The shipped pack: no "none" and no empty "Context:" line in any of its templates' output.
        var shipped = await Build("--adapter", "scienceqa", "--input", $"problems={file}", "--split", "test", "--templates", Path.Combine(TestPaths.RepoRoot, "templates", "scienceqa.yaml"), "--seed", "11");
        var text = Human(shipped["scienceqa-1"]);
        Assert.DoesNotContain("none", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Context:", text, StringComparison.Ordinal);
        Assert.Contains("Which is a mammal?\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_Rejects_More_Than_26_Choices()
    {
        var file = WriteTemp("rows.jsonl", $$"""
            {"q": "Which one?", "opts": {{Choices(27)}}, "a": "option 27"}
            {"q": "Which one?", "opts": {{Choices(3)}}, "a": "option 3"}
            """);
        var built = await Build("--adapter", "jsonl", "--input", $"file={file}", "--map", "question=q", "--map", "choices=opts", "--map", "answer=a", "--templates", Pack("test-mc"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(["C"], built.Records.Select(Gpt));
        Assert.Equal(["too-many-choices"], built.Reasons());
    }

    // ---- TextCaps and NoCaps ----

    [Fact]
    public async Task Textcaps_Test_Rows_Resolve_To_The_Test_Image_Folder()
    {
        var file = WriteTemp("TextCaps_0.1_test.json", """
            {"dataset_type": "test", "data": [
              {"image_id": "5f0a", "set_name": "test", "image_width": 640, "image_height": 480, "caption_id": 7, "caption_str": "A shop sign."},
              {"image_id": "6b1c", "caption_id": 8, "caption_str": "A road sign."}
            ]}
            """);

        // The second row has no set_name: the file name says test.
        var built = await Build("--adapter", "textcaps", "--input", $"captions={file}", "--templates", Pack("test-caption"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(["test_images/5f0a.jpg", "test_images/6b1c.jpg"], built.Records.Select(r => r.GetProperty("image").GetString()));

        var train = await Build("--adapter", "textcaps", "--input", $"captions={Fixture("TextCaps_0.1_train.json")}", "--templates", Pack("test-caption"));
        Assert.Equal(["train_images/011e7e629fb9ae7b.jpg", "train_images/0a0bc91825468c45.jpg"], train.Records.Select(r => r.GetProperty("image").GetString()));
    }

    [Fact]
    public async Task Textcaps_Per_Caption_Writes_One_Record_Per_Caption()
    {
        var built = await Build("--adapter", "textcaps", "--input", $"captions={Fixture("TextCaps_0.1_train.json")}", "--per-caption", "--templates", Pack("test-caption"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["textcaps-c0"] = "A bottle of Coca-Cola sits on a table.", ["textcaps-c1"] = "A red can labelled Coca Cola.",
                ["textcaps-c2"] = "Coca-Cola is written on the bottle.", ["textcaps-c3"] = "A sign that says STOP at a corner.",
            },
            built.Answers());
        Assert.Equal("train_images/011e7e629fb9ae7b.jpg", built["textcaps-c2"].GetProperty("image").GetString());
        Assert.Equal("train_images/0a0bc91825468c45.jpg", built["textcaps-c3"].GetProperty("image").GetString());
    }

    [Fact]
    public async Task Nocaps_Per_Caption_Writes_One_Record_Per_Caption_Within_The_Domains()
    {
        var built = await Build("--adapter", "nocaps", "--input", $"captions={Fixture("nocaps_val_4500_captions.json")}", "--per-caption", "--templates", Pack("test-caption"));
        Assert.True(built.ExitCode == 0, built.Error);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["nocaps-c0"] = "A baby is standing in front of a house.", ["nocaps-c1"] = "A little girl in a white jacket.",
                ["nocaps-c2"] = "A red panda sits on a branch.", ["nocaps-c3"] = "A plate of tacos on a table.",
            },
            built.Answers());
        Assert.Equal("0013ea2087020901.jpg", built["nocaps-c1"].GetProperty("image").GetString());

        var near = await Build("--adapter", "nocaps", "--input", $"captions={Fixture("nocaps_val_4500_captions.json")}", "--per-caption", "--domain", "near-domain");
        Assert.Equal(["nocaps-c3"], near.Records.Select(r => r.GetProperty("id").GetString()));
    }
}
