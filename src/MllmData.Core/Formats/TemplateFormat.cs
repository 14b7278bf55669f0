using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Output;
using MllmData.Records;
using MllmData.Templates;

namespace MllmData.Formats;

/// <summary>
/// The survey's flat form: <c>{"id","text":"&lt;BOS&gt; instruction &lt;image&gt; text output &lt;EOS&gt;","images":[...]}</c>.
/// The layout is a frame (<c>--frame</c>, default <c>plain</c>): each turn is one BOS…EOS span; image tokens (and
/// in-context examples) go in the first turn only. The flat text cannot be split back
/// into instruction, input and output, so these lines are not read back.
/// </summary>
public sealed class TemplateFormat : IOutputFormat
{
    public string Name => "template";

    public string Description => "the survey's flat form: {id, text: \"<BOS> instruction <image> text output <EOS>\", images}";

    public string Consumer => "any trainer that tokenises a flat text with special tokens";

    public FormatCapabilities Capabilities { get; } = new() { MetaByDefault = true, Readable = false, Containers = ["jsonl", "parquet"], InContextExamples = true };

    public void Render(InstructionRecord record, Utf8JsonWriter w, RenderOptions options)
    {
        var frame = options.Frame ?? FrameLibrary.BuiltInPlain;
        w.WriteStartObject();
        w.WriteString("id", record.Id);
        w.WriteString("text", frame.Render(record, options.Bos, options.Eos, options.ImageToken));
        RenderParts.WriteImagePaths(w, "images", record.Images);
        if (options.IncludeMeta)
        {
            MetaWriter.Write(record, w);
        }

        w.WriteEndObject();
    }

    /// <summary>The paths of the line's <c>images</c> list: its text is not read back, but its images are counted.</summary>
    public IReadOnlyList<string> Images(JsonObject line) =>
        line["images"] is JsonArray a ? [.. a.Select(x => x is JsonValue v && v.TryGetValue<string>(out var path) ? path : null).OfType<string>()] : [];

    /// <summary>id, text, the images' paths (or embedded images), meta as JSON text.</summary>
    public IReadOnlyList<PqColumn> ParquetColumns { get; } = [new PqString("id"), new PqString("text"), new PqImages("images"), new PqJson("meta")];

    public IFormatValidator CreateValidator(RenderOptions options) => new TemplateFormValidator(options.Bos, options.Eos, options.ImageToken);
}

/// <summary>Flat template form: BOS and EOS balanced and in order, one image token per image.</summary>
internal sealed class TemplateFormValidator(string bos = "<BOS>", string eos = "<EOS>", string imageToken = "<image>") : IFormatValidator
{
    public void Validate(JsonElement record, List<Finding> findings)
    {
        if (!record.TryGetProperty("text", out var t) || t.ValueKind == JsonValueKind.Null)
        {
            findings.Add(new(FindingCodes.MissingField, "no \"text\" string"));
            return;
        }

        // Present but of another kind: wrong-type, as the adapters code it, not a field left out.
        if (t.ValueKind != JsonValueKind.String)
        {
            findings.Add(new(FindingCodes.WrongType, $"\"text\" is {t.ValueKind}, expected a string"));
            return;
        }

        var text = t.GetString()!;
        var depth = 0;
        var spans = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (string.CompareOrdinal(text, i, bos, 0, bos.Length) == 0)
            {
                depth++;
                spans++;
            }
            else if (string.CompareOrdinal(text, i, eos, 0, eos.Length) == 0)
            {
                depth--;
            }

            if (depth is < 0 or > 1)
            {
                findings.Add(new(FindingCodes.UnbalancedTokens, $"{bos}/{eos} out of order at character {i}"));
                return;
            }
        }

        if (depth != 0 || spans == 0)
        {
            findings.Add(new(FindingCodes.UnbalancedTokens, spans == 0 ? $"no {bos}" : $"{bos} without {eos}"));
        }

        var images = ValidationHelpers.ImageCount(record, "images", findings);
        var placeholders = ValidationHelpers.Count(text, imageToken);
        if (images != placeholders)
        {
            findings.Add(new(FindingCodes.PlaceholderMismatch, $"{placeholders} {imageToken} tokens for {images} images"));
        }
    }
}
