using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MllmData.Json;

/// <summary>Reads an id that benchmarks write as a number in one file and a string in another.</summary>
public sealed class FlexibleIdConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                var span = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
                // Ids like 9.0 appear in some third-party files; keep integral values integral.
                if (Utf8Parser.TryParse(span, out long l, out var used) && used == span.Length)
                {
                    return l.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                if (Utf8Parser.TryParse(span, out double d, out used) && used == span.Length && d == Math.Floor(d) && Math.Abs(d) < 1e15)
                {
                    return ((long)d).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return Encoding.UTF8.GetString(span);
            case JsonTokenType.Null:
                return null;
            default:
                throw new JsonException($"expected an id (number or string), found {reader.TokenType}");
        }
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

public sealed class VqaQuestionDto
{
    [JsonPropertyName("question_id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? QuestionId { get; set; }

    [JsonPropertyName("image_id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? ImageId { get; set; }

    [JsonPropertyName("question")]
    public string? Question { get; set; }
}

public sealed class VqaAnswerDto
{
    [JsonPropertyName("answer")]
    public string? Answer { get; set; }

    [JsonPropertyName("raw_answer")]
    public string? RawAnswer { get; set; }

    [JsonPropertyName("answer_confidence")]
    public string? AnswerConfidence { get; set; }

    [JsonPropertyName("answer_id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? AnswerId { get; set; }
}

public sealed class VqaAnnotationDto
{
    [JsonPropertyName("question_id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? QuestionId { get; set; }

    [JsonPropertyName("image_id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? ImageId { get; set; }

    [JsonPropertyName("question_type")]
    public string? QuestionType { get; set; }

    [JsonPropertyName("answer_type")]
    public string? AnswerType { get; set; }

    [JsonPropertyName("multiple_choice_answer")]
    public string? MultipleChoiceAnswer { get; set; }

    [JsonPropertyName("answers")]
    public List<VqaAnswerDto>? Answers { get; set; }
}

public sealed class CocoImageDto
{
    [JsonPropertyName("id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? Id { get; set; }

    [JsonPropertyName("file_name")]
    public string? FileName { get; set; }

    [JsonPropertyName("width")]
    public int? Width { get; set; }

    [JsonPropertyName("height")]
    public int? Height { get; set; }
}

public sealed class CocoCaptionDto
{
    [JsonPropertyName("id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? Id { get; set; }

    [JsonPropertyName("image_id")]
    [JsonConverter(typeof(FlexibleIdConverter))]
    public string? ImageId { get; set; }

    [JsonPropertyName("caption")]
    public string? Caption { get; set; }
}

/// <summary>Source-generated (reflection-free, fast) metadata for the benchmark record shapes.</summary>
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(VqaQuestionDto))]
[JsonSerializable(typeof(VqaAnnotationDto))]
[JsonSerializable(typeof(CocoImageDto))]
[JsonSerializable(typeof(CocoCaptionDto))]
[JsonSerializable(typeof(string))]
public sealed partial class SourceJsonContext : JsonSerializerContext;
