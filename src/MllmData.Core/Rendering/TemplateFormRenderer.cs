using System.Text;
using System.Text.Json;
using MllmData.Model;

namespace MllmData.Rendering;

/// <summary>
/// The survey's flat form: <c>{"id","text":"&lt;BOS&gt; instruction &lt;image&gt; text output &lt;EOS&gt;","images":[...]}</c>.
/// Each turn is one BOS…EOS span; image tokens go in the first turn only.
/// </summary>
public sealed class TemplateFormRenderer(RenderOptions options) : IRecordRenderer
{
    public string Name => "template";

    public void Render(InstructionRecord record, Utf8JsonWriter w)
    {
        var text = new StringBuilder();
        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            if (i > 0)
            {
                text.Append('\n');
            }

            text.Append(options.Bos);
            Part(text, turn.Instruction);
            if (i == 0)
            {
                for (var k = 0; k < record.Images.Count; k++)
                {
                    Part(text, options.ImageToken);
                }
            }

            Part(text, turn.Input);
            Part(text, turn.Output);
            Part(text, options.Eos);
        }

        w.WriteStartObject();
        w.WriteString("id", record.Id);
        w.WriteString("text", text.ToString());
        RenderParts.WriteImagePaths(w, "images", record.Images);
        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }

    private static void Part(StringBuilder sb, string? part)
    {
        if (!string.IsNullOrEmpty(part))
        {
            sb.Append(' ').Append(part);
        }
    }
}
