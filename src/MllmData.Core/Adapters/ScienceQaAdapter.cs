using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>
/// ScienceQA (<c>problems.json</c> keyed by pid, <c>pid_splits.json</c>, optional <c>captions.json</c>): multiple
/// choice with context, and chain-of-thought outputs (A, LEA = lecture, explanation, answer; ALE). Problems
/// without an image become text-only records.
/// </summary>
public sealed class ScienceQaAdapter : ISourceAdapter
{
    /// <summary>The rationale stage of Multimodal-CoT: question, context and options → lecture and explanation.</summary>
    public const string RationaleStage = "rationale";

    /// <summary>The answer stage of Multimodal-CoT: question, context, options and the rationale → the answer.</summary>
    public const string AnswerStage = "answer-given-rationale";

    /// <summary>Both stages: two records per problem, the rationale first.</summary>
    public const string TwoStage = "two-stage";

    private static readonly string[] Cot = ["A", "LEA", "ALE", RationaleStage, AnswerStage, TwoStage];

    public string Name => "scienceqa";

    public string Description => "ScienceQA (problems.json {pid: {question, choices, answer, hint, image, lecture, solution}} + pid_splits.json + optional captions.json)";

    public IReadOnlyList<AdapterInput> Inputs { get; } =
    [
        new("problems", true, "problems.json"),
        new("splits", false, "pid_splits.json; without it every problem whose own split matches is used"),
        new("captions", false, "captions.json {captions: {pid: text}}, added to the context of image problems"),
    ];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("split", "train, val, test, trainval, minitrain, minival or minitest", "train") { Allowed = ["train", "val", "test", "trainval", "minitrain", "minival", "minitest"], Check = AdapterOption.NeedsInput("splits", "minitrain", "minival", "minitest") },
        new("cot", "output: A = the answer letter; LEA = lecture, explanation, then the answer; ALE = the answer, then lecture and explanation; "
            + "the two stages of Multimodal-CoT: rationale = lecture and explanation only; answer-given-rationale = the answer, with the rationale in the input; "
            + "two-stage = both records per problem", "A") { Allowed = Cot },
        new("image-pattern", "image file of a problem with an image; <split> is the problem's split", "<split>/%s/image.png") { Check = AdapterOption.ImagePatternCheck },
    ];

    public string DefaultTemplatePack => "scienceqa";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("problems");
        var split = context.Option("split") ?? "train";
        var cot = context.Choice("cot", "A", Cot);
        var pattern = context.Option("image-pattern") ?? "<split>/%s/image.png";
        var pids = context.Input("splits") is { } splitsPath ? ReadSplit(context, splitsPath, split) : null;
        var captions = context.Input("captions") is { } captionsPath ? ReadCaptions(context, captionsPath) : null;
        foreach (var (item, where, notObject) in Sample.Elements(context, path, JsonLayout.KeyedObject, "problems", cancellationToken))
        {
            if (notObject is { } wrongType)
            {
                yield return wrongType;
                continue;
            }

            var pid = item.Key!;
            var e = item.Element;

            // Every field read is of its kind or the record is wrong-type: read as absent, a numeric split would drop the
            // record unseen, a numeric choice would move the letters after it, an image of another kind would make it text-only.
            var f = new RecordFields(e);
            var ownSplit = f.Text("split");
            var selected = pids is not null ? pids.Contains(pid) : f.Wrong is not null || ownSplit == split || (split == "trainval" && ownSplit is "train" or "val");
            if (!selected)
            {
                continue;
            }

            var question = f.Text("question");
            var choices = f.Texts("choices");
            var answerIndex = f.Whole("answer");
            var image = f.Text("image");
            var hint = f.Text("hint");
            var lecture = f.Text("lecture");
            var solution = f.Text("solution");
            var (subject, grade, skill) = (f.Text("subject"), f.Text("grade"), f.Text("skill"));
            if (f.Wrong is { } wrong)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.WrongType, wrong);
                continue;
            }

            if (question is null || choices is not { Count: > 1 } || answerIndex is null || answerIndex < 0 || answerIndex >= choices.Count)
            {
                var why = question is null ? "no \"question\"" : choices is not { Count: > 1 } ? "fewer than two \"choices\"" : "no \"answer\" index within the choices";
                yield return Sample.Reject(context, path, where, RejectReasons.MissingField, why);
                continue;
            }

            if (Sample.ChoicesProblem(choices) is { } bad)
            {
                yield return Sample.Reject(context, path, where, bad.Reason, bad.Detail);
                continue;
            }

            var hasImage = image is { Length: > 0 };
            var contextParts = new List<string>();
            if (hint is not null && !TextCheck.IsBlank(hint))
            {
                contextParts.Add(hint.Trim());
            }

            if (hasImage && captions is not null && captions.TryGetValue(pid, out var caption) && !TextCheck.IsBlank(caption))
            {
                contextParts.Add(caption.Trim());
            }

            var letter = Sample.Letter(answerIndex.Value);

            // The rationale is the lecture, then the solution, one per line, as LEA and ALE put them before or after the answer.
            var reasoning = string.Join("\n", new[] { lecture, solution }.Where(s => !TextCheck.IsBlank(s)).Select(s => s!.Trim()));
            var slots = new Dictionary<string, string> { ["options"] = Sample.Options(choices) };

            // Without a context the slot stays unset, so a template line holding only {context} is left out.
            if (contextParts.Count > 0)
            {
                slots["context"] = string.Join(" ", contextParts);
            }

            IReadOnlyList<ImageRef> images = hasImage ? [new ImageRef(new ImagePattern(pattern, ownSplit ?? split).Format(pid)!)] : [];
            JsonObject Extra(string? stage)
            {
                var extra = new JsonObject { ["subject"] = subject, ["grade"] = grade, ["skill"] = skill, ["answer"] = choices[answerIndex.Value] };
                if (stage is not null)
                {
                    extra["cot_stage"] = stage;
                }

                return extra;
            }

            if (cot is not (RationaleStage or AnswerStage or TwoStage))
            {
                var output = cot switch
                {
                    "LEA" when reasoning.Length > 0 => $"{reasoning}\nThe answer is {letter}.",
                    "ALE" when reasoning.Length > 0 => $"The answer is {letter}.\n{reasoning}",
                    "A" => letter,
                    _ => $"The answer is {letter}.",
                };
                var turn = Sample.Question(question, output, letter, slots) with { SuffixHint = cot == "A" ? null : "explain-" + cot.ToLowerInvariant() };
                yield return SourceItem.Of(Sample.Make(context, Name, path, pid, "scienceqa", images, [turn], [new("pid", pid)], Extra(null)));
                continue;
            }

            // Multimodal-CoT: one record per stage, told apart by an id suffix and meta.extra.cot_stage.
            foreach (var stage in cot == TwoStage ? new[] { RationaleStage, AnswerStage } : [cot])
            {
                if (reasoning.Length == 0)
                {
                    // Both stages need the rationale: one is trained to write it, the other to answer from it.
                    yield return Sample.Reject(context, path, $"{where} ({stage})", RejectReasons.NoRationale, "no \"lecture\" or \"solution\" to form the rationale from");
                    continue;
                }

                var turn = stage == RationaleStage
                    ? Sample.Question(question, reasoning, letter, slots) with { SuffixHint = RationaleStage }
                    : Sample.Question(question, $"The answer is {letter}.", letter, new Dictionary<string, string>(slots) { ["rationale"] = reasoning }) with { SuffixHint = AnswerStage };
                yield return SourceItem.Of(Sample.Make(context, Name, path, $"{pid}-{stage}", "scienceqa", images, [turn], [new("pid", pid)], Extra(stage)));
            }
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static HashSet<string> ReadSplit(SourceContext context, string path, string split)
    {
        HashSet<string>? found = null;
        foreach (var item in JsonElements.Read(context.Files.Open(path, context.Progress), path, JsonLayout.KeyedObject))
        {
            using (item)
            {
                if (item.Key == split && item.DuplicateKey)
                {
                    throw new InputDataException(path, $"byte {item.Position}", "duplicate-key", $"the split \"{split}\" is listed twice; which list is meant cannot be told (merge them into one)");
                }

                if (item.Key == split && !item.Parsed)
                {
                    throw new InputDataException(path, $"byte {item.Position}", JsonErrors.IsDoubledKey(item.Error) ? RejectReasons.DuplicateKey : RejectReasons.WrongType, $"the split \"{split}\": {item.Error}");
                }

                if (item.Key == split && item.Element.ValueKind != JsonValueKind.Array)
                {
                    throw new InputDataException(path, $"byte {item.Position}", RejectReasons.WrongType, $"the split \"{split}\" is {JsonKinds.Describe(item.Element)}, expected a list of pids");
                }

                if (item.Key == split)
                {
                    found = [];
                    var i = 0;
                    foreach (var x in item.Element.EnumerateArray())
                    {
                        // A pid is a key of problems.json: a string, or a number written for one; anything else names no problem.
                        found.Add(x.ValueKind switch
                        {
                            JsonValueKind.String => x.GetString()!,
                            JsonValueKind.Number => x.GetRawText(),
                            _ => throw new InputDataException(path, $"byte {item.Position}", RejectReasons.WrongType, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\"{split}\"[{i}] is {JsonKinds.Describe(x)}, expected a pid (a string)")),
                        });
                        i++;
                    }
                }
            }
        }

        if (found is not null)
        {
            return found;
        }

        throw new UsageException($"{path} has no split '{split}'");
    }

    private static Dictionary<string, string> ReadCaptions(SourceContext context, string path)
    {
        var captions = new Dictionary<string, string>(StringComparer.Ordinal);
        using var reader = new StreamingJsonReader(context.Files.Open(path, context.Progress), path);
        if (!reader.Read() || !reader.SeekProperty("captions", 1) || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InputDataException(path, "-", "unknown-layout", "expected {\"captions\": {pid: text}}");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var pid = reader.Text!;
            var at = reader.TokenPosition;
            if (reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                if (!captions.TryAdd(pid, reader.Text!))
                {
                    throw new InputDataException(path, $"byte {at}", "duplicate-key", $"the caption of {pid} is given twice; which one is meant cannot be told (keep one)");
                }
            }
            else if (reader.TokenType != JsonTokenType.Null)
            {
                // A number or true is no caption either: left out, the problem's context would silently lose it.
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", $"caption of {pid} is not a string");
            }
        }

        reader.Drain();
        return captions;
    }
}
