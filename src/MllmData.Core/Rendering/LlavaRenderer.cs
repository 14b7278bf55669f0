using System.Text;
using System.Text.Json;
using MllmData.Model;

namespace MllmData.Rendering;

/// <summary>
/// LLaVA conversation JSON: <c>{"id","image"?,"conversations":[{"from":"human"},{"from":"gpt"},...]}</c>.
/// One <c>&lt;image&gt;</c> line per image opens the first human turn; text-only records have neither.
/// </summary>
public sealed class LlavaRenderer(RenderOptions options) : IRecordRenderer
{
    public string Name => "llava";

    public void Render(InstructionRecord record, Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", record.Id);
        if (record.Images.Count == 1)
        {
            w.WriteString("image", record.Images[0].Path);
        }
        else if (record.Images.Count > 1)
        {
            w.WriteStartArray("image");
            foreach (var image in record.Images)
            {
                w.WriteStringValue(image.Path);
            }

            w.WriteEndArray();
        }

        w.WriteStartArray("conversations");
        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            var human = turn.UserText;
            if (i == 0 && record.Images.Count > 0)
            {
                var sb = new StringBuilder();
                for (var k = 0; k < record.Images.Count; k++)
                {
                    sb.Append(options.ImageToken).Append('\n');
                }

                human = sb.Append(human).ToString();
            }

            w.WriteStartObject();
            w.WriteString("from", "human");
            w.WriteString("value", human);
            w.WriteEndObject();
            if (turn.Output is not null)
            {
                w.WriteStartObject();
                w.WriteString("from", "gpt");
                w.WriteString("value", turn.Output);
                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }
}
