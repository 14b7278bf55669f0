using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MllmData.Eval;

/// <summary>Scores a model's predictions against an evaluation set's <c>answers.jsonl</c>.</summary>
public static class Scorer
{
    public static readonly IReadOnlyList<string> Metrics = ["vqa", "mc", "exact", "yesno", "constraints"];

    /// <summary>
    /// Every question with a reference is scored; a missing prediction scores 0 and is listed. Questions without a
    /// reference (test splits; for yesno, references other than yes or no; for constraints, questions without a
    /// <c>constraint</c>) are counted apart and not scored. The constraints metric is the share of predictions that obey
    /// the answer-format constraint of their question (right or wrong), overall and per constraint type.
    /// </summary>
    public static ScoreReport Score(IReadOnlyList<AnswerKey> keys, IReadOnlyDictionary<string, string> predictions, string metric)
    {
        if (!Metrics.Contains(metric, StringComparer.Ordinal))
        {
            throw new UsageException($"--metric must be one of {string.Join(", ", Metrics)}, got '{metric}'");
        }

        var report = new ScoreReport { Metric = metric };
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            known.Add(key.QuestionId);
            var gold = metric switch
            {
                "mc" => key.CorrectChoice,
                "yesno" => YesNo.Reference(key.Answers),
                "constraints" => key.Constraint,
                _ => key.Answers.Count > 0 ? string.Empty : null,
            };
            if (gold is null)
            {
                report.Unscored++;
                continue;
            }

            var has = predictions.TryGetValue(key.QuestionId, out var reply);
            if (!has)
            {
                report.MissingIds.Add(key.QuestionId);
            }

            string? said = null;
            var score = !has ? 0 : metric switch
            {
                "vqa" => VqaAccuracy.Of(reply!, key.Answers),
                "mc" => (said = ChoiceLetter.Extract(reply!, key.Choices)) == gold ? 1 : 0,
                "exact" => key.Answers.Any(a => string.Equals(a.Trim(), reply!.Trim(), StringComparison.OrdinalIgnoreCase)) ? 1 : 0,
                "constraints" => Templates.AnswerConstraints.Satisfies(gold, reply!, key.Choices?.Count ?? 0) ? 1 : 0,
                _ => (said = YesNo.Of(reply!)) == gold ? 1 : 0,
            };
            if (has && metric is "mc" or "yesno" && said is null)
            {
                report.Unparsed++;
            }

            report.Add(key, score);
            if (metric == "yesno" && said is not null)
            {
                // Only replies that say yes or no enter the confusion counts; missing and unread ones are wrong
                // answers for the accuracy and are counted apart (missing, unparsed).
                report.Confusion.Add(said == "yes", gold == "yes");
            }
        }

        report.Extra = predictions.Keys.Count(k => !known.Contains(k));
        return report;
    }
}

/// <summary>A score over a set of questions: the sum of per-question scores and the count.</summary>
public sealed class ScoreGroup
{
    public long Questions { get; set; }

    public double Sum { get; set; }

    public double Accuracy => Questions == 0 ? 0 : Sum / Questions;
}

/// <summary>Yes/no counts with "yes" as the positive class, over the replies that say yes or no.</summary>
public sealed class YesNoConfusion
{
    public long TruePositive { get; private set; }

    public long FalsePositive { get; private set; }

    public long TrueNegative { get; private set; }

    public long FalseNegative { get; private set; }

    public double Precision => TruePositive + FalsePositive == 0 ? 0 : (double)TruePositive / (TruePositive + FalsePositive);

    public double Recall => TruePositive + FalseNegative == 0 ? 0 : (double)TruePositive / (TruePositive + FalseNegative);

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

    /// <summary>Share of read replies that say yes (POPE reports it to show a bias towards yes).</summary>
    public double YesRatio
    {
        get
        {
            var n = TruePositive + FalsePositive + TrueNegative + FalseNegative;
            return n == 0 ? 0 : (double)(TruePositive + FalsePositive) / n;
        }
    }

    public void Add(bool predictedYes, bool goldYes)
    {
        (TruePositive, FalsePositive, TrueNegative, FalseNegative) = (predictedYes, goldYes) switch
        {
            (true, true) => (TruePositive + 1, FalsePositive, TrueNegative, FalseNegative),
            (true, false) => (TruePositive, FalsePositive + 1, TrueNegative, FalseNegative),
            (false, false) => (TruePositive, FalsePositive, TrueNegative + 1, FalseNegative),
            _ => (TruePositive, FalsePositive, TrueNegative, FalseNegative + 1),
        };
    }
}

/// <summary>What <c>mllmdata score</c> reports: overall, per category and per answer type.</summary>
public sealed class ScoreReport
{
    public required string Metric { get; init; }

    public ScoreGroup Overall { get; } = new();

    public SortedDictionary<string, ScoreGroup> Categories { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, ScoreGroup> AnswerTypes { get; } = new(StringComparer.Ordinal);

    /// <summary>constraints metric: the share obeyed per constraint type.</summary>
    public SortedDictionary<string, ScoreGroup> Constraints { get; } = new(StringComparer.Ordinal);

    public YesNoConfusion Confusion { get; } = new();

    /// <summary>Scored questions that have no prediction (scored 0), in answers-file order.</summary>
    public List<string> MissingIds { get; } = [];

    /// <summary>Predictions whose reply held no letter (mc) or no yes/no (yesno); scored 0.</summary>
    public long Unparsed { get; set; }

    /// <summary>Questions without a reference to score against.</summary>
    public long Unscored { get; set; }

    /// <summary>Predictions for questions the answers file does not hold (ignored).</summary>
    public long Extra { get; set; }

    public void Add(AnswerKey key, double score)
    {
        Add(Overall, score);
        Add(Group(Categories, key.Category ?? "(none)"), score);
        if (Metric == "constraints" && key.Constraint is { } constraint)
        {
            Add(Group(Constraints, constraint), score);
        }

        if (key.AnswerType is { } type)
        {
            Add(Group(AnswerTypes, type), score);
        }
    }

    private static ScoreGroup Group(SortedDictionary<string, ScoreGroup> groups, string name)
    {
        if (!groups.TryGetValue(name, out var g))
        {
            groups[name] = g = new ScoreGroup();
        }

        return g;
    }

    private static void Add(ScoreGroup g, double score)
    {
        g.Questions++;
        g.Sum += score;
    }

    private static double Round(double x) => Math.Round(x, 6, MidpointRounding.AwayFromZero);

    private static string Percent(double x) => (100 * x).ToString("0.00", CultureInfo.InvariantCulture);

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("metric", Metric);
            w.WriteNumber("questions", Overall.Questions);
            w.WriteNumber("predicted", Overall.Questions - MissingIds.Count);
            w.WriteNumber("missing", MissingIds.Count);
            w.WriteNumber("unparsed", Unparsed);
            w.WriteNumber("unscored", Unscored);
            w.WriteNumber("extra_predictions", Extra);
            w.WriteNumber("accuracy", Round(Overall.Accuracy));
            if (Metric == "yesno")
            {
                w.WriteNumber("precision", Round(Confusion.Precision));
                w.WriteNumber("recall", Round(Confusion.Recall));
                w.WriteNumber("f1", Round(Confusion.F1));
                w.WriteNumber("yes_ratio", Round(Confusion.YesRatio));
            }

            WriteGroups(w, "categories", Categories);
            WriteGroups(w, "answer_types", AnswerTypes);
            if (Metric == "constraints")
            {
                WriteGroups(w, "constraints", Constraints);
            }

            w.WriteStartArray("missing_ids");
            foreach (var id in MissingIds)
            {
                w.WriteStringValue(id);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteGroups(Utf8JsonWriter w, string name, SortedDictionary<string, ScoreGroup> groups)
    {
        w.WriteStartObject(name);
        foreach (var (key, g) in groups)
        {
            w.WriteStartObject(key);
            w.WriteNumber("questions", g.Questions);
            w.WriteNumber("accuracy", Round(g.Accuracy));
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>The plain report: percentages with two decimals, then the breakdowns, then the first missing ids.</summary>
    public IEnumerable<string> ToLines()
    {
        yield return $"metric: {Metric}";
        yield return FormattableString.Invariant($"questions: {Overall.Questions} (predicted {Overall.Questions - MissingIds.Count}, missing {MissingIds.Count}, unparsed {Unparsed}); unscored: {Unscored}; extra predictions: {Extra}");
        yield return $"accuracy: {Percent(Overall.Accuracy)}";
        if (Metric == "yesno")
        {
            yield return $"precision: {Percent(Confusion.Precision)}  recall: {Percent(Confusion.Recall)}  f1: {Percent(Confusion.F1)}  yes ratio: {Percent(Confusion.YesRatio)}";
        }

        foreach (var (title, groups) in new[] { ("by category", Categories), ("by answer type", AnswerTypes), ("by constraint", Constraints) })
        {
            if (groups.Count == 0)
            {
                continue;
            }

            yield return title + ":";
            foreach (var (key, g) in groups)
            {
                yield return FormattableString.Invariant($"  {key}: {Percent(g.Accuracy)} ({g.Questions})");
            }
        }

        if (MissingIds.Count > 0)
        {
            yield return $"missing predictions: {string.Join(", ", MissingIds.Take(10))}" + (MissingIds.Count > 10 ? FormattableString.Invariant($" and {MissingIds.Count - 10} more") : string.Empty);
        }
    }
}
