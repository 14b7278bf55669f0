using System.Text;
using System.Text.Json;
using MllmData.Model;

namespace MllmData.Rendering;

/// <summary>
/// LLaMA-Factory's ShareGPT form: <c>{"messages":[{"role":"user","content":"&lt;image&gt;…"},{"role":"assistant",…}],"images":[…]}</c>,
/// one <c>&lt;image&gt;</c> per image at the start of the first user message. <c>swift</c> (ms-swift) shares the shape.
/// </summary>
public sealed class ShareGptRenderer(RenderOptions options, string name = "sharegpt") : IRecordRenderer
{
    public string Name => name;

    public void Render(InstructionRecord record, Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("messages");
        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            var text = turn.UserText;
            if (i == 0 && record.Images.Count > 0)
            {
                var sb = new StringBuilder();
                for (var k = 0; k < record.Images.Count; k++)
                {
                    sb.Append(options.ImageToken);
                }

                text = sb.Append(text).ToString();
            }

            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteString("content", text);
            w.WriteEndObject();
            if (turn.Output is not null)
            {
                w.WriteStartObject();
                w.WriteString("role", "assistant");
                w.WriteString("content", turn.Output);
                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
        if (record.Images.Count > 0)
        {
            w.WriteStartArray("images");
            foreach (var image in record.Images)
            {
                w.WriteStringValue(image.Path);
            }

            w.WriteEndArray();
        }

        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }
}
