using System.Text;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Tests.Json;

/// <summary>
/// The read-ahead must be invisible: every value, position and error the direct reader gives, in its order, and a file's
/// failure where the direct reader meets it (after the values before it), whatever the batch boundaries.
/// </summary>
public class TheReadAhead
{
    private static StreamingJsonReader InArray(string json, string name, int buffer = 64)
    {
        var reader = new StreamingJsonReader(new MemoryStream(Encoding.UTF8.GetBytes(json)), "mem.json", buffer);
        Assert.True(reader.Read());
        Assert.True(reader.SeekProperty(name, 1));
        Assert.True(reader.Read());
        Assert.Equal(JsonTokenType.StartArray, reader.TokenType);
        return reader;
    }

    private static string Annotations(int count, Func<int, string>? entry = null, string after = "") =>
        "{\"annotations\": [" + string.Join(", ", Enumerable.Range(0, count).Select(entry ?? Entry)) + "]" + after + "}";

    private static string Entry(int i) =>
        $$"""{"question_id": {{i}}, "multiple_choice_answer": "a{{i % 7}}", "answers": [{"answer": "a{{i % 7}}", "answer_confidence": "yes", "answer_id": 1}], "answer_type": "other"}""";

    private static List<(string? Id, string? Mc, string? First, long Position, string? Error)> Direct(string json)
    {
        using var reader = InArray(json, "annotations");
        var all = new List<(string?, string?, string?, long, string?)>();
        while (reader.TryReadValue<VqaAnnotationDto>(RecordParsers.VqaAnnotation, out var v, out var pos, out var error))
        {
            all.Add((v?.QuestionId, v?.MultipleChoiceAnswer, v?.Answers?[0].Answer, pos, error));
        }

        reader.Drain();
        return all;
    }

    private static List<(string? Id, string? Mc, string? First, long Position, string? Error)> Ahead(string json)
    {
        using var reader = new ReadAhead<VqaAnnotationDto>(InArray(json, "annotations"), RecordParsers.VqaAnnotation);
        var all = new List<(string?, string?, string?, long, string?)>();
        while (reader.TryReadValue(out var v, out var pos, out var error))
        {
            all.Add((v?.QuestionId, v?.MultipleChoiceAnswer, v?.Answers?[0].Answer, pos, error));
        }

        reader.Drain();
        return all;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ReadAhead<VqaAnnotationDto>.BatchValues - 1)]
    [InlineData(ReadAhead<VqaAnnotationDto>.BatchValues)]
    [InlineData(ReadAhead<VqaAnnotationDto>.BatchValues + 1)]
    [InlineData((ReadAhead<VqaAnnotationDto>.BatchValues * ReadAhead<VqaAnnotationDto>.Batches * 3) + 5)]
    public void Should_Give_What_The_Direct_Reader_Gives_Across_Batch_Boundaries(int count)
    {
        // Every fifth entry is of the wrong shape (an error, not a value), so errors fall on and beside the boundaries.
        var json = Annotations(count, i => i % 5 == 3 ? $$"""{"question_id": {{i}}, "answers": "none"}""" : Entry(i));
        var direct = Direct(json);
        Assert.Equal(count, direct.Count);
        Assert.Equal(direct, Ahead(json));
        Assert.Equal(count / 5 + (count % 5 > 3 ? 1 : 0), direct.Count(d => d.Error is not null));
    }

    [Fact]
    public void Should_Fail_Where_The_File_Fails_After_Every_Value_Before_It()
    {
        var whole = Annotations(200);
        var cut = whole[..(whole.IndexOf("\"question_id\": 150,", StringComparison.Ordinal) + 20)];
        var seen = new List<string?>();
        using var reader = new ReadAhead<VqaAnnotationDto>(InArray(cut, "annotations"), RecordParsers.VqaAnnotation);
        var failure = Assert.Throws<InputDataException>(() =>
        {
            while (reader.TryReadValue(out var v, out _, out _))
            {
                seen.Add(v!.QuestionId);
            }
        });
        Assert.Equal("truncated-json", failure.Reason);
        Assert.Equal(Enumerable.Range(0, 150).Select(i => (string?)i.ToString(System.Globalization.CultureInfo.InvariantCulture)), seen);

        // The direct reader fails the same way at the same place.
        using var direct = InArray(cut, "annotations");
        var directFailure = Assert.Throws<InputDataException>(() =>
        {
            while (direct.TryReadValue<VqaAnnotationDto>(RecordParsers.VqaAnnotation, out _, out _, out _))
            {
            }
        });
        Assert.Equal((directFailure.Reason, directFailure.Position, directFailure.Detail), (failure.Reason, failure.Position, failure.Detail));
    }

    [Fact]
    public void Should_Keep_What_The_Drain_Finds_Until_The_Caller_Drains()
    {
        // A second copy of the list after it: the direct reader's drain refuses it; the read-ahead says so at Drain, not before.
        var json = Annotations(10, after: ", \"annotations\": []");
        using var reader = new ReadAhead<VqaAnnotationDto>(InArray(json, "annotations"), RecordParsers.VqaAnnotation);
        var values = 0;
        while (reader.TryReadValue(out _, out _, out _))
        {
            values++;
        }

        Assert.Equal(10, values);
        var drained = Assert.Throws<InputDataException>(reader.Drain);

        using var direct = InArray(json, "annotations");
        while (direct.TryReadValue<VqaAnnotationDto>(RecordParsers.VqaAnnotation, out _, out _, out _))
        {
        }

        var directDrained = Assert.Throws<InputDataException>(direct.Drain);
        Assert.Equal(directDrained.Detail, drained.Detail);
    }

    [Fact]
    public async Task Should_Stop_Its_Thread_When_Disposed_Before_The_End()
    {
        // Far more values than fit in flight: the reading thread is blocked handing them over when the consumer leaves.
        var stream = new MemoryStream(Encoding.UTF8.GetBytes(Annotations(20_000)));
        var inner = new StreamingJsonReader(stream, "mem.json", 256);
        Assert.True(inner.Read());
        Assert.True(inner.SeekProperty("annotations", 1));
        Assert.True(inner.Read());
        var reader = new ReadAhead<VqaAnnotationDto>(inner, RecordParsers.VqaAnnotation);
        Assert.True(reader.TryReadValue(out var first, out _, out _));
        Assert.Equal("0", first!.QuestionId);
        // Dispose stops the thread that waits to hand over a batch (it joins it: a thread left waiting would hang here).
        await Task.Run(reader.Dispose).WaitAsync(TimeSpan.FromMinutes(1));
        var at = stream.Position;
        Assert.True(at < stream.Length / 2, $"read {at} of {stream.Length} bytes for a consumer that took one value");
        reader.Dispose();
        Assert.Equal(at, stream.Position);
        Assert.Throws<ObjectDisposedException>(() => reader.TryReadValue(out _, out _, out _));
    }

    [Fact]
    public void Should_Give_Short_Strings_Equal_To_The_Readers_Own_And_Long_Or_Escaped_Ones_As_They_Are()
    {
        var json = """["yes", "yes", "caf\u00e9", "café", "a\nb", "", "0123456789012345678901234567890123456789", "yes"]""";
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes);
        Assert.True(reader.Read());
        var got = new List<string?>();
        while (reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            var expected = reader.GetString();
            var text = ShortStrings.Of(ref reader);
            Assert.Equal(expected, text);
            got.Add(text);
        }

        Assert.Equal(["yes", "yes", "café", "café", "a\nb", "", "0123456789012345678901234567890123456789", "yes"], got);
        Assert.Same(got[0], got[1]);
        Assert.Same(got[0], got[7]);
    }

}

/// <summary>A list held as one node in <c>meta.extra</c> must write, clone and read back as the JSON list of nodes it replaces.</summary>
public class TheExtraValues
{
    private static string Written(System.Text.Json.Nodes.JsonNode node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            new System.Text.Json.Nodes.JsonObject { ["answers"] = node }.WriteTo(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Should_Write_Clone_And_Read_As_The_List_Of_Nodes()
    {
        string?[] texts = ["yes", null, "say \"hi\"", "café ☕", "a\nb", "<image>", "\u2028", ""];
        var asNodes = new System.Text.Json.Nodes.JsonArray([.. texts.Select(t => (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(t))]);
        var asOne = ExtraValues.Texts([.. texts]);
        Assert.Equal(Written(asNodes.DeepClone()), Written(asOne));
        Assert.Equal(Written(asNodes.DeepClone()), Written(asOne.DeepClone()));
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(asNodes, asOne));

        string[] kept = ["yes", "say \"hi\"", "café ☕", "a\nb", "<image>", "\u2028", ""];
        Assert.Equal(kept, ExtraValues.TextsOf(asOne));
        Assert.Equal(kept, ExtraValues.TextsOf(asNodes));
        Assert.Null(ExtraValues.TextsOf(System.Text.Json.Nodes.JsonValue.Create("yes")));
        Assert.Null(ExtraValues.TextsOf(null));
    }
}
