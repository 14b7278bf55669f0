using System.CommandLine;
using MllmData.Eval;

namespace MllmData.Cli;

/// <summary><c>mllmdata score --predictions FILE --answers FILE --metric M</c>: scores a model's replies to an evaluation set.</summary>
public static class ScoreCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var predictions = new Option<string>("--predictions") { Description = "The model's replies, LLaVA answer-file layout: one {\"question_id\", \"text\"} per line", Required = true };
        var answers = new Option<string>("--answers") { Description = "answers.jsonl of an evaluation build (--split-role eval)", Required = true };
        var metric = new Option<string>("--metric")
        {
            Description = "vqa (VQA accuracy over the ten leave-one-out subsets), mc (letter of the chosen option), exact (case-blind match with a reference), yesno (accuracy, precision, recall, F1, yes ratio), constraints (share of predictions that obey their question's answer-format constraint, per constraint type)",
            Required = true,
        };
        metric.AcceptOnlyFromAmong([.. Scorer.Metrics]);
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("score", "Score predictions against an evaluation set's reference answers, overall, per category and per answer type")
        {
            predictions, answers, metric, json,
        };
        command.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async _ =>
        {
            var keysPath = parse.GetValue(answers)!;
            var keys = AnswerKey.ReadAll(keysPath);
            var report = Scorer.Score(keys, PredictionFile.Read(parse.GetValue(predictions)!), parse.GetValue(metric)!);
            if (report.Overall.Questions == 0)
            {
                // Say what the metric lacks: a set without reference answers is a test split; the others were built another way.
                var why = report.Metric switch
                {
                    "mc" when keys.All(k => k.Choices is not { Count: > 0 }) => "is multiple choice (answers.jsonl lists no choices); --metric mc scores multiple-choice sets",
                    "constraints" when keys.All(k => k.Constraint is null) => "carries an answer-format constraint; build the evaluation set with --constraints match to score them",
                    _ when keys.All(k => k.Answers.Count == 0 && k.CorrectChoice is null) => "has a reference answer (a test split is scored by the benchmark's own server)",
                    var m => $"has a reference answer that --metric {m} can score",
                };
                throw new Json.InputDataException(keysPath, "-", "no-references", $"none of its {keys.Count} questions {why}");
            }

            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                await o.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
            }
            else
            {
                foreach (var line in report.ToLines())
                {
                    await o.WriteLineAsync(line).ConfigureAwait(false);
                }
            }

            return CliApp.Ok;
        }));
        return command;
    }
}
