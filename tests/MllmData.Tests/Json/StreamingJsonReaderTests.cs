using System.Text;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Tests.Json;

public class TheStreamingJsonReader
{
    private static StreamingJsonReader Over(string json, int buffer) =>
        new(new MemoryStream(Encoding.UTF8.GetBytes(json)), "mem.json", buffer);

    [Fact]
    public void Should_Read_Values_Larger_Than_Its_Buffer_And_Skip_Others_Streaming()
    {
        var longQuestion = new string('x', 5000);
        var json = $$"""{"info": {"big": [{{string.Join(",", Enumerable.Range(0, 2000))}}]}, "questions": [{"question_id": 1, "image_id": "7", "question": "{{longQuestion}}"}, {"question_id": "2", "image_id": 8, "question": "short"}]}""";
        using var reader = Over(json, 16);
        Assert.True(reader.Read());
        Assert.True(reader.SeekProperty("questions", 1));
        Assert.True(reader.Read());
        Assert.Equal(JsonTokenType.StartArray, reader.TokenType);

        Assert.True(reader.TryReadValue<VqaQuestionDto>(RecordParsers.VqaQuestion, out var first, out var pos1, out var err1));
        Assert.Null(err1);
        Assert.Equal("1", first!.QuestionId);
        Assert.Equal(5000, first.Question!.Length);
        Assert.Equal(json.IndexOf("{\"question_id\": 1", StringComparison.Ordinal), pos1);

        Assert.True(reader.TryReadValue<VqaQuestionDto>(RecordParsers.VqaQuestion, out var second, out _, out _));
        Assert.Equal(("2", "8", "short"), (second!.QuestionId, second.ImageId, second.Question));
        Assert.False(reader.TryReadValue<VqaQuestionDto>(RecordParsers.VqaQuestion, out _, out _, out _));
    }

    [Fact]
    public void Should_Report_A_Wrong_Shape_Without_Losing_Its_Place()
    {
        using var reader = Over("""[{"question_id": {"nested": true}}, {"question_id": 5, "image_id": 1, "question": "ok"}]""", 8);
        Assert.True(reader.Read());
        Assert.True(reader.TryReadValue<VqaQuestionDto>(RecordParsers.VqaQuestion, out _, out _, out var error));
        Assert.NotNull(error);
        Assert.True(reader.TryReadValue<VqaQuestionDto>(RecordParsers.VqaQuestion, out var ok, out _, out var none));
        Assert.Null(none);
        Assert.Equal("5", ok!.QuestionId);
    }

    [Fact]
    public void Should_Read_Integral_Float_Ids_As_Integers()
    {
        using var reader = Over("""[{"question_id": 9.0, "image_id": 12, "question": "q"}]""", 64);
        Assert.True(reader.Read());
        Assert.True(reader.TryReadValue<VqaQuestionDto>(RecordParsers.VqaQuestion, out var q, out _, out _));
        Assert.Equal("9", q!.QuestionId);
    }
}
