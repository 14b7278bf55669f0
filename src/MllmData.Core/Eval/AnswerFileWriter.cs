using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Records;

namespace MllmData.Eval;

/// <summary>
/// Writes <c>answers.jsonl</c> beside an evaluation set's question files, one line per written question, streaming:
/// <c>{"question_id", "answers", "answer_type"?, "category", "choices"?, "correct_choice"?, "constraint"?}</c>, then what decontamination
/// matches on: <c>question</c>, <c>image</c>, <c>image_id</c>, <c>image_sha256</c> (when known) and <c>adapter</c>.
/// </summary>
public sealed class AnswerFileWriter : IDisposable
{
    public const string FileName = "answers.jsonl";

    private readonly FileStream _file;
    private readonly Utf8JsonWriter _json;
    private readonly bool _sourceIds;

    public AnswerFileWriter(string folder, bool sourceIds)
    {
        _file = new FileStream(Path.Combine(folder, FileName), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        _json = new Utf8JsonWriter(_file, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _sourceIds = sourceIds;
    }

    /// <summary>Questions written.</summary>
    public long Questions { get; private set; }

    /// <summary>Questions that have at least one reference answer (test splits have none).</summary>
    public long Answered { get; private set; }

    /// <summary>Writes the answers line of a question just written to the question files.</summary>
    public void Write(InstructionRecord record)
    {
        var reference = EvalQuestion.Reference(record);
        var w = _json;
        w.Reset();
        w.WriteStartObject();
        EvalQuestion.WriteId(w, "question_id", EvalQuestion.Id(record, _sourceIds));
        w.WriteStartArray("answers");
        foreach (var a in reference.Answers)
        {
            w.WriteStringValue(a);
        }

        w.WriteEndArray();
        if (reference.AnswerType is { } type)
        {
            w.WriteString("answer_type", type);
        }

        w.WriteString("category", record.Source);
        if (reference.Choices is { } choices)
        {
            w.WriteStartArray("choices");
            foreach (var c in choices)
            {
                w.WriteStringValue(c);
            }

            w.WriteEndArray();
            if (reference.CorrectChoice is { } letter)
            {
                w.WriteString("correct_choice", letter);
            }
        }

        if (reference.Constraint is { } constraint)
        {
            w.WriteString("constraint", constraint);
        }

        if (EvalQuestion.Question(record) is { Length: > 0 } question)
        {
            w.WriteString("question", question);
        }

        if (record.Images.Count == 1)
        {
            var image = record.Images[0];
            w.WriteString("image", image.Path);
            if (record.Provenance.Ids.FirstOrDefault(kv => kv.Key == "image_id").Value is { } imageId)
            {
                w.WriteString("image_id", imageId);
            }

            if (image.Sha256 is { } sha)
            {
                w.WriteString("image_sha256", sha);
            }
        }

        w.WriteString("adapter", record.Provenance.Adapter);
        w.WriteEndObject();
        w.Flush();
        _file.WriteByte((byte)'\n');
        Questions++;
        Answered += reference.Answers.Count > 0 ? 1 : 0;
    }

    /// <summary>The manifest's <c>evaluation</c> section.</summary>
    public void WriteManifestSection(Utf8JsonWriter w, string format)
    {
        w.WriteStartObject("evaluation");
        w.WriteString("split_role", "eval");
        w.WriteString("questions_format", format);
        w.WriteNumber("questions", Questions);
        w.WriteNumber("answered", Answered);
        w.WriteString("answers_file", FileName);
        w.WriteEndObject();
    }

    /// <summary>Flushes and closes the file; the output folder promotes it with the shards.</summary>
    public void Complete()
    {
        _json.Dispose();
        _file.Flush(flushToDisk: true);
        _file.Dispose();
    }

    public void Dispose()
    {
        _json.Dispose();
        _file.Dispose();
    }
}
