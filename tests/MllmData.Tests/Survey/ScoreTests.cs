using System.Text.Json;
using MllmData.Eval;

namespace MllmData.Tests.Survey;

/// <summary>Issue #12 §5: <c>mllmdata score</c> against hand-computed results.</summary>
public class TheScoreCommand
{
    private static string Write(string dir, string name, params string[] lines)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Ten(string answer, int times, string other) =>
        JsonSerializer.Serialize(Enumerable.Repeat(answer, times).Concat(Enumerable.Repeat(other, 10 - times)));

    // A prediction matching k of ten annotators: of the ten leave-one-out subsets, the k that leave out a match hold
    // k-1 matches and the other 10-k hold k, so acc = (k * min((k-1)/3, 1) + (10-k) * min(k/3, 1)) / 10:
    // k=1: (1*0 + 9*1/3)/10 = 0.3; k=2: (2*1/3 + 8*2/3)/10 = 0.6; k=3: (3*2/3 + 7*1)/10 = 0.9; k=4: (4*1 + 6*1)/10 = 1.0.
    [Theory]
    [InlineData(1, 0.3)]
    [InlineData(2, 0.6)]
    [InlineData(3, 0.9)]
    [InlineData(4, 1.0)]
    [InlineData(0, 0.0)]
    public void Vqa_Accuracy_Of_A_Prediction_Matching_K_Of_Ten_Annotators(int k, double expected)
    {
        var answers = Enumerable.Repeat("red", k).Concat(Enumerable.Repeat("blue", 10 - k)).ToList();

        Assert.Equal(expected, VqaAccuracy.Of("red", answers), 12);
    }

    [Fact]
    public async Task Vqa_Score_With_Normalisation_Ties_And_A_Missing_Prediction_Equals_The_Hand_Computed_One()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Write(
            dir,
            "answers.jsonl",
            $$"""{"question_id": 1, "answers": {{Ten("2", 1, "3")}}, "answer_type": "number", "category": "a"}""",
            $$"""{"question_id": 2, "answers": {{Ten("dog", 2, "cat")}}, "answer_type": "other", "category": "a"}""",
            $$"""{"question_id": 3, "answers": {{Ten("red", 3, "blue")}}, "answer_type": "other", "category": "a"}""",
            $$"""{"question_id": 4, "answers": {{Ten("yes", 4, "no")}}, "answer_type": "yes/no", "category": "b"}""",
            $$"""{"question_id": "q5", "answers": {{Ten("left", 5, "right")}}, "answer_type": "other", "category": "b"}""",
            $$"""{"question_id": 6, "answers": {{Ten("two", 10, "two")}}, "answer_type": "number", "category": "b"}""",
            """{"question_id": 7, "answers": [], "category": "b"}""");
        var predictions = Write(
            dir,
            "predictions.jsonl",
            """{"question_id": "1", "prompt": "...", "text": "Two", "answer_id": "x", "model_id": "m", "metadata": {}}""",
            """{"question_id": 2, "text": "the dog"}""",
            """{"question_id": 3, "text": "Red."}""",
            """{"question_id": 4, "text": "yes"}""",
            """{"question_id": "q5", "text": "right"}""",
            """{"question_id": 99, "text": "not in the answers"}""");

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "vqa", "--json");

        // "Two" -> "2" matches 1 of 10: 0.3; "the dog" -> "dog" matches 2: 0.6; "Red." -> "red" matches 3: 0.9;
        // "yes" matches 4: 1.0; a 5/5 tie, "right" matches 5: 1.0; question 6 has no prediction: 0 (listed);
        // question 7 has no reference: not scored. Overall (0.3+0.6+0.9+1.0+1.0+0)/6 = 3.8/6 = 0.633333;
        // category a: 1.8/3 = 0.6; b: 2.0/3 = 0.666667; number: (0.3+0)/2 = 0.15; other: (0.6+0.9+1.0)/3 = 0.833333; yes/no: 1.0.
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal((6, 5, 1, 1, 1), (j.GetProperty("questions").GetInt32(), j.GetProperty("predicted").GetInt32(), j.GetProperty("missing").GetInt32(), j.GetProperty("unscored").GetInt32(), j.GetProperty("extra_predictions").GetInt32()));
        Assert.Equal(0.633333, j.GetProperty("accuracy").GetDouble());
        Assert.Equal(0.6, j.GetProperty("categories").GetProperty("a").GetProperty("accuracy").GetDouble());
        Assert.Equal(0.666667, j.GetProperty("categories").GetProperty("b").GetProperty("accuracy").GetDouble());
        Assert.Equal(0.15, j.GetProperty("answer_types").GetProperty("number").GetProperty("accuracy").GetDouble());
        Assert.Equal(0.833333, j.GetProperty("answer_types").GetProperty("other").GetProperty("accuracy").GetDouble());
        Assert.Equal(1.0, j.GetProperty("answer_types").GetProperty("yes/no").GetProperty("accuracy").GetDouble());
        Assert.Equal(["6"], j.GetProperty("missing_ids").EnumerateArray().Select(x => x.GetString()));

        var text = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "vqa");
        Assert.Equal(
            """
            metric: vqa
            questions: 6 (predicted 5, missing 1, unparsed 0); unscored: 1; extra predictions: 1
            accuracy: 63.33
            by category:
              a: 60.00 (3)
              b: 66.67 (3)
            by answer type:
              number: 15.00 (2)
              other: 83.33 (3)
              yes/no: 100.00 (1)
            missing predictions: 6

            """.ReplaceLineEndings("\n"),
            text.Output);
    }

    [Theory]
    [InlineData("The answer is B.", "B")]
    [InlineData("(B)", "B")]
    [InlineData("B", "B")]
    [InlineData(" B. food", "B")]
    [InlineData("Answer: (C)", "C")]
    [InlineData("I would say (D) fits best", "D")]
    [InlineData("C) popsicle stick", "C")]
    [InlineData("Cigarette", "D")]
    [InlineData("the popsicle stick", "C")]
    [InlineData("A", "A")]
    [InlineData("A man holds it in his mouth", null)]
    [InlineData("E", null)]
    [InlineData("The answer is E.", null)]
    [InlineData("", null)]
    public void Extracts_The_Chosen_Letter_From_Free_Text(string reply, string? letter)
    {
        Assert.Equal(letter, ChoiceLetter.Extract(reply, ["toothpick", "food", "popsicle stick", "cigarette"]));
    }

    [Fact]
    public async Task Multiple_Choice_Score_Of_An_Aokvqa_Evaluation_Build()
    {
        var dir = TestPaths.NewTempDir();
        var outDir = Path.Combine(dir, "eval");
        var fixture = Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", "aokvqa_v1p0_val.json");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "aokvqa", "--input", $"questions={fixture}", "--split-role", "eval", "--out", outDir)).ExitCode);

        // Two of the fixture's three questions have choices (cigarette = D; winter = A); the third is not scored.
        var right = Write(dir, "right.jsonl", """{"question_id": "22jbM6gDxdaMaunuzgrsBB", "text": "The answer is D."}""", """{"question_id": "2xxKzTvdFSq", "text": "winter"}""");
        var wrong = Write(dir, "wrong.jsonl", """{"question_id": "22jbM6gDxdaMaunuzgrsBB", "text": "A man is riding."}""", """{"question_id": "2xxKzTvdFSq", "text": "(B)"}""");
        var answers = Path.Combine(outDir, "answers.jsonl");

        var r1 = JsonDocument.Parse((await CliRunner.RunAsync("score", "--predictions", right, "--answers", answers, "--metric", "mc", "--json")).Output).RootElement;
        var r2 = JsonDocument.Parse((await CliRunner.RunAsync("score", "--predictions", wrong, "--answers", answers, "--metric", "mc", "--json")).Output).RootElement;

        Assert.Equal((1.0, 0L), (r1.GetProperty("accuracy").GetDouble(), r1.GetProperty("unparsed").GetInt64()));
        Assert.Equal((0.0, 1L), (r2.GetProperty("accuracy").GetDouble(), r2.GetProperty("unparsed").GetInt64()));
    }

    [Fact]
    public async Task Yes_No_Accuracy_Precision_Recall_F1_And_Yes_Ratio_Equal_The_Hand_Computed_Ones()
    {
        var dir = TestPaths.NewTempDir();
        string[] gold = ["yes", "yes", "yes", "no", "no", "no", "yes", "no", "yes"];
        var answers = Write(dir, "answers.jsonl", [.. gold.Select((g, i) => $$"""{"question_id": {{i + 1}}, "answers": ["{{g}}"], "category": "{{(i < 5 ? "pope" : "mme")}}"}""")]);
        var predictions = Write(
            dir,
            "predictions.jsonl",
            """{"question_id": 1, "text": "yes"}""",
            """{"question_id": 2, "text": "No, it is not."}""",
            """{"question_id": 3, "text": "Yes"}""",
            """{"question_id": 4, "text": "yes there is"}""",
            """{"question_id": 5, "text": "no"}""",
            """{"question_id": 7, "text": "maybe"}""",
            """{"question_id": 8, "text": "No"}""",
            """{"question_id": 9, "text": "There is no dog."}""");

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "yesno", "--json");

        // Read replies: 1 yes/yes TP, 2 no/yes FN, 3 yes/yes TP, 4 yes/no FP, 5 no/no TN, 8 no/no TN, 9 no/yes FN;
        // 6 has no reply and 7 ("maybe") no yes or no: both wrong for the accuracy, neither in the confusion counts
        // (so accuracy over the read replies equals (TP + TN) / 7 = 4/7, consistent with the counts).
        // accuracy = (1, 3, 5, 8 right) 4/9 = 0.444444; precision = TP/(TP+FP) = 2/3 = 0.666667; recall = TP/(TP+FN) = 2/4 = 0.5;
        // F1 = 2PR/(P+R) = (2/3)/(7/6) = 4/7 = 0.571429; yes ratio = 3 yes of 7 read replies = 0.428571.
        // pope (1-5): 3/5 = 0.6; mme (6-9): 1/4 = 0.25.
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal(
            (0.444444, 0.666667, 0.5, 0.571429, 0.428571),
            (j.GetProperty("accuracy").GetDouble(), j.GetProperty("precision").GetDouble(), j.GetProperty("recall").GetDouble(), j.GetProperty("f1").GetDouble(), j.GetProperty("yes_ratio").GetDouble()));
        Assert.Equal((9, 1, 1), (j.GetProperty("questions").GetInt32(), j.GetProperty("missing").GetInt32(), j.GetProperty("unparsed").GetInt32()));
        Assert.Equal((0.6, 0.25), (j.GetProperty("categories").GetProperty("pope").GetProperty("accuracy").GetDouble(), j.GetProperty("categories").GetProperty("mme").GetProperty("accuracy").GetDouble()));
    }

    [Fact]
    public async Task Reads_Llava_Answer_Files_And_Joins_Numeric_And_String_Ids()
    {
        // LLaVA's own answer file (numeric ids, extra keys) scored by exact match against three references.
        var dir = TestPaths.NewTempDir();
        var llava = TestPaths.RealFile("reference-outputs", "llava", "qa90_gpt4_answer.jsonl");
        var first = JsonDocument.Parse(File.ReadLines(llava).First()).RootElement.GetProperty("text").GetString()!;
        var answers = Write(
            dir,
            "answers.jsonl",
            $$"""{"question_id": "0", "answers": [{{JsonSerializer.Serialize("  " + first.ToUpperInvariant())}}], "category": "conv"}""",
            """{"question_id": 1, "answers": ["two suitcases"], "category": "detail"}""",
            """{"question_id": 999, "answers": ["x"], "category": "conv"}""");

        var r = await CliRunner.RunAsync("score", "--predictions", llava, "--answers", answers, "--metric", "exact", "--json");

        // 0: same text (case and spaces aside): right; 1: a different reply: wrong; 999: no reply: wrong. 1/3.
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal(0.333333, j.GetProperty("accuracy").GetDouble());
        Assert.Equal((1, 88), (j.GetProperty("missing").GetInt32(), j.GetProperty("extra_predictions").GetInt32()));
        Assert.Equal(["999"], j.GetProperty("missing_ids").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task A_Question_Predicted_Twice_Is_A_Data_Error_Naming_Both_Lines()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Write(dir, "answers.jsonl", """{"question_id": 1, "answers": ["yes"]}""");
        var predictions = Write(dir, "predictions.jsonl", """{"question_id": 1, "text": "yes"}""", """{"question_id": "1", "text": "no"}""");

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "exact");

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {predictions}: line 2: duplicate-id: question_id 1 is predicted again (first on line 1)\n", r.Error);
    }

    [Fact]
    public async Task A_Test_Split_Without_References_Cannot_Be_Scored()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Write(dir, "answers.jsonl", """{"question_id": 1, "answers": []}""", """{"question_id": 2, "answers": []}""");
        var predictions = Write(dir, "predictions.jsonl", """{"question_id": 1, "text": "yes"}""");

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "vqa");

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {answers}: -: no-references: none of its 2 questions has a reference answer (a test split is scored by the benchmark's own server)\n", r.Error);
    }

    [Theory]
    [InlineData("mc", "is multiple choice (answers.jsonl lists no choices); --metric mc scores multiple-choice sets")]
    [InlineData("constraints", "carries an answer-format constraint; build the evaluation set with --constraints match to score them")]
    public async Task A_Metric_The_Set_Was_Not_Built_For_Says_What_It_Lacks(string metric, string why)
    {
        var dir = TestPaths.NewTempDir();
        var answers = Write(dir, "answers.jsonl", """{"question_id": 1, "answers": ["cat"]}""", """{"question_id": 2, "answers": ["dog"]}""");
        var predictions = Write(dir, "predictions.jsonl", """{"question_id": 1, "text": "cat"}""");

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", metric);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {answers}: -: no-references: none of its 2 questions {why}\n", r.Error);
    }
}

public sealed class TheScoreInputs
{
    [Fact]
    public async Task Broken_Utf8_In_A_Prediction_File_Is_A_Data_Error_Naming_The_Line()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllText(answers, "{\"question_id\": 1, \"answers\": [\"yes\"]}\n");
        var predictions = Path.Combine(dir, "predictions.jsonl");
        File.WriteAllBytes(predictions, [.. "{\"question_id\": 1, \"text\": \"y"u8, 0xC3, 0x28, .. "\"}\n"u8]);

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "exact");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("predictions.jsonl: line 1: invalid-utf8", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Whole_Number_Written_With_A_Fraction_Is_The_Same_Question_Id()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllText(answers, "{\"question_id\": 3, \"answers\": [\"yes\"]}\n{\"question_id\": 4.5, \"answers\": [\"no\"]}\n");
        var predictions = Path.Combine(dir, "predictions.jsonl");
        File.WriteAllText(predictions, "{\"question_id\": 3.0, \"text\": \"yes\"}\n{\"question_id\": 4.50, \"text\": \"no\"}\n");

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "exact", "--json");

        Assert.Equal(0, r.ExitCode);
        var j = System.Text.Json.JsonDocument.Parse(r.Output).RootElement;
        // 3.0 is question 3; 4.50 is not 4.5 as written, so it stays apart (missing and extra).
        Assert.Equal((2, 1, 1, 0.5), (j.GetProperty("questions").GetInt32(), j.GetProperty("missing").GetInt32(), j.GetProperty("extra_predictions").GetInt32(), j.GetProperty("accuracy").GetDouble()));
    }

    [Fact]
    public async Task A_Byte_Order_Mark_And_Blank_Lines_Are_Read_Past()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllText(answers, "\uFEFF{\"question_id\": 1, \"answers\": [\"yes\"]}\n\n  \n{\"question_id\": 2, \"answers\": [\"no\"]}\n");
        var predictions = Path.Combine(dir, "predictions.jsonl");
        File.WriteAllText(predictions, "{\"question_id\": 1, \"text\": \"Yes\"}\n{\"question_id\": 2, \"text\": \"yes\"}\n");

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "exact", "--json");

        Assert.Equal(0, r.ExitCode);
        var j = System.Text.Json.JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal((2, 0.5), (j.GetProperty("questions").GetInt32(), j.GetProperty("accuracy").GetDouble()));
    }
}
