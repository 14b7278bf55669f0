using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>
/// A VQA record's annotation details as plain values (the VQAv2 layout's answer type, question type and annotators'
/// answers, as the annotation file's reader gave them), written straight into <c>meta.extra</c>: a node tree for them was
/// made on every record only to be written once.
/// </summary>
internal sealed class VqaDetails(string? answerType, string? questionType, IReadOnlyList<VqaAnswer>? answers) : IRecordDetails
{
    private static readonly JsonEncodedText NAnswerType = JsonEncodedText.Encode("answer_type");
    private static readonly JsonEncodedText NQuestionType = JsonEncodedText.Encode("question_type");
    private static readonly JsonEncodedText NAnswers = JsonEncodedText.Encode("answers");

    public int Count => (answerType is null ? 0 : 1) + (questionType is null ? 0 : 1) + (answers is { Count: > 0 } ? 1 : 0);

    public void WriteMembers(Utf8JsonWriter w)
    {
        if (answerType is not null)
        {
            w.WritePropertyName(NAnswerType);
            EncodedNames.WriteValue(w, answerType);
        }

        if (questionType is not null)
        {
            w.WritePropertyName(NQuestionType);
            EncodedNames.WriteValue(w, questionType);
        }

        if (answers is { Count: > 0 })
        {
            w.WritePropertyName(NAnswers);
            w.WriteStartArray();
            for (var k = 0; k < answers.Count; k++)
            {
                EncodedNames.WriteValue(w, answers[k].Answer);
            }

            w.WriteEndArray();
        }
    }

    public JsonObject ToObject()
    {
        var extra = new JsonObject();
        if (answerType is not null)
        {
            extra["answer_type"] = answerType;
        }

        if (questionType is not null)
        {
            extra["question_type"] = questionType;
        }

        if (answers is { Count: > 0 })
        {
            var texts = new string?[answers.Count];
            for (var k = 0; k < texts.Length; k++)
            {
                texts[k] = answers[k].Answer;
            }

            extra["answers"] = ExtraValues.Texts(texts);
        }

        return extra;
    }
}
