using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Output;
using MllmData.Records;
using MllmData.Json;

namespace MllmData.Formats;

/// <summary>
/// M3IT: <c>{"instruction","inputs","outputs","image_base64_str":[…]}</c>, as M3IT's own records: the task
/// instruction in <c>instruction</c>, the sample's question (and options) in <c>inputs</c>; single-turn records only.
/// </summary>
public sealed class M3itFormat : IOutputFormat
{
    public string Name => "m3it";

    public string Description => "M3IT: {instruction, inputs, outputs, image_base64_str:[...]}, single-turn";

    public string Consumer => "M3IT (MMInstruction/M3IT) loaders";

    public FormatCapabilities Capabilities { get; } = new()
    {
        MultiTurn = false,
        Images = ImageCarriage.Embedded,
        SeparateInput = true,
        Containers = ["jsonl", "parquet"],
    };

    /// <summary>
    /// M3IT's own keys; <c>image_base64_str</c> is a list of the images' bytes in a binary column (read back as the base64
    /// strings M3IT's loaders decode), and meta is JSON text.
    /// </summary>
    public IReadOnlyList<PqColumn> ParquetColumns { get; } =
        [new PqString("instruction"), new PqString("inputs"), new PqString("outputs"), new PqList("image_base64_str", new PqBase64("element")), new PqJson("meta")];

    public void Render(InstructionRecord record, Utf8JsonWriter w, RenderOptions options)
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

    public IFormatValidator CreateValidator(RenderOptions options) => new M3itValidator();

    public bool Recognizes(JsonElement line) =>
        line.TryGetProperty("instruction", out _) && line.TryGetProperty("outputs", out _) && line.TryGetProperty("image_base64_str", out _);

    public InstructionRecord Read(JsonElement line, LineOrigin origin, RenderOptions options)
    {
        var images = line.GetProperty("image_base64_str").EnumerateArray()
            .Select(e => "data:" + (ImageMedia.Sniff(Convert.FromBase64String(e.GetString()!)) ?? "image/jpeg") + ";base64," + e.GetString())
            .ToList();
        var inputs = line.GetProperty("inputs").GetString();
        var output = line.GetProperty("outputs").GetString();
        var turn = new Turn
        {
            Instruction = line.GetProperty("instruction").GetString(),
            Input = string.IsNullOrEmpty(inputs) ? null : inputs,
            Output = output,
            RawAnswer = output,
        };
        return ReadBack.Record(string.Create(CultureInfo.InvariantCulture, $"line{origin.Line}"), origin, images, null, [turn]);
    }

    public IReadOnlyList<Exchange> Exchanges(JsonObject line, ExchangeOptions options)
    {
        if (line["outputs"] is not JsonValue output)
        {
            return [];
        }

        var question = string.Join("\n", new[] { (string?)line["instruction"], (string?)line["inputs"] }.Where(s => !string.IsNullOrEmpty(s)));
        return [new Exchange(ReadBack.Question(question, options), (string)output!, v => line["outputs"] = v)
        {
            EditQuestionLines = edit =>
            {
                foreach (var key in new[] { "instruction", "inputs" })
                {
                    if (line[key] is JsonValue v && v.TryGetValue<string>(out var text))
                    {
                        line[key] = ReadBack.EditLines(text, edit);
                    }
                }
            },
        }];
    }

    public IReadOnlyList<string> Images(JsonObject line) =>
        line["image_base64_str"] is JsonArray b ? [.. b.Select(x => "data:image/jpeg;base64," + (string)x!)] : [];
}

/// <summary>M3IT: instruction, inputs and outputs strings present; every image_base64_str entry decodes to an image.</summary>
internal sealed class M3itValidator : IFormatValidator
{
    private static readonly string[] Fields = ["instruction", "inputs", "outputs"];

    public void Validate(JsonElement record, List<Finding> findings)
    {
        foreach (var field in Fields)
        {
            if (!record.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
            {
                findings.Add(new(FindingCodes.MissingField, $"no \"{field}\" string"));
                return;
            }

            // Present but of another kind: wrong-type, as the adapters code it, not a field left out.
            if (v.ValueKind != JsonValueKind.String)
            {
                findings.Add(new(FindingCodes.WrongType, $"\"{field}\" is {v.ValueKind}, expected a string"));
                return;
            }
        }

        if (TextCheck.IsBlank(record.GetProperty("outputs").GetString()))
        {
            findings.Add(new(FindingCodes.EmptyContent, "\"outputs\" is empty"));
        }

        if (!ValidationHelpers.TryArray(record, "image_base64_str", findings, out var images))
        {
            return;
        }

        var i = 0;
        foreach (var image in images.EnumerateArray())
        {
            if (image.ValueKind != JsonValueKind.String)
            {
                findings.Add(new(FindingCodes.WrongType, $"image {i} is {image.ValueKind}, expected a base64 string"));
                return;
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(image.GetString()!);
            }
            catch (FormatException)
            {
                findings.Add(new(FindingCodes.BadBase64, $"image {i} is not valid base64"));
                return;
            }

            if (ImageMedia.Sniff(bytes) is null)
            {
                findings.Add(new(FindingCodes.BadImageType, $"image {i} decodes to no known image type"));
                return;
            }

            i++;
        }
    }
}
