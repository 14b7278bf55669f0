using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>GQA (<c>&lt;split&gt;_balanced_questions.json</c>: an object keyed by question id).</summary>
public sealed class GqaAdapter : ISourceAdapter
{
    public string Name => "gqa";

    public string Description => "GQA (<split>_balanced_questions.json: {qid: {imageId, question, answer, fullAnswer}})";

    public IReadOnlyList<AdapterInput> Inputs { get; } = [new("questions", true, "the <split>_balanced_questions.json object")];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("answer", "short = the one-word answer; full = fullAnswer, a natural sentence", "short") { Allowed = ["short", "full"] },
        new("image-pattern", "image file for an imageId (ids may be non-numeric, e.g. n578564)", "images/%s.jpg") { Check = AdapterOption.ImagePatternCheck },
        Sample.Unanswered,
    ];

    public string DefaultTemplatePack => "vqa-short";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("questions");
        var full = context.Choice("answer", "short", "short", "full") == "full";
        var pattern = new ImagePattern(context.Option("image-pattern") ?? "images/%s.jpg", string.Empty);
        foreach (var (item, where, notObject) in Sample.Elements(context, path, JsonLayout.KeyedObject, "questions", cancellationToken))
        {
            if (notObject is { } wrongType)
            {
                yield return wrongType;
                continue;
            }

            // A field of another kind is wrong-type: read as absent, a numeric answer would make the record look unanswered.
            var f = new RecordFields(item.Element);
            var imageId = f.Id("imageId");
            var question = f.Text("question");
            var shortAnswer = f.Text("answer");
            var fullAnswer = f.Text("fullAnswer");
            if (f.Wrong is { } wrong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                continue;
            }

            if (imageId is null || question is null)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, imageId is null ? "no \"imageId\"" : "no \"question\"");
                continue;
            }

            var answer = full ? fullAnswer : shortAnswer;
            if (answer is null)
            {
                Sample.NoAnswer(context, path, where);
            }

            yield return SourceItem.Of(Sample.Make(
                context, Name, path, $"q{item.Key}", full ? "vqa-long" : "vqa", [new ImageRef(pattern.Format(imageId)!)],
                [Sample.Question(question, answer, shortAnswer)],
                [new("question_id", item.Key!), new("image_id", imageId)],
                new() { ["full_answer"] = fullAnswer, ["short_answer"] = shortAnswer }));
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
