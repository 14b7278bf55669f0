using System.Runtime.CompilerServices;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>
/// TextVQA 0.5.1 (<c>TextVQA_0.5.1_&lt;split&gt;.json</c>, records under <c>data</c>) with optional Rosetta OCR
/// tokens (<c>TextVQA_Rosetta_OCR_v0.2_&lt;split&gt;.json</c>); also the older layout whose records name an <c>image</c>.
/// </summary>
public sealed class TextVqaAdapter : ISourceAdapter
{
    public string Name => "textvqa";

    public string Description => "TextVQA 0.5.1 (TextVQA_0.5.1_<split>.json: data[{question_id, question, image_id, answers[10], set_name}]) + optional Rosetta OCR";

    public IReadOnlyList<AdapterInput> Inputs { get; } =
    [
        new("questions", true, "the TextVQA_0.5.1_<split>.json file"),
        new("ocr", false, "TextVQA_Rosetta_OCR_v0.2_<split>.json: data[{image_id, ocr_tokens}]"),
    ];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("ocr-hint", "put the image's OCR tokens in the instruction (record tokens, else the ocr file); a record with none is rejected (missing-ocr)", "false") { Allowed = AdapterOption.FlagValues },
        new("image-pattern", "image file for an image id; <split> is train_images for train/val, test_images for test", "<split>/%s.jpg") { Check = AdapterOption.ImagePatternCheck },
        Sample.Unanswered,
    ];

    public string DefaultTemplatePack => "vqa-short";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("questions");
        var hint = context.Flag("ocr-hint");
        var pattern = context.Option("image-pattern") ?? "<split>/%s.jpg";

        // OCR tokens are per image (a few hundred bytes each): read them first, by image id.
        var ocr = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (context.Input("ocr") is { } ocrPath)
        {
            foreach (var (item, where, unreadable) in Sample.Elements(context, ocrPath, JsonLayout.ArrayProperty, "data", cancellationToken))
            {
                if (unreadable is { } reject)
                {
                    // An OCR entry that cannot be read (a key twice, not an object) says so itself, so its image's
                    // questions are not the only trace of it (their missing-ocr).
                    yield return reject;
                    continue;
                }

                // An entry whose id or tokens are of another kind is its own wrong-type reject: left out unseen, its image's
                // questions would be missing-ocr with the cause nowhere.
                var entry = new RecordFields(item.Element);
                var (id, tokens) = (entry.Id("image_id"), entry.Texts("ocr_tokens"));
                if (entry.Wrong is { } wrongEntry)
                {
                    yield return Sample.Reject(context, ocrPath, where, RejectReasons.WrongType, wrongEntry);
                    continue;
                }

                if (id is not null && tokens is not null)
                {
                    ocr[id] = tokens;
                }
            }
        }

        foreach (var (item, where, notObject) in Sample.Elements(context, path, JsonLayout.ArrayProperty, "data", cancellationToken))
        {
            if (notObject is { } wrongType)
            {
                yield return wrongType;
                continue;
            }

            // A field of another kind is wrong-type, not absent: a numeric answer left out would change the vote.
            var f = new RecordFields(item.Element);
            var qid = f.Id("question_id");
            var question = f.Text("question");
            var givenId = f.Id("image_id");
            var named = f.Text("image");
            var setName = f.Text("set_name") ?? f.Text("flickr_300k_split") ?? string.Empty;
            var answers = f.Texts("answers");
            var (width, height) = (f.Whole("image_width"), f.Whole("image_height"));
            var ownTokens = hint ? f.Texts("ocr_tokens") : null;
            if (f.Wrong is { } wrong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                continue;
            }

            // The older layout names the image file instead of giving an id.
            var imageId = givenId ?? (named is { } file ? Path.GetFileNameWithoutExtension(file) : null);
            if (qid is null || question is null || imageId is null)
            {
                var missing = qid is null ? "question_id" : question is null ? "question" : "image_id";
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, $"no \"{missing}\"");
                continue;
            }

            var folder = setName == "test" ? "test_images" : "train_images";
            var image = named is not null && givenId is null ? named : new ImagePattern(pattern, folder).Format(imageId)!;
            var answer = answers is { Count: > 0 } ? VqaAnswers.MajorityVote(answers) : null;
            if (answer is null && answers is { Count: > 0 })
            {
                yield return Sample.Reject(context, path, where, RejectReasons.EmptyAnswer, $"all {answers.Count} answers are blank");
                continue;
            }

            if (answer is null)
            {
                Sample.NoAnswer(context, path, where);
            }

            var slots = new Dictionary<string, string>();
            if (hint)
            {
                // The record's own tokens first, else the OCR file's; a prompt never says "none" in their place.
                // Blank tokens (white space, invisible characters) are no words: a list of only those is no OCR.
                var tokens = Visible(ownTokens) is { Count: > 0 } own ? own : ocr.TryGetValue(imageId, out var t) && Visible(t) is { Count: > 0 } listed ? listed : null;
                if (tokens is null)
                {
                    yield return Sample.Reject(context, path, where, RejectReasons.MissingOcr,
                        $"--ocr-hint is on but image {imageId} (question_id {qid}) has no OCR tokens, neither in the record nor in " +
                        (context.Input("ocr") is { } o ? o : "an --input ocr=FILE (none given)"));
                    continue;
                }

                slots["ocr_tokens"] = string.Join(", ", tokens);
            }

            yield return SourceItem.Of(Sample.Make(
                context, Name, path, $"q{qid}", hint ? "vqa-ocr" : "vqa", [new ImageRef(image) { Width = width, Height = height }],
                [Sample.Question(question, answer, answer, slots)],
                [new("question_id", qid), new("image_id", imageId)],
                new() { ["answers"] = Sample.Array(answers ?? []), ["set_name"] = setName }));
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static List<string>? Visible(List<string>? tokens) => tokens?.Where(t => !TextCheck.IsBlank(t)).ToList();
}
