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
            RenderParts.WriteMessage(w, "user", RenderParts.WithImageTokens(turn.UserText, options.ImageToken, string.Empty, i == 0 ? record.Images.Count : 0));
            if (turn.Output is not null)
            {
                RenderParts.WriteMessage(w, "assistant", turn.Output);
            }
        }

        w.WriteEndArray();
        if (record.Images.Count > 0)
        {
            RenderParts.WriteImagePaths(w, "images", record.Images);
        }

        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }
}
