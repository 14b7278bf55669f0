using System.Text.Json;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>Writes a record's provenance as a <c>meta</c> object, the same way in every format.</summary>
public static class MetaWriter
{
    // Once per record: the names are encoded once, not transcoded and checked for escapes every time.
    private static readonly JsonEncodedText NMeta = JsonEncodedText.Encode("meta");
    private static readonly JsonEncodedText NSource = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText NTask = JsonEncodedText.Encode("task");
    private static readonly JsonEncodedText NAdapter = JsonEncodedText.Encode("adapter");
    private static readonly JsonEncodedText NFile = JsonEncodedText.Encode("file");
    private static readonly JsonEncodedText NIds = JsonEncodedText.Encode("ids");
    private static readonly JsonEncodedText NSeed = JsonEncodedText.Encode("seed");
    private static readonly JsonEncodedText NTemplates = JsonEncodedText.Encode("templates");
    private static readonly JsonEncodedText NRawAnswers = JsonEncodedText.Encode("raw_answers");
    private static readonly JsonEncodedText NImages = JsonEncodedText.Encode("images");
    private static readonly JsonEncodedText NPath = JsonEncodedText.Encode("path");
    private static readonly JsonEncodedText NWidth = JsonEncodedText.Encode("width");
    private static readonly JsonEncodedText NHeight = JsonEncodedText.Encode("height");
    private static readonly JsonEncodedText NFormat = JsonEncodedText.Encode("format");
    private static readonly JsonEncodedText NSha256 = JsonEncodedText.Encode("sha256");
    private static readonly JsonEncodedText NIcl = JsonEncodedText.Encode("icl");
    private static readonly JsonEncodedText NOrder = JsonEncodedText.Encode("order");
    private static readonly JsonEncodedText NExamples = JsonEncodedText.Encode("examples");
    private static readonly JsonEncodedText NExtra = JsonEncodedText.Encode("extra");

    public static void Write(InstructionRecord record, Utf8JsonWriter w)
    {
        var p = record.Provenance;
        w.WriteStartObject(NMeta);
        // The same few strings on every record of a source: written from their encoded bytes.
        Repeated(w, NSource, record.Source);
        Repeated(w, NTask, record.Task);
        Repeated(w, NAdapter, p.Adapter);
        Repeated(w, NFile, p.File);
        w.WriteStartObject(NIds);
        for (var k = 0; k < p.Ids.Count; k++)
        {
            w.WriteString(Json.EncodedNames.Of(p.Ids[k].Key, w), p.Ids[k].Value);
        }

        w.WriteEndObject();
        if (p.Seed is { } seed)
        {
            w.WriteNumber(NSeed, seed);
        }

        w.WriteStartArray(NTemplates);
        var turns = record.Turns;
        var anyRaw = false;
        for (var k = 0; k < turns.Count; k++)
        {
            if (turns[k].TemplateId is { } template)
            {
                w.WriteStringValue(Json.EncodedNames.Of(template, w));
            }
            else
            {
                w.WriteNullValue();
            }

            anyRaw |= turns[k].RawAnswer is not null;
        }

        w.WriteEndArray();
        if (anyRaw)
        {
            w.WriteStartArray(NRawAnswers);
            for (var k = 0; k < turns.Count; k++)
            {
                w.WriteStringValue(turns[k].RawAnswer);
            }

            w.WriteEndArray();
        }

        if (Described(record.Images))
        {
            w.WriteStartArray(NImages);
            foreach (var i in record.Images)
            {
                w.WriteStartObject();
                w.WriteString(NPath, i.Path);
                if (i.Width is { } width)
                {
                    w.WriteNumber(NWidth, width);
                }

                if (i.Height is { } height)
                {
                    w.WriteNumber(NHeight, height);
                }

                if (i.Format is { } format)
                {
                    w.WriteString(NFormat, format);
                }

                if (i.Sha256 is { } sha)
                {
                    w.WriteString(NSha256, sha);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (record.Examples.Count > 0)
        {
            // The in-context examples as placed (order matters to models), and how the order was chosen.
            w.WriteStartObject(NIcl);
            w.WriteString(NOrder, record.ExampleOrder);
            w.WriteStartArray(NExamples);
            foreach (var e in record.Examples)
            {
                w.WriteStringValue(e.Id);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        if (p.ExtraSet is null && p.Details is { Count: > 0 } details)
        {
            w.WritePropertyName(NExtra);
            w.WriteStartObject();
            details.WriteMembers(w);
            w.WriteEndObject();
        }
        else if (p.ExtraSet is { Count: > 0 } extra)
        {
            w.WritePropertyName(NExtra);
            Extra(w, extra);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// <c>meta.extra</c> as <see cref="System.Text.Json.Nodes.JsonNode.WriteTo"/> writes it, with its names and its short
    /// string values (answer and question types, answers, repeated across the dataset) written from their encoded bytes,
    /// and a list of texts held as one node (<see cref="Json.ExtraValues.Texts"/>) written item by item.
    /// </summary>
    private static void Extra(Utf8JsonWriter w, System.Text.Json.Nodes.JsonObject extra)
    {
        w.WriteStartObject();
        for (var i = 0; i < extra.Count; i++)
        {
            var (name, node) = extra.GetAt(i);
            w.WritePropertyName(Json.EncodedNames.Of(name, w));
            if (node is null)
            {
                w.WriteNullValue();
            }
            else if (node is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<string>(out var text))
            {
                Json.EncodedNames.WriteValue(w, text);
            }
            else if (node is System.Text.Json.Nodes.JsonValue list && list.TryGetValue<string?[]>(out var texts))
            {
                w.WriteStartArray();
                foreach (var t in texts)
                {
                    Json.EncodedNames.WriteValue(w, t);
                }

                w.WriteEndArray();
            }
            else
            {
                node.WriteTo(w);
            }
        }

        w.WriteEndObject();
    }

    /// <summary>A string member whose value recurs from record to record; null as null.</summary>
    private static void Repeated(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, Json.EncodedNames.Of(value, w));
        }
    }

    /// <summary>Whether any image has its size or hash known (then meta lists the images).</summary>
    private static bool Described(IReadOnlyList<ImageRef> images)
    {
        for (var k = 0; k < images.Count; k++)
        {
            if (images[k].Width is not null || images[k].Sha256 is not null)
            {
                return true;
            }
        }

        return false;
    }
}
