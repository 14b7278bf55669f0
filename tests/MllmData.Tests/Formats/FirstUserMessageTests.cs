using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Tests.Formats;

/// <summary>
/// The first user message written in pieces (placeholders, then the text, into one JSON string) is byte for byte the
/// message written from the joined text, under both encoders the tool writes with, whatever the text holds.
/// </summary>
public class TheFirstUserMessage
{
    private static readonly string[] Texts =
    [
        "What is it?", "", "quote \" and backslash \\", "line\nbreak\ttab", "\u0001\u001f control", "<script>&'", "é ü 日本",
        "pair 😀 at the end 😀", "😀", "\ud83d", "lone \udc00 low", "<image>", "\u2028\u2029",
    ];

    private static InstructionRecord Record(int images) => new()
    {
        Id = "r",
        Source = "s",
        Task = "vqa",
        Images = [.. Enumerable.Range(0, images).Select(i => new ImageRef($"{i}.jpg"))],
        Turns = [new Turn { Instruction = "x", Output = "y" }],
        Provenance = new Provenance { Adapter = "a", File = "f" },
    };

    private static string Json(JavaScriptEncoder? encoder, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = encoder }))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static TheoryData<int, bool> Cases => new() { { 0, true }, { 1, true }, { 3, true }, { 0, false }, { 1, false }, { 2, false } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pieces_Write_What_The_Joined_Text_Writes(int images, bool relaxed)
    {
        var encoder = relaxed ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : null;
        var record = Record(images);
        foreach (var text in Texts)
        {
            foreach (var (token, separator) in new[] { ("<image>", "\n"), ("<img>", ""), ("\ud83d", "\ude00") })
            {
                var joined = Json(encoder, w => RenderParts.WriteMessage(w, "human", RenderParts.FirstUserText(record, text, token, separator), "from", "value"));
                var pieces = Json(encoder, w => RenderParts.WriteFirstUserMessage(w, record, text, token, separator, "human", "from", "value"));
                Assert.Equal(joined, pieces);
            }
        }
    }
}
