using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>VizWiz VQA (<c>&lt;split&gt;.json</c>: a list of {image, question, answers, answer_type, answerable}).</summary>
public sealed class VizWizAdapter : ISourceAdapter
{
    public string Name => "vizwiz";

    public string Description => "VizWiz (<split>.json: [{image, question, answers[10x{answer, answer_confidence}], answer_type, answerable}])";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("questions", true, "the <split>.json list")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("unanswerable", "keep = answer unanswerable questions with an explicit response; drop = reject them (reason unanswerable)", "keep") { Allowed = ["keep", "drop"] },
        new("unanswerable-response", "the response given to unanswerable questions", "The question cannot be answered from this image."),
        new("image-pattern", "image file for the record's image name", "%s") { Check = AdapterOption.ImagePatternCheck },
        Sample.Unanswered,
    ];

    public string DefaultTemplatePack => "vqa-short";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("questions");
        var keep = context.Choice("unanswerable", "keep", "keep", "drop") == "keep";
        var response = context.Option("unanswerable-response") ?? "The question cannot be answered from this image.";
        var pattern = new ImagePattern(context.Option("image-pattern") ?? "%s", string.Empty);
        foreach (var (item, where, notObject) in Sample.Elements(context, path, JsonLayout.TopLevelArray, "questions", cancellationToken))
        {
            if (notObject is { } wrongType)
            {
                yield return wrongType;
                continue;
            }

            // A field of another kind is wrong-type, not absent: numeric answers left out would change the vote.
            var f = new RecordFields(item.Element);
            var image = f.Text("image");
            var question = f.Text("question");
            var answers = f.Texts("answers", "answer");
            var answerable = f.Whole("answerable");
            var answerType = f.Text("answer_type");
            if (f.Wrong is { } wrong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                continue;
            }

            if (image is null || question is null)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, image is null ? "no \"image\"" : "no \"question\"");
                continue;
            }

            var vote = answers is { Count: > 0 } ? VqaAnswers.MajorityVote(answers) : null;
            if (vote is null && answers is { Count: > 0 })
            {
                yield return Sample.Reject(context, path, where, RejectReasons.EmptyAnswer, $"all {answers.Count} answers are blank");
                continue;
            }

            var (answer, unanswerable) = Decide(answerable, answerType, answers, vote);
            if (answer is null && !unanswerable)
            {
                Sample.NoAnswer(context, path, where);
            }
            else if (unanswerable)
            {
                if (!keep)
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.Unanswerable, "the question is marked unanswerable (--unanswerable drop)");
                    continue;
                }

                answer = response;
            }

            var id = Path.GetFileNameWithoutExtension(image);
            yield return SourceItem.Of(Sample.Make(
                context, Name, path, id, "vqa", [new ImageRef(pattern.Format(image)!)],
                [Sample.Question(question, answer, vote)],
                [new("image", image)],
                new() { ["answer_type"] = answerType, ["answers"] = Sample.Array(answers ?? []) }));
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>
    /// The answer and whether the item is unanswerable. The record's own marks come before any vote:
    /// <c>answerable: 0</c> or <c>answer_type: "unanswerable"</c> make it unanswerable whatever the annotators wrote;
    /// an item marked answerable (<c>answerable: 1</c>, or another answer type) takes the vote over the real answers,
    /// leaving out "unanswerable" votes, and falls back to the plain vote only when no annotator gave a real answer.
    /// An unmarked item (test files) is unanswerable when the vote says so.
    /// </summary>
    private static (string? Answer, bool Unanswerable) Decide(int? answerable, string? answerType, List<string>? answers, string? vote)
    {
        if (answerable == 0 || answerType == "unanswerable")
        {
            return (null, true);
        }

        if (answers is not { Count: > 0 })
        {
            return (null, false);
        }

        if (answerable == 1 || answerType is not null)
        {
            vote = VqaAnswers.MajorityVote(answers.Where(a => !IsUnanswerable(a))) ?? vote;
        }

        return (vote, IsUnanswerable(vote!));
    }

    private static bool IsUnanswerable(string answer) => VqaAnswers.Normalize(answer) == "unanswerable";
}
