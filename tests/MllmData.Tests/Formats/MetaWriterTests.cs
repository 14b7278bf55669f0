using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Tests.Formats;

/// <summary><c>meta.extra</c> is written byte for byte as <see cref="JsonNode.WriteTo"/> writes the object, whatever its values hold.</summary>
public class MetaWriterTests
{
    private static JsonObject Extra()
    {
        using var doc = JsonDocument.Parse("""{"s":"from a document \u00e9 \"q\"","n":3}""");
        return new JsonObject
        {
            ["answer_type"] = "yes/no",
            ["question_type"] = "what is the <man> & \"woman\" é 中 \ud83d\ude00",
            ["answers"] = MllmData.Json.ExtraValues.Texts(["no", null, "tree\n", "\u0007bell"]),
            ["none"] = null,
            ["number"] = 4.5,
            ["flag"] = true,
            ["char"] = JsonValue.Create('x'),
            ["element"] = JsonValue.Create(doc.RootElement.GetProperty("s").Clone()),
            ["element_number"] = JsonValue.Create(doc.RootElement.GetProperty("n").Clone()),
            ["nested"] = new JsonObject { ["a"] = new JsonArray(1, "two", null) },
            ["é key \"quoted\""] = "value",
        };
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Extra_Is_Written_As_The_Object_Writes_Itself(bool relaxed)
    {
        var encoder = relaxed ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default;
        var extra = Extra();
        var record = new InstructionRecord
        {
            Id = "r",
            Source = "s",
            Task = "vqa",
            Turns = [new Turn { Output = "a" }],
            Provenance = new Provenance { Adapter = "a", File = "f.json", Extra = extra },
        };
        for (var round = 0; round < 2; round++)
        {
            // Twice: the second time the names and values come from the thread's encoded cache.
            var buffer = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = encoder }))
            {
                w.WriteStartObject();
                MetaWriter.Write(record, w);
                w.WriteEndObject();
            }

            var expected = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(expected, new JsonWriterOptions { Encoder = encoder }))
            {
                extra.WriteTo(w);
            }

            var written = Encoding.UTF8.GetString(buffer.WrittenSpan);
            Assert.EndsWith("\"extra\":" + Encoding.UTF8.GetString(expected.WrittenSpan) + "}}", written, StringComparison.Ordinal);
        }
    }

    private static string Meta(InstructionRecord record, JavaScriptEncoder encoder)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = encoder }))
        {
            w.WriteStartObject();
            MetaWriter.Write(record, w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static InstructionRecord Record(Provenance provenance) => new()
    {
        Id = "r",
        Source = "s",
        Task = "vqa",
        Turns = [new Turn { Output = "a" }],
        Provenance = provenance,
    };

    public static TheoryData<bool, string?, string?, string?[]?> DetailCases => new()
    {
        { true, "yes/no", "is the", ["no", null, "a long answer of more than thirty-two characters", "tree\n", "\u0007bell", "é 中 \ud83d\ude00 <b>"] },
        { false, "yes/no", "what is the <man> & \"woman\" é 中 \ud83d\ude00 and more words", ["no", null, "a long answer of more than thirty-two characters", "<&>"] },
        { true, null, "what color", ["red"] },
        { false, "number", null, null },
        { true, null, null, [] },
        { false, "yes/no", null, [] },
        { false, null, null, null },
    };

    [Theory]
    [MemberData(nameof(DetailCases))]
    public void Details_Are_Written_As_The_Object_They_Stand_For(bool relaxed, string? answerType, string? questionType, string?[]? answers)
    {
        var encoder = relaxed ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default;
        var details = new MllmData.Adapters.VqaDetails(answerType, questionType, answers?.Select(a => new MllmData.Json.VqaAnswer(a, a)).ToList());
        var fromDetails = Record(new Provenance { Adapter = "vqav2", File = "q.json", Details = details });
        var fromObject = Record(new Provenance { Adapter = "vqav2", File = "q.json", Extra = details.ToObject() });
        var expectedMembers = (answerType is null ? 0 : 1) + (questionType is null ? 0 : 1) + (answers is { Length: > 0 } ? 1 : 0);
        Assert.Equal(expectedMembers, details.Count);
        Assert.Equal(expectedMembers, details.ToObject().Count);
        for (var round = 0; round < 2; round++)
        {
            // Twice: the second time the short values come from the thread's encoded cache.
            Assert.Equal(Meta(fromObject, encoder), Meta(fromDetails, encoder));
        }

        Assert.Equal(expectedMembers > 0, Meta(fromDetails, encoder).Contains("\"extra\":", StringComparison.Ordinal));

        // Read as an object, the details are that object, made afresh each time.
        Assert.Equal(details.ToObject().ToJsonString(), fromDetails.Provenance.Extra!.ToJsonString());
        Assert.NotSame(fromDetails.Provenance.Extra, fromDetails.Provenance.Extra);
        if (answers is { Length: > 0 })
        {
            Assert.Equal(answers.OfType<string>(), MllmData.Json.ExtraValues.TextsOf(fromDetails.Provenance.Extra!["answers"]));
        }
    }

    [Fact]
    public void An_Object_Set_On_Top_Of_Details_Is_What_Is_Written_And_Read()
    {
        var details = new MllmData.Adapters.VqaDetails("yes/no", "is the", [new("no", "no")]);
        var provenance = new Provenance { Adapter = "vqav2", File = "q.json", Details = details };
        var extra = details.ToObject();
        extra["constraints"] = new JsonArray("yes-no");
        var replaced = provenance with { Extra = extra };
        var written = Meta(Record(replaced), JavaScriptEncoder.Default);
        Assert.EndsWith("\"extra\":{\"answer_type\":\"yes/no\",\"question_type\":\"is the\",\"answers\":[\"no\"],\"constraints\":[\"yes-no\"]}}}", written, StringComparison.Ordinal);
        Assert.Same(extra, replaced.Extra);

        // An empty object set over details writes no extra at all, as an empty object always has.
        Assert.DoesNotContain("\"extra\"", Meta(Record(provenance with { Extra = [] }), JavaScriptEncoder.Default), StringComparison.Ordinal);
    }
}
