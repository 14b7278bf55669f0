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
}
