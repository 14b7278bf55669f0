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
                throw new Json.InputDataException(keysPath, "-", "no-references", $"none of its {keys.Count} questions has a reference answer for --metric {report.Metric} (a test split is scored by the benchmark's own server)");
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
