using System.Text.Json;
using MllmData.Model;

namespace MllmData.Rendering;

/// <summary>M3IT: <c>{"instruction","inputs","outputs","image_base64_str":[…]}</c>; single-turn records only.</summary>
public sealed class M3itRenderer(RenderOptions options) : IRecordRenderer
{
    public string Name => "m3it";

    public void Render(InstructionRecord record, Utf8JsonWriter w)
    {
        var turn = record.Turns[0];
        w.WriteStartObject();
        w.WriteString("instruction", turn.Instruction ?? string.Empty);
        w.WriteString("inputs", turn.Input ?? string.Empty);
        w.WriteString("outputs", turn.Output ?? string.Empty);
        w.WriteStartArray("image_base64_str");
        foreach (var image in record.Images)
        {
            w.WriteStringValue(Convert.ToBase64String(image.Bytes ?? throw new InvalidOperationException($"image {image.Path} was not loaded for embedding")));
        }

        w.WriteEndArray();
        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }
}
