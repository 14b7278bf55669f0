using System.Text.Json;
using MllmData.Formats;
using MllmData.Records;
using MllmData.Json;

namespace MllmData.Eval;

/// <summary>
/// The question side of an evaluation set: LLaVA's question files, one line per question,
/// <c>{"question_id", "image"?, "text", "category"}</c>. The reference answers never go here; they go to
/// <c>answers.jsonl</c> (<see cref="AnswerFileWriter"/>). Not a training format, so it is not in the format registry:
/// <c>--split-role eval</c> or <c>--unanswered eval</c> chooses it.
/// </summary>
public sealed class EvalQuestionFormat(bool sourceIds) : IOutputFormat
{
    public const string FormatName = "llava-question";

    public string Name => FormatName;

    public string Description => "evaluation questions: {question_id, image?, text, category}; reference answers in answers.jsonl";

    public string Consumer => "LLaVA llava/eval/model_vqa_loader.py and the model_vqa* runners (question files)";

    /// <summary>The source's own question ids are kept when the build has one source.</summary>
    public bool SourceIds => sourceIds;

    public FormatCapabilities Capabilities { get; } = new()
    {
        MultiTurn = false,
        MultiImage = false,

        // The reference answers come from the records' details, so they are always gathered.
        MetaByDefault = true,
        Readable = false,
    };

    public void CheckOptions(RenderOptions options)
    {
        if (!options.IncludeMeta)
        {
            throw new UsageException("--no-meta: an evaluation set takes its reference answers from the records' details; leave out --no-meta (question lines carry no meta either way)");
        }
    }

    public void Render(InstructionRecord record, Utf8JsonWriter w, RenderOptions options)
    {
        w.WriteStartObject();
        EvalQuestion.WriteId(w, "question_id", EvalQuestion.Id(record, sourceIds));
        if (record.Images.Count == 1)
        {
            w.WriteString("image", record.Images[0].Path);
        }

        w.WriteString("text", EvalQuestion.Text(record));
        w.WriteString("category", record.Source);
        w.WriteEndObject();
    }

    public IFormatValidator CreateValidator(RenderOptions options) => new QuestionLineValidator();

    /// <summary>The line's image path (question lines hold at most one), for stats.</summary>
    public IReadOnlyList<string> Images(System.Text.Json.Nodes.JsonObject line) =>
        line["image"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var path) ? [path] : [];

    /// <summary>What the runners need of a question line: an id, a non-empty text, and the image as a path.</summary>
    private sealed class QuestionLineValidator : IFormatValidator
    {
        public void Validate(JsonElement record, List<Finding> findings)
        {
            if (record.ValueKind != JsonValueKind.Object)
            {
                findings.Add(new(FindingCodes.NotObject, "a question line is a JSON object"));
                return;
            }

            // A field of another kind is wrong-type, one left out missing-field (the adapters' codes), blank text empty-content.
            if (!record.TryGetProperty("question_id", out var id) || id.ValueKind == JsonValueKind.Null)
            {
                findings.Add(new(FindingCodes.MissingField, "no \"question_id\" (string or number)"));
            }
            else if (id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            {
                findings.Add(new(FindingCodes.WrongType, $"\"question_id\" is {id.ValueKind}, expected a string or number"));
            }

            if (!record.TryGetProperty("text", out var text) || text.ValueKind == JsonValueKind.Null)
            {
                findings.Add(new(FindingCodes.MissingField, "\"text\" is missing"));
            }
            else if (text.ValueKind != JsonValueKind.String)
            {
                findings.Add(new(FindingCodes.WrongType, $"\"text\" is {text.ValueKind}, expected a string"));
            }
            else if (TextCheck.IsBlank(text.GetString()))
            {
                findings.Add(new(FindingCodes.EmptyContent, "\"text\" is empty"));
            }

            if (record.TryGetProperty("image", out var image) && (image.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(image.GetString())))
            {
                findings.Add(new(FindingCodes.WrongType, "\"image\" is not a path"));
            }
        }
    }
}
