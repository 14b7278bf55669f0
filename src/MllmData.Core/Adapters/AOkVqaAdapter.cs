using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>A-OKVQA (<c>aokvqa_v1p0_&lt;split&gt;.json</c>): multiple choice with lettered options, or direct answers.</summary>
public sealed class AOkVqaAdapter : ISourceAdapter
{
    public string Name => "aokvqa";

    public string Description => "A-OKVQA (aokvqa_v1p0_<split>.json: [{question_id, image_id, question, choices, correct_choice_idx, direct_answers, rationales}])";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("questions", true, "the aokvqa_v1p0_<split>.json list")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("mode", "mc = lettered choices, the answer is the letter; direct = open question, the answer is the direct answer most annotators gave, as one of them wrote it", "mc") { Allowed = ["mc", "direct"] },
        new("image-pattern", "image file for an image id; <split> is the record's split", "<split>2017/%012d.jpg") { Check = AdapterOption.ImagePatternCheck },
        Sample.Unanswered,
    ];

    public string DefaultTemplatePack => "multiple-choice";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("questions");
        var mode = context.Choice("mode", "mc", "mc", "direct");
        var pattern = context.Option("image-pattern") ?? "<split>2017/%012d.jpg";
        foreach (var (item, where, notObject) in Sample.Elements(context, path, JsonLayout.TopLevelArray, "questions", cancellationToken))
        {
            if (notObject is { } wrongType)
            {
                yield return wrongType;
                continue;
            }

            // A field of another kind is wrong-type, not absent: a numeric choice left out would move the letters after it.
            // Choices and their index are read in mc mode only; direct mode does not use them.
            var f = new RecordFields(item.Element);
            var qid = f.Id("question_id");
            var imageId = f.Id("image_id");
            var question = f.Text("question");
            var choices = mode == "mc" ? f.Texts("choices") : null;
            var idx = mode == "mc" ? f.Whole("correct_choice_idx") : null;
            var recordSplit = f.Text("split");
            var direct = f.Texts("direct_answers");
            var rationales = f.Texts("rationales");
            if (f.Wrong is { } wrong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                continue;
            }

            if (qid is null || imageId is null || question is null || (mode == "mc" && choices is not { Count: > 1 }))
            {
                var missing = qid is null ? "question_id" : imageId is null ? "image_id" : question is null ? "question" : "choices";
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, $"no usable \"{missing}\"");
                continue;
            }

            if (mode == "mc" && Sample.ChoicesProblem(choices!) is { } bad)
            {
                yield return Sample.Reject(context, path, where, bad.Reason, bad.Detail);
                continue;
            }

            var image = new ImagePattern(pattern, recordSplit ?? string.Empty).Format(imageId);
            if (image is null)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.UnknownImage, $"image_id '{imageId}' does not fit '{pattern}'");
                continue;
            }

            // Only the test split comes without answers; elsewhere a missing answer is a broken record.
            var isTest = recordSplit == "test";
            if (!isTest && (mode == "mc" ? idx is null : direct is not { Count: > 0 }))
            {
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, mode == "mc" ? "no \"correct_choice_idx\"" : "no \"direct_answers\"");
                continue;
            }

            string? answer;
            Turn turn;
            if (mode == "mc")
            {
                if (idx is null)
                {
                    Sample.NoAnswer(context, path, where);
                }
                else if (idx < 0 || idx >= choices!.Count)
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.WrongType, $"correct_choice_idx {idx} is outside the {choices!.Count} choices");
                    continue;
                }

                answer = idx is { } i ? Sample.Letter(i) : null;
                turn = Sample.Question(question, answer, idx is { } j ? choices![j] : null, new Dictionary<string, string> { ["options"] = Sample.Options(choices!) });
            }
            else
            {
                answer = direct is { Count: > 0 } ? VqaAnswers.MajorityVote(direct) : null;
                if (answer is null && direct is { Count: > 0 })
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.EmptyAnswer, $"all {direct.Count} direct_answers are blank");
                    continue;
                }

                if (answer is null)
                {
                    Sample.NoAnswer(context, path, where);
                }

                turn = Sample.Question(question, answer);
            }

            yield return SourceItem.Of(Sample.Make(
                context, Name, path, $"q{qid}", mode == "mc" ? "multiple-choice" : "vqa", [new ImageRef(image)], [turn],
                [new("question_id", qid), new("image_id", imageId)],
                new() { ["rationales"] = Sample.Array(rationales ?? []), ["direct_answers"] = Sample.Array(direct ?? []) }));
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
