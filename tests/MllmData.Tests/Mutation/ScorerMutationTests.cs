using System.Text.Json;
using MllmData.Eval;

namespace MllmData.Tests.Mutation;

/// <summary>The scorer's counters and its two reports, worked by hand on small answer keys.</summary>
public class ScorerMutationTests
{
    private static AnswerKey Key(string id, string[] answers, string? type = null, string? category = null, string[]? choices = null, string? correct = null) =>
        new(id, answers, type, category, choices, correct);

    [Fact]
    public void An_Unknown_Metric_Is_A_Usage_Error_Naming_The_Known_Ones()
    {
        var ex = Assert.Throws<UsageException>(() => Scorer.Score([], new Dictionary<string, string>(), "bleu"));
        Assert.Equal("--metric must be one of vqa, mc, exact, yesno, constraints, got 'bleu'", ex.Message);
        Assert.Throws<UsageException>(() => Scorer.Score([], new Dictionary<string, string>(), "VQA"));
    }

    [Fact]
    public void Yes_No_Counts_Every_Cell_And_Reports_Precision_Recall_F1_And_Yes_Ratio()
    {
        // gold: yes yes yes no no, plus one "maybe" that is not scored; the unread reply to 3 and the missing reply to 5 score 0 and stay out of the confusion counts.
        AnswerKey[] keys =
        [
            Key("1", ["yes"]), Key("2", ["yes"]), Key("3", ["yes"]), Key("4", ["no"]), Key("5", ["no"]), Key("6", ["maybe"]),
        ];
        var predictions = new Dictionary<string, string>
        {
            ["1"] = "Yes.", ["2"] = "no", ["3"] = "I cannot tell", ["4"] = "yes", ["6"] = "yes", ["99"] = "yes",
        };
        var report = Scorer.Score(keys, predictions, "yesno");
        var c = report.Confusion;
        Assert.Equal((1L, 1L, 0L, 1L), (c.TruePositive, c.FalsePositive, c.TrueNegative, c.FalseNegative));
        Assert.Equal((0.5, 0.5, 2.0 / 3), (c.Precision, c.Recall, c.YesRatio));
        Assert.Equal(0.5, c.F1, 12);
        Assert.Equal((5L, 1L, 1L, 1L), (report.Overall.Questions, report.Unscored, report.Unparsed, report.Extra));
        Assert.Equal(["5"], report.MissingIds);
        Assert.Equal(0.2, report.Overall.Accuracy, 12);

        using var json = JsonDocument.Parse(report.ToJson());
        var root = json.RootElement;
        Assert.Equal(
            ["metric", "questions", "predicted", "missing", "unparsed", "unscored", "extra_predictions", "accuracy", "precision", "recall", "f1", "yes_ratio", "categories", "answer_types", "missing_ids"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal((5, 4, 1, 1, 1, 1), (root.GetProperty("questions").GetInt32(), root.GetProperty("predicted").GetInt32(), root.GetProperty("missing").GetInt32(), root.GetProperty("unparsed").GetInt32(), root.GetProperty("unscored").GetInt32(), root.GetProperty("extra_predictions").GetInt32()));
        Assert.Equal((0.2, 0.5, 0.5, 0.5, 0.666667), (root.GetProperty("accuracy").GetDouble(), root.GetProperty("precision").GetDouble(), root.GetProperty("recall").GetDouble(), root.GetProperty("f1").GetDouble(), root.GetProperty("yes_ratio").GetDouble()));

        Assert.Equal(
            [
                "metric: yesno",
                "questions: 5 (predicted 4, missing 1, unparsed 1); unscored: 1; extra predictions: 1",
                "accuracy: 20.00",
                "precision: 50.00  recall: 50.00  f1: 50.00  yes ratio: 66.67",
                "by category:",
                "  (none): 20.00 (5)",
                "missing predictions: 5",
            ],
            report.ToLines());
    }

    [Fact]
    public void An_Empty_Confusion_Is_All_Zero()
    {
        var c = new YesNoConfusion();
        Assert.Equal((0.0, 0.0, 0.0, 0.0), (c.Precision, c.Recall, c.F1, c.YesRatio));
        c.Add(predictedYes: false, goldYes: false);
        Assert.Equal((0.0, 0.0, 0.0, 0.0), (c.Precision, c.Recall, c.F1, c.YesRatio));
        Assert.Equal(0.0, new ScoreGroup().Accuracy);
    }

    [Fact]
    public void Multiple_Choice_Scores_The_Letter_And_Counts_Unread_Replies()
    {
        string[] options = ["red", "green", "blue"];
        AnswerKey[] keys =
        [
            Key("a", [], category: "colour", choices: options, correct: "C"),
            Key("b", [], category: "colour", choices: options, correct: "A"),
            Key("c", [], category: "shape", choices: options, correct: "B"),
            Key("d", [], category: "shape", choices: options, correct: null),
        ];
        var report = Scorer.Score(keys, new Dictionary<string, string> { ["a"] = "The answer is C", ["b"] = "no idea", ["c"] = "green", ["d"] = "A" }, "mc");
        Assert.Equal((3L, 1L, 1L, 0L), (report.Overall.Questions, report.Unscored, report.Unparsed, report.Extra));
        Assert.Equal(2.0 / 3, report.Overall.Accuracy, 12);
        Assert.Equal([("colour", 2L, 0.5), ("shape", 1L, 1.0)], report.Categories.Select(g => (g.Key, g.Value.Questions, g.Value.Accuracy)));
        Assert.Empty(report.AnswerTypes);
        Assert.DoesNotContain(report.ToLines(), l => l.StartsWith("precision", StringComparison.Ordinal) || l.StartsWith("by answer type", StringComparison.Ordinal));
    }

    [Fact]
    public void Exact_Matches_Ignore_Case_And_Outer_Spaces_And_Only_Those()
    {
        AnswerKey[] keys = [Key("1", ["New York"], type: "other"), Key("2", ["Paris"], type: "other"), Key("3", ["2"], type: "number"), Key("4", [])];
        var report = Scorer.Score(keys, new Dictionary<string, string> { ["1"] = "  new york ", ["2"] = "paris.", ["3"] = "two", ["4"] = "x" }, "exact");
        Assert.Equal((3L, 1L, 0L), (report.Overall.Questions, report.Unscored, report.Unparsed));
        Assert.Equal(1.0 / 3, report.Overall.Accuracy, 12);
        Assert.Equal([("number", 0.0), ("other", 0.5)], report.AnswerTypes.Select(g => (g.Key, g.Value.Accuracy)));
        Assert.Contains("by answer type:", report.ToLines());
        Assert.Contains("  other: 50.00 (2)", report.ToLines());
    }

    [Fact]
    public void Vqa_Uses_The_Accuracy_Formula_And_Lists_At_Most_Ten_Missing_Ids()
    {
        var keys = Enumerable.Range(0, 13).Select(i => Key($"q{i}", ["two", "two", "2", "three"])).ToList();
        var report = Scorer.Score(keys, new Dictionary<string, string> { ["q0"] = "Two" }, "vqa");
        Assert.Equal(13, report.Overall.Questions);
        Assert.Equal(VqaAccuracy.Of("Two", ["two", "two", "2", "three"]) / 13, report.Overall.Accuracy, 12);
        Assert.Equal(12, report.MissingIds.Count);
        Assert.Equal("missing predictions: q1, q2, q3, q4, q5, q6, q7, q8, q9, q10 and 2 more", report.ToLines().Last());

        var ten = Scorer.Score(keys.Take(11).ToList(), new Dictionary<string, string> { ["q0"] = "x" }, "vqa");
        Assert.Equal("missing predictions: q1, q2, q3, q4, q5, q6, q7, q8, q9, q10", ten.ToLines().Last());
        Assert.Equal(0L, ten.Unparsed);
    }
}
