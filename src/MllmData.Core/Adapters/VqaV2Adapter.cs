using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Inputs;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>VQAv2 (and files in its layout): questions joined to annotations by <c>question_id</c>.</summary>
/// <remarks>
/// The official files list questions and annotations in the same order, so the join walks both files
/// in lockstep and holds almost nothing; out-of-order files still join correctly, holding only the
/// unmatched entries until their partner arrives.
/// </remarks>
public class VqaV2Adapter : ISourceAdapter
{
    public virtual string Name => "vqav2";

    public virtual string Description => "VQAv2 questions + annotations (v2_OpenEnded_mscoco_<split>_questions.json, v2_mscoco_<split>_annotations.json)";

    public IReadOnlyList<AdapterInput> Inputs { get; } =
    [
        new("questions", true, "the questions file: {questions:[{image_id, question, question_id}]}"),
        new("annotations", false, "the annotations file: {annotations:[{question_id, multiple_choice_answer, answers[...]}]}; without it see --unanswered"),
    ];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("answer", "mc = multiple_choice_answer; majority = the answer most annotators gave (counted after VQA normalisation, written as an annotator typed it)", "mc") { Allowed = ["mc", "majority"] },
        new("group-by-image", "merge the questions of one image into one multi-turn conversation", "false") { Allowed = AdapterOption.FlagValues },
        new("max-turns", "cap on turns per conversation with --group-by-image; longer ones are split", "10") { Check = AdapterOption.Count(1000) },
        new("image-pattern", "image file name for an image id; <split> and %012d / %d / %s are filled in", "COCO_<split>_%012d.jpg") { Check = AdapterOption.ImagePatternCheck },
        new("split", "split used in the image pattern (default: data_subtype of the file, else from its name)", null) { Check = AdapterOption.NameCheck },
        new("unanswered", "without annotations: error = stop with a message; eval = build an evaluation set (question files, never a training format)", "error") { Allowed = ["error", "eval"] },
    ];

    public string DefaultTemplatePack => "vqa-short";

    protected virtual string DefaultImagePattern => "COCO_<split>_%012d.jpg";

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var questionsPath = context.RequireInput("questions");
        var annotationsPath = context.Input("annotations");
        var answerMode = context.Choice("answer", "mc", "mc", "majority");
        var unanswered = context.Choice("unanswered", "error", "error", "eval");
        var group = context.Flag("group-by-image");
        var maxTurns = context.IntOption("max-turns", 10);
        if (annotationsPath is null && unanswered == "error")
        {
            // A questions file that is not there is the first thing to say, before what else is missing.
            if (InputFiles.Missing(questionsPath) is { } missing)
            {
                throw missing;
            }

            throw new UsageException(
                $"source '{context.SourceName}': {questionsPath} has questions but no --input annotations=FILE was given, so there are no answers. " +
                "Pass the annotations file, or --unanswered eval to build an evaluation set (LLaVA question files and answers.jsonl).");
        }

        var joined = annotationsPath is null
            ? QuestionsOnly(context, questionsPath, cancellationToken)
            : Join(context, questionsPath, annotationsPath, answerMode, cancellationToken);
        var items = group ? GroupByImage(context, joined, maxTurns) : joined;
        await foreach (var item in items.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    private sealed record Question(string QuestionId, string ImageId, string Text, long Position, int Index);

    private sealed record Answered(Question Question, string? Answer, string? Raw, VqaAnnotationDto? Annotation);

    /// <summary>Opens the file and positions the cursor inside the named top-level array, noting the split on the way.</summary>
    private static StreamingJsonReader OpenArray(SourceContext context, string path, string arrayName, out string? dataSubtype)
    {
        dataSubtype = null;
        var reader = new StreamingJsonReader(context.Files.Open(path, context.Progress), path);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", $"expected a JSON object with a \"{arrayName}\" array");
            }

            while (reader.Read())
            {
                if (reader.Depth == 0 && reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                if (reader.TokenType != JsonTokenType.PropertyName || reader.Depth != 1)
                {
                    continue;
                }

                if (reader.Text == arrayName)
                {
                    reader.Took(arrayName);
                    if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new InputDataException(path, $"byte {reader.TokenPosition}", "unknown-layout", $"\"{arrayName}\" is not an array");
                    }

                    if (dataSubtype is null && arrayName == "questions" && context.Option("split") is null)
                    {
                        // The split names the images: one written after the list is looked up before any record is made.
                        dataSubtype = SubtypeAfter(path, arrayName);
                    }

                    return reader;
                }

                if (reader.Text == "data_subtype")
                {
                    // Read, so a second copy of it stops the build like a second list would.
                    reader.Took("data_subtype");
                    if (reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        dataSubtype = reader.Text;
                        continue;
                    }

                    // A split of another kind names no image folder: taking the file name's instead would be a guess (unless
                    // --split names it).
                    if (reader.TokenType != JsonTokenType.Null && context.Option("split") is null)
                    {
                        throw SubtypeOfAnotherKind(path, reader);
                    }

                    // Under --split it is not used: the rest of a list or object is passed over.
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        var depth = reader.Depth;
                        while (reader.Read() && !(reader.Depth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray))
                        {
                        }
                    }

                    continue;
                }

                reader.SkipValue();
            }

            throw new InputDataException(path, "-", "unknown-layout", $"no top-level \"{arrayName}\" array: not a file in the VQA layout");
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The <c>data_subtype</c> a file gives after its list, read in a second pass that skips the list; null when it gives
    /// none there (or the file cannot be read that far: the main pass then says why).
    /// </summary>
    private static string? SubtypeAfter(string path, string arrayName)
    {
        InputDataException? wrong = null;
        try
        {
            using var reader = new StreamingJsonReader(File.OpenRead(path), path);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var passed = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (passed && reader.Text == "data_subtype")
                {
                    if (reader.Read() && reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                    {
                        wrong = SubtypeOfAnotherKind(path, reader);
                        break;
                    }

                    return reader.TokenType == JsonTokenType.String ? reader.Text : null;
                }

                passed |= reader.Text == arrayName;
                reader.SkipValue();
            }
        }
        catch (Exception ex) when (ex is InputDataException or JsonException or IOException)
        {
            return null;
        }

        return wrong is null ? null : throw wrong;
    }

    private static InputDataException SubtypeOfAnotherKind(string path, StreamingJsonReader reader) =>
        new(path, $"byte {reader.TokenPosition}", RejectReasons.WrongType, $"\"data_subtype\" is {reader.TokenType switch
        {
            JsonTokenType.Number => "a number",
            JsonTokenType.True or JsonTokenType.False => "a boolean",
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "a list",
            _ => reader.TokenType.ToString(),
        }}, expected a string (the split naming the images, e.g. val2014)");

    private ImagePattern Pattern(SourceContext context, string questionsPath, string? dataSubtype)
    {
        var split = context.Option("split") ?? dataSubtype ?? ImagePattern.SplitFromFileName(questionsPath) ?? string.Empty;
        return new ImagePattern(context.Option("image-pattern") ?? DefaultImagePattern, split);
    }

    /// <summary>
    /// Reads the next well-formed question, adding rejects for malformed ones on the way; a rejected question's id goes into
    /// <paramref name="failed"/> (when given) with where and why, so its annotation's reject can say so.
    /// </summary>
    private static bool NextQuestion(StreamingJsonReader reader, SourceContext context, string path, ref int index, List<SourceItem> rejects, Dictionary<string, string>? failed, out Question? question)
    {
        while (reader.TryReadValue<VqaQuestionDto>(RecordParsers.VqaQuestion, out var dto, out var pos, out var error))
        {
            var i = index++;
            var at = new Place("questions", i, pos);
            if (error is not null)
            {
                rejects.Add(Rejected(context, path, at.ToString(), Sample.ReasonOf(error), error));
                Failed(failed, dto?.QuestionId, at, Sample.ReasonOf(error));
                continue;
            }

            if (dto!.QuestionId is null || dto.ImageId is null || dto.Question is null)
            {
                var missing = dto.QuestionId is null ? "question_id" : dto.ImageId is null ? "image_id" : "question";
                rejects.Add(Rejected(context, path, at.ToString(), RejectReasons.MissingField, $"no \"{missing}\""));
                Failed(failed, dto.QuestionId, at, RejectReasons.MissingField);
                continue;
            }

            question = new Question(dto.QuestionId, dto.ImageId, dto.Question, pos, i);
            return true;
        }

        question = null;
        return false;
    }

    /// <summary>Notes a rejected question or annotation by its question id, when it has one.</summary>
    private static void Failed(Dictionary<string, string>? failed, string? questionId, Place at, string reason)
    {
        if (failed is not null && questionId is not null)
        {
            failed.TryAdd(questionId, $"{at}: {reason}");
        }
    }

    private static bool NextAnnotation(ReadAhead<VqaAnnotationDto> reader, SourceContext context, string path, ref int index, List<SourceItem> rejects, Dictionary<string, string> failed, out VqaAnnotationDto? annotation, out Place at)
    {
        while (reader.TryReadValue(out var dto, out var pos, out var error))
        {
            var i = index++;
            at = new Place("annotations", i, pos);
            if (error is not null)
            {
                rejects.Add(Rejected(context, path, at.ToString(), Sample.ReasonOf(error), error));
                Failed(failed, dto?.QuestionId, at, Sample.ReasonOf(error));
                continue;
            }

            if (dto!.QuestionId is null)
            {
                rejects.Add(Rejected(context, path, at.ToString(), RejectReasons.MissingField, "no \"question_id\""));
                continue;
            }

            annotation = dto;
            return true;
        }

        annotation = null;
        at = default;
        return false;
    }

    /// <summary>Where a question or an annotation is in its file, put in words only when a reject needs it.</summary>
    private readonly record struct Place(string Array, int Index, long Position)
    {
        public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Array}[{Index}] (byte {Position})");
    }

    private static SourceItem Rejected(SourceContext context, string file, string position, string reason, string detail) =>
        SourceItem.Rejected(new Reject(context.SourceName, file, position, reason, detail));

    private async IAsyncEnumerable<SourceItem> QuestionsOnly(SourceContext context, string questionsPath, [EnumeratorCancellation] CancellationToken ct)
    {
        using var reader = OpenArray(context, questionsPath, "questions", out var subtype);
        var pattern = Pattern(context, questionsPath, subtype);
        var rejects = new List<SourceItem>();
        var index = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var more = NextQuestion(reader, context, questionsPath, ref index, rejects, null, out var q);
            foreach (var r in rejects)
            {
                yield return r;
            }

            rejects.Clear();
            if (!more)
            {
                break;
            }

            yield return MakeRecord(context, questionsPath, pattern, new Answered(q!, null, null, null));
        }

        reader.Drain();
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private async IAsyncEnumerable<SourceItem> Join(SourceContext context, string questionsPath, string annotationsPath, string answerMode, [EnumeratorCancellation] CancellationToken ct)
    {
        using var questions = OpenArray(context, questionsPath, "questions", out var subtype);
        // The annotations (nine tenths of the bytes) are parsed on a thread of their own, in order, a few batches ahead.
        using var annotations = new ReadAhead<VqaAnnotationDto>(OpenArray(context, annotationsPath, "annotations", out _), RecordParsers.VqaAnnotation, "mllmdata-annotations");
        var pattern = Pattern(context, questionsPath, subtype);
        var pendingQuestions = new Dictionary<string, Question>(StringComparer.Ordinal);
        var pendingAnnotations = new Dictionary<string, (VqaAnnotationDto Dto, Place At)>(StringComparer.Ordinal);

        // Ids already joined (about two bytes each for numeric ids), so a repeat that comes after its pair met is still a
        // duplicate-id and not a question without an annotation (or an annotation without a question).
        var joined = new Json.JoinedIds();
        var rejects = new List<SourceItem>();
        var matched = new List<Answered>(2);

        // Rejected questions and annotations by question id: the partner left without them says why, not only that it is alone.
        var failedQuestions = new Dictionary<string, string>(StringComparer.Ordinal);
        var failedAnnotations = new Dictionary<string, string>(StringComparer.Ordinal);
        int qIndex = 0, aIndex = 0;
        bool qMore = true, aMore = true;
        while (qMore || aMore)
        {
            ct.ThrowIfCancellationRequested();
            if (qMore && (qMore = NextQuestion(questions, context, questionsPath, ref qIndex, rejects, failedQuestions, out var q)))
            {
                if (joined.Contains(q!.QuestionId))
                {
                    rejects.Add(Rejected(context, questionsPath, $"questions[{q.Index}] (byte {q.Position})", RejectReasons.DuplicateId, $"question_id {q.QuestionId} appears twice"));
                }
                else if (pendingAnnotations.Remove(q.QuestionId, out var a))
                {
                    joined.Add(q.QuestionId);
                    matched.Add(Answer(q, a.Dto, answerMode));
                }
                else if (!pendingQuestions.TryAdd(q.QuestionId, q))
                {
                    rejects.Add(Rejected(context, questionsPath, $"questions[{q.Index}] (byte {q.Position})", RejectReasons.DuplicateId, $"question_id {q.QuestionId} appears twice"));
                }
            }

            if (aMore && (aMore = NextAnnotation(annotations, context, annotationsPath, ref aIndex, rejects, failedAnnotations, out var ann, out var at)))
            {
                if (joined.Contains(ann!.QuestionId!))
                {
                    rejects.Add(Rejected(context, annotationsPath, at.ToString(), RejectReasons.DuplicateId, $"question_id {ann.QuestionId} has two annotations"));
                }
                else if (pendingQuestions.Remove(ann.QuestionId!, out var pq))
                {
                    joined.Add(ann.QuestionId!);
                    matched.Add(Answer(pq, ann, answerMode));
                }
                else if (!pendingAnnotations.TryAdd(ann.QuestionId!, (ann, at)))
                {
                    rejects.Add(Rejected(context, annotationsPath, at.ToString(), RejectReasons.DuplicateId, $"question_id {ann.QuestionId} has two annotations"));
                }
            }

            foreach (var r in rejects)
            {
                yield return r;
            }

            rejects.Clear();
            foreach (var m in matched)
            {
                yield return m.Answer is null
                    ? Rejected(context, annotationsPath, $"question_id {m.Question.QuestionId}", RejectReasons.EmptyAnswer, "the annotation has no usable answer")
                    : MakeRecord(context, questionsPath, pattern, m, annotationsPath);
            }

            matched.Clear();
        }

        questions.Drain();
        annotations.Drain();

        // Whatever is left never met its partner; report in file order so the rejects file is deterministic.
        foreach (var q in pendingQuestions.Values.OrderBy(q => q.Index))
        {
            yield return Rejected(context, questionsPath, $"questions[{q.Index}] (byte {q.Position})", RejectReasons.NoAnnotation, failedAnnotations.TryGetValue(q.QuestionId, out var why)
                ? $"question_id {q.QuestionId}: its annotation in {annotationsPath} was rejected ({why})"
                : $"question_id {q.QuestionId} has no annotation in {annotationsPath}");
        }

        foreach (var (id, a) in pendingAnnotations)
        {
            yield return Rejected(context, annotationsPath, a.At.ToString(), RejectReasons.NoQuestion, failedQuestions.TryGetValue(id, out var why)
                ? $"question_id {id}: its question in {questionsPath} was rejected ({why})"
                : $"question_id {id} has no question in {questionsPath}");
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static Answered Answer(Question q, VqaAnnotationDto a, string mode)
    {
        // Votes count the processed answer (OK-VQA's "answer") and write what the annotator typed ("raw_answer").
        var mc = TextCheck.IsBlank(a.MultipleChoiceAnswer) ? null : a.MultipleChoiceAnswer.Trim();
        var answer = mode == "majority"
            ? Vote(a) ?? mc
            : mc ?? Vote(a);
        // The raw answer is the one the output came from: the file's multiple_choice_answer as written, or the vote's when that is blank.
        return new Answered(q, answer, mode == "majority" || mc is null ? answer : a.MultipleChoiceAnswer, a);
    }

    /// <summary>The annotators' majority (made only when asked for: by the mode, or for a blank multiple_choice_answer).</summary>
    private static string? Vote(VqaAnnotationDto a) =>
        a.Answers is { } answers ? VqaAnswers.MajorityVote(answers.Select(x => new AnnotatorAnswer(x.Answer ?? x.RawAnswer, x.RawAnswer ?? x.Answer))) : null;

    private InstructionRecord MakeRecordCore(SourceContext context, string questionsPath, string? annotationsPath, ImagePattern pattern, Answered m, out string? image)
    {
        image = pattern.Format(m.Question.ImageId);
        var ids = new KeyValuePair<string, string>[]
        {
            new("question_id", m.Question.QuestionId),
            new("image_id", m.Question.ImageId),
        };
        VqaDetails? details = null;
        if (m.Annotation is { } a && context.IncludeDetail)
        {
            details = new VqaDetails(a.AnswerType, a.QuestionType, a.Answers);
        }

        return new InstructionRecord
        {
            Id = $"{context.SourceName}-q{m.Question.QuestionId}",
            Source = context.SourceName,
            Task = "vqa",
            Images = image is null ? [] : [new ImageRef(image)],
            Turns =
            [
                new Turn
                {
                    Slots = new OneSlotDictionary("question", m.Question.Text.Trim()),
                    Output = m.Answer,
                    RawAnswer = m.Raw,
                },
            ],
            Provenance = new Provenance { Adapter = Name, File = questionsPath, AnswerFile = m.Annotation is null ? null : annotationsPath, Ids = ids, Details = details },
        };
    }

    private SourceItem MakeRecord(SourceContext context, string questionsPath, ImagePattern pattern, Answered m, string? annotationsPath = null)
    {
        var record = MakeRecordCore(context, questionsPath, annotationsPath, pattern, m, out var image);
        return image is null
            ? Rejected(context, questionsPath, $"questions[{m.Question.Index}] (byte {m.Question.Position})", RejectReasons.UnknownImage,
                $"image_id '{m.Question.ImageId}' does not fit the numeric image pattern '{pattern.Pattern}'; pass --image-pattern with %s")
            : SourceItem.Of(record);
    }

    /// <summary>Merges consecutive records of one image (the official files keep them together) into conversations.</summary>
    private static async IAsyncEnumerable<SourceItem> GroupByImage(SourceContext context, IAsyncEnumerable<SourceItem> items, int maxTurns)
    {
        var run = new List<InstructionRecord>();
        var seenRuns = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var item in items.ConfigureAwait(false))
        {
            if (item.Record is not { } r)
            {
                yield return item;
                continue;
            }

            if (run.Count > 0 && ImageIdOf(run[0]) != ImageIdOf(r))
            {
                foreach (var g in Flush(context, run, maxTurns, seenRuns))
                {
                    yield return SourceItem.Of(g);
                }

                run.Clear();
            }

            run.Add(r);
        }

        foreach (var g in Flush(context, run, maxTurns, seenRuns))
        {
            yield return SourceItem.Of(g);
        }
    }

    private static string ImageIdOf(InstructionRecord r) => r.Provenance.Ids[1].Value;

    private static IEnumerable<InstructionRecord> Flush(SourceContext context, List<InstructionRecord> run, int maxTurns, Dictionary<string, int> seenRuns)
    {
        if (run.Count == 0)
        {
            yield break;
        }

        var imageId = ImageIdOf(run[0]);

        // An image whose questions are not contiguous gets a numbered id per run, so ids stay unique.
        var runNo = seenRuns.TryGetValue(imageId, out var n) ? n + 1 : 0;
        seenRuns[imageId] = runNo;
        var baseId = $"{context.SourceName}-img{imageId}" + (runNo > 0 ? $"-r{runNo}" : string.Empty);
        var chunks = run.Chunk(maxTurns).ToList();
        for (var c = 0; c < chunks.Count; c++)
        {
            var part = chunks[c];
            var first = part[0];
            var extra = new JsonObject
            {
                ["question_ids"] = new JsonArray([.. part.Select(p => (JsonNode?)JsonValue.Create(p.Provenance.Ids[0].Value))]),
                ["turns"] = new JsonArray([.. part.Select(p => (JsonNode?)p.Provenance.Extra?.DeepClone())]),
            };
            yield return first with
            {
                Id = chunks.Count > 1 ? $"{baseId}-p{c}" : baseId,
                Turns = [.. part.Select(p => p.Turns[0])],
                Provenance = first.Provenance with { Ids = [new("image_id", imageId)], Extra = extra },
            };
        }
    }
}
