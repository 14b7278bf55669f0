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
            RenderParts.WriteImagePaths(w, "image", record.Images);
        }

        w.WriteStartArray("conversations");
        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            var human = RenderParts.WithImageTokens(turn.UserText, options.ImageToken, "\n", i == 0 ? record.Images.Count : 0);
            RenderParts.WriteMessage(w, "human", human, "from", "value");
            if (turn.Output is not null)
            {
                RenderParts.WriteMessage(w, "gpt", turn.Output, "from", "value");
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
