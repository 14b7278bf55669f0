using System.Text.Json;
using MllmData.Eval;
using MllmData.Templates;

namespace MllmData.Tests.Survey;

/// <summary>Issue #13 §3: answer-format constraints that written answers obey, the build-time checker and score --metric constraints.</summary>
public class TheAnswerConstraints
{
    private static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", name);

    private static readonly string[] VqaSample =
    [
        "--adapter", "vqav2", "--input", $"questions={Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_OpenEnded_mscoco_train2014_questions.json")}",
        "--input", $"annotations={Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_mscoco_train2014_annotations.json")}",
    ];

    private static readonly TemplatePack Shipped = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates")).Get("constraints");

    [Theory]
    [InlineData("yes", 0, "yes-no")]
    [InlineData("No.", 0, "yes-no")]
    [InlineData("YES", 0, "yes-no")]
    [InlineData("3", 0, "number")]
    [InlineData("3.", 0, "number")]
    [InlineData("1,000", 0, "number")]
    [InlineData("-2.5", 0, "number")]
    [InlineData("twenty-five", 0, "number")]
    [InlineData("one hundred and five", 0, "number")]
    [InlineData("2nd", 0, "single-word")]
    [InlineData("1,00", 0, "single-word")]
    [InlineData("and", 0, "single-word")]
    [InlineData("B", 4, "letter")]
    [InlineData("(C)", 4, "letter")]
    [InlineData("D.", 4, "letter")]
    [InlineData("E", 4, "single-word")]
    [InlineData("B", 0, "single-word")]
    [InlineData("nokia", 0, "single-word")]
    [InlineData("fire hydrant", 0, "single-word")]
    [InlineData("black and white", 0, "single-word")]
    [InlineData("It is red.", 0, "single-word")]
    [InlineData("Two dogs are playing.", 0, "sentence")]
    [InlineData("The man on the left holds an umbrella!", 0, "sentence")]
    [InlineData("man on the left", 0, null)]
    [InlineData("   ", 0, null)]
    public void Classifies_Answers_At_The_Boundaries(string answer, int options, string? expected)
    {
        Assert.Equal(expected, AnswerConstraints.Classify(answer, options));
    }

    [Theory]
    [InlineData("yes-no", "Yes, there is a dog.", 0, false)]
    [InlineData("yes-no", "Maybe", 0, false)]
    [InlineData("number", "about 3", 0, false)]
    [InlineData("number", "seven", 0, true)]
    [InlineData("letter", "(C)", 3, true)]
    [InlineData("letter", "D", 3, false)]
    [InlineData("letter", "The answer is B", 3, false)]
    [InlineData("single-word", "a red fire hydrant", 0, false)]
    [InlineData("single-word", "yes", 0, true)]
    [InlineData("sentence", "A dog.", 0, false)]
    [InlineData("sentence", "A dog is sleeping", 0, false)]
    [InlineData("sentence", "A dog is sleeping.", 0, true)]
    public void Judges_Whether_A_Text_Obeys_A_Constraint(string type, string text, int options, bool expected)
    {
        Assert.Equal(expected, AnswerConstraints.Satisfies(type, text, options));
    }

    [Fact]
    public void The_Shipped_Pack_Has_Plain_Suffixes_For_Every_Type()
    {
        foreach (var type in AnswerConstraints.Types)
        {
            var suffixes = Shipped.Templates.Where(t => AnswerConstraints.TagOf(t) == type).ToList();
            Assert.True(suffixes.Count >= 3, type);
            Assert.All(suffixes, s => Assert.Empty(s.PlaceholderNames()));
        }

        Assert.Empty(TemplateLinter.Lint(Shipped));
    }

    /// <summary>Every turn of every written record: (answer, instruction, constraint in meta, option count).</summary>
    private static IEnumerable<(string Answer, string Instruction, string? Constraint)> Turns(SurveyBuild.Built built)
    {
        foreach (var r in built.Records)
        {
            var conv = r.GetProperty("conversations");
            var constraints = r.GetProperty("meta").TryGetProperty("extra", out var extra) && extra.TryGetProperty("constraints", out var c) ? c : default;
            for (var i = 0; i + 1 < conv.GetArrayLength(); i += 2)
            {
                yield return (conv[i + 1].GetProperty("value").GetString()!, conv[i].GetProperty("value").GetString()!,
                    constraints.ValueKind == JsonValueKind.Array ? constraints[i / 2].GetString() : null);
            }
        }
    }

    public static TheoryData<string, string[]> Sources => new()
    {
        { "textvqa train (real)", ["--adapter", "textvqa", "--input", $"questions={TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json")}"] },
        { "textvqa val (real)", ["--adapter", "textvqa", "--input", $"questions={TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_val.json")}"] },
        { "vqav2 sample, grouped by image", [.. VqaSample, "--group-by-image", "true"] },
        { "a-okvqa multiple choice", ["--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}"] },
        { "a-okvqa direct", ["--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--mode", "direct"] },
        { "gqa", ["--adapter", "gqa", "--input", $"questions={Fixture("testdev_balanced_questions.json")}", "--allow-empty"] },
        { "vizwiz", ["--adapter", "vizwiz", "--input", $"questions={Fixture("val.json")}"] },
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task Every_Written_Answer_Obeys_The_Constraint_Its_Instruction_States(string what, string[] source)
    {
        var built = await SurveyBuild.RunAsync([.. source, "--constraints", "match", "--seed", "11"]);
        Assert.True(built.ExitCode == 0, what + ": " + built.Result.Error);
        Assert.DoesNotContain("constraint-violated", built.RejectReasons);
        var turns = Turns(built).ToList();
        Assert.NotEmpty(turns);
        var texts = Shipped.Templates.ToDictionary(t => t.Text, t => AnswerConstraints.TagOf(t)!);
        foreach (var (answer, instruction, constraint) in turns)
        {
            var lastLine = instruction.Split('\n')[^1];
            if (constraint is null)
            {
                // Only an answer no type fits goes without a constraint, and then no constraint line is written.
                Assert.Null(AnswerConstraints.Classify(answer, 26));
                Assert.False(texts.ContainsKey(lastLine), $"{what}: {instruction}");
                continue;
            }

            // The instruction ends with a suffix of the pack tagged with the type in meta, and the answer obeys it.
            Assert.True(texts.TryGetValue(lastLine, out var stated), $"{what}: no constraint line in {instruction}");
            Assert.Equal(constraint, stated);
            Assert.True(AnswerConstraints.Satisfies(constraint, answer, 26), $"{what}: \"{answer}\" under {constraint}");

            // Independently of the checker: yes/no suffixes only on yes/no answers, number suffixes only on numbers.
            if (constraint == "yes-no")
            {
                Assert.True(answer.Trim().TrimEnd('.').ToLowerInvariant() is "yes" or "no", answer);
            }

            if (constraint == "number")
            {
                Assert.Matches(@"^(\d[\d,.]*|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[a-z -]+(teen|ty|hundred|thousand))$", answer.Trim().ToLowerInvariant());
            }

            if (constraint == "letter")
            {
                Assert.Matches("^[A-Z]$", answer.Trim());
            }
        }

        // The constraint replaces the pack's own suffix and brief templates (which would contradict a sentence).
        Assert.DoesNotContain(turns, t => t.Instruction.Contains("Reply with one word or a short phrase.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Covers_Yes_No_Number_Word_And_Letter_Answers_With_The_Matching_Types()
    {
        var vqa = await SurveyBuild.RunAsync([.. VqaSample, "--group-by-image", "true", "--constraints", "match"]);
        var mc = await SurveyBuild.RunAsync(["--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--constraints", "match"]);
        var byAnswer = Turns(vqa).Concat(Turns(mc)).GroupBy(t => t.Answer).ToDictionary(g => g.Key, g => g.Select(t => t.Constraint).Distinct().Single());

        Assert.Equal("yes-no", byAnswer["yes"]);
        Assert.Equal("yes-no", byAnswer["no"]);
        Assert.Equal("number", byAnswer["1"]);
        Assert.Equal("single-word", byAnswer["red"]);
        Assert.All(Turns(mc), t => Assert.Equal("letter", t.Constraint));
    }

    [Fact]
    public async Task The_Choice_Of_Suffix_Is_Seeded_Per_Record()
    {
        string[] source = ["--adapter", "textvqa", "--input", $"questions={TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json")}", "--constraints", "match"];
        var a = await SurveyBuild.RunAsync([.. source, "--seed", "1"]);
        var again = await SurveyBuild.RunAsync([.. source, "--seed", "1"]);
        Assert.Equal(a.Bytes, again.Bytes);

        var lines = new HashSet<string>(StringComparer.Ordinal);
        foreach (var seed in new[] { "1", "2", "3", "4" })
        {
            var b = await SurveyBuild.RunAsync([.. source, "--seed", seed]);
            foreach (var t in Turns(b))
            {
                lines.Add(t.Instruction.Split('\n')[^1]);
            }
        }

        Assert.True(lines.Count >= 3, string.Join(" | ", lines));
    }

    [Fact]
    public async Task A_Custom_Pack_Suffix_Whose_Constraint_An_Answer_Breaks_Is_Rejected_As_Constraint_Violated()
    {
        var pack = SurveyBuild.Pack("""
            id: test-counts
            task: vqa
            placeholders: [question]
            templates:
              - id: plain
                text: "{question}"
            suffixes:
              - id: count
                text: "Give the count as a number."
                tags: [number]
            """);
        var built = await SurveyBuild.RunAsync([.. VqaSample, "--group-by-image", "false", "--templates", pack, "--suffix", "count"]);

        Assert.Equal(0, built.ExitCode);
        var record = Assert.Single(built.Records);
        Assert.Equal("1", record.GetProperty("conversations")[1].GetProperty("value").GetString());
        Assert.Equal(["number"], record.GetProperty("meta").GetProperty("extra").GetProperty("constraints").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(Enumerable.Repeat("constraint-violated", 6), built.RejectReasons);
        var reject = File.ReadAllLines(Path.Combine(built.Out, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).First();
        Assert.Equal("turn 1: the answer \"red\" does not obey the number constraint of count", reject.GetProperty("detail").GetString());

        // Under --strict the first violation stops the build.
        var strict = await SurveyBuild.RunAsync([.. VqaSample, "--group-by-image", "false", "--templates", pack, "--suffix", "count", "--strict"]);
        Assert.Equal(2, strict.ExitCode);
        Assert.Contains("constraint-violated", strict.Result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Pack_With_Its_Own_Tagged_Suffixes_Supplies_Them_Under_Match()
    {
        var pack = SurveyBuild.Pack("""
            id: test-own
            task: vqa
            placeholders: [question]
            templates:
              - id: plain
                text: "{question}"
            suffixes:
              - id: own-yes-no
                text: "Just say yes or no, please."
                tags: [yes-no]
            """);
        var built = await SurveyBuild.RunAsync([.. VqaSample, "--group-by-image", "false", "--templates", pack, "--constraints", "match"]);

        var turns = Turns(built).ToList();
        Assert.Equal(7, turns.Count);
        Assert.All(turns.Where(t => t.Constraint == "yes-no"), t => Assert.EndsWith("\nJust say yes or no, please.", t.Instruction, StringComparison.Ordinal));
        Assert.Equal(3, turns.Count(t => t.Constraint == "yes-no"));
        Assert.All(turns.Where(t => t.Constraint != "yes-no"), t => Assert.Contains(t.Instruction.Split('\n')[^1], Shipped.Templates.Select(x => x.Text)));
    }

    [Fact]
    public async Task Bad_Values_Are_Usage_Errors_Before_Any_File_Is_Written()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync("build", "--adapter", "textvqa", "--input", $"questions={SurveyBuild.TextVqaTrain}", "--constraints", "always", "--out", outDir);
        Assert.Equal(1, r.ExitCode);
        Assert.False(Directory.Exists(outDir));

        var recipe = Path.Combine(TestPaths.NewTempDir(), "r.yaml");
        File.WriteAllText(recipe, $"""
            sources:
              - adapter: textvqa
                inputs: {"{"}questions: {SurveyBuild.TextVqaTrain}{"}"}
                constraints: sometimes
            """);
        var fromRecipe = await CliRunner.RunAsync("build", "--recipe", recipe, "--out", outDir);
        Assert.Equal(1, fromRecipe.ExitCode);
        Assert.Contains("--constraints (constraints) must be match or off, got 'sometimes'", fromRecipe.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task An_Evaluation_Build_States_The_Constraint_In_The_Question_And_Writes_It_In_Answers()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(
            "build", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--split-role", "eval", "--constraints", "match", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Error);
        var questions = TestPaths.Shards(outDir).SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var answers = File.ReadAllLines(Path.Combine(outDir, "answers.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(questions.Count, answers.Count);
        var letterLines = Shipped.Templates.Where(t => AnswerConstraints.TagOf(t) == "letter").Select(t => t.Text).ToList();
        Assert.All(questions, q => Assert.Contains(q.GetProperty("text").GetString()!.Split('\n')[^1], letterLines));
        Assert.All(answers, a => Assert.Equal("letter", a.GetProperty("constraint").GetString()));

        // Without --constraints, neither the field nor a constraint line.
        var plainDir = Path.Combine(TestPaths.NewTempDir(), "out");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "aokvqa", "--input", $"questions={Fixture("aokvqa_v1p0_val.json")}", "--split-role", "eval", "--out", plainDir)).ExitCode);
        Assert.All(File.ReadAllLines(Path.Combine(plainDir, "answers.jsonl")), l => Assert.DoesNotContain("\"constraint\"", l, StringComparison.Ordinal));

        // A question-only set (no answers to classify) gets no constraint.
        var okDir = Path.Combine(TestPaths.NewTempDir(), "out");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "okvqa", "--input", $"questions={TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json")}", "--unanswered", "eval", "--constraints", "match", "--out", okDir)).ExitCode);
        Assert.All(File.ReadLines(Path.Combine(okDir, "answers.jsonl")).Take(200), l => Assert.DoesNotContain("\"constraint\"", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Score_Constraints_Is_The_Share_Of_Predictions_That_Obey_Overall_And_Per_Type()
    {
        var dir = TestPaths.NewTempDir();
        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllLines(answers, [
            """{"question_id": 1, "answers": ["yes"], "category": "a", "constraint": "yes-no"}""",
            """{"question_id": 2, "answers": ["no"], "category": "a", "constraint": "yes-no"}""",
            """{"question_id": 3, "answers": ["2"], "category": "a", "constraint": "number"}""",
            """{"question_id": 4, "answers": ["3"], "category": "b", "constraint": "number"}""",
            """{"question_id": 5, "answers": ["food"], "category": "b", "choices": ["a", "b", "c", "d"], "correct_choice": "B", "constraint": "letter"}""",
            """{"question_id": 6, "answers": ["A dog sleeps on a mat."], "category": "b", "constraint": "sentence"}""",
            """{"question_id": 7, "answers": ["red"], "category": "b", "constraint": "single-word"}""",
            """{"question_id": 8, "answers": ["red"], "category": "b"}""",
        ]);
        var predictions = Path.Combine(dir, "predictions.jsonl");
        File.WriteAllLines(predictions, [
            """{"question_id": 1, "text": "Yes."}""",              // obeys (right or wrong is not the point)
            """{"question_id": 2, "text": "Yes, there is one."}""", // a sentence: breaks yes-no
            """{"question_id": 3, "text": "seven"}""",             // obeys
            """{"question_id": 5, "text": "E"}""",                 // not one of four letters
            """{"question_id": 6, "text": "A dog."}""",            // too short for a sentence
            """{"question_id": 7, "text": "dark red"}""",          // obeys
            """{"question_id": 8, "text": "anything"}""",          // no constraint: not scored
        ]);

        var r = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "constraints", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var report = JsonDocument.Parse(r.Output).RootElement;

        // Obeyed: 1, 3, 7 of the seven constrained questions; 4 has no prediction and counts as not obeyed.
        Assert.Equal(7, report.GetProperty("questions").GetInt64());
        Assert.Equal(1, report.GetProperty("missing").GetInt64());
        Assert.Equal(1, report.GetProperty("unscored").GetInt64());
        Assert.Equal(Math.Round(3 / 7.0, 6), report.GetProperty("accuracy").GetDouble());
        var byType = report.GetProperty("constraints");
        Assert.Equal(0.5, byType.GetProperty("yes-no").GetProperty("accuracy").GetDouble());
        Assert.Equal(0.5, byType.GetProperty("number").GetProperty("accuracy").GetDouble());
        Assert.Equal(0, byType.GetProperty("letter").GetProperty("accuracy").GetDouble());
        Assert.Equal(0, byType.GetProperty("sentence").GetProperty("accuracy").GetDouble());
        Assert.Equal(1, byType.GetProperty("single-word").GetProperty("accuracy").GetDouble());
        Assert.Equal(2, byType.GetProperty("yes-no").GetProperty("questions").GetInt64());

        var plain = await CliRunner.RunAsync("score", "--predictions", predictions, "--answers", answers, "--metric", "constraints");
        Assert.Contains("accuracy: 42.86", plain.Output, StringComparison.Ordinal);
        Assert.Contains("by constraint:\n  letter: 0.00 (1)", plain.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void An_Unknown_Constraint_In_An_Answers_File_Is_A_Data_Error_Naming_The_Line()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "answers.jsonl");
        File.WriteAllLines(path, ["""{"question_id": 1, "answers": ["yes"], "constraint": "yes-no"}""", """{"question_id": 2, "answers": ["yes"], "constraint": "haiku"}"""]);
        var ex = Assert.Throws<MllmData.Json.InputDataException>(() => AnswerKey.ReadAll(path));
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("haiku", ex.Message, StringComparison.Ordinal);
    }
}
