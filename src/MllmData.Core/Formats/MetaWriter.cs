using System.Text.Json;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>Writes a record's provenance as a <c>meta</c> object, the same way in every format.</summary>
public static class MetaWriter
{
    public static void Write(InstructionRecord record, Utf8JsonWriter w)
    {
        var p = record.Provenance;
        w.WriteStartObject("meta");
        w.WriteString("source", record.Source);
        w.WriteString("task", record.Task);
        w.WriteString("adapter", p.Adapter);
        w.WriteString("file", p.File);
        w.WriteStartObject("ids");
        foreach (var (k, v) in p.Ids)
        {
            w.WriteString(k, v);
        }

        w.WriteEndObject();
        if (p.Seed is { } seed)
        {
            w.WriteNumber("seed", seed);
        }

        w.WriteStartArray("templates");
        foreach (var t in record.Turns)
        {
            w.WriteStringValue(t.TemplateId);
        }

        w.WriteEndArray();
        if (record.Turns.Any(t => t.RawAnswer is not null))
        {
            w.WriteStartArray("raw_answers");
            foreach (var t in record.Turns)
            {
                w.WriteStringValue(t.RawAnswer);
            }

            w.WriteEndArray();
        }

        if (record.Images.Any(i => i.Width is not null || i.Sha256 is not null))
        {
            w.WriteStartArray("images");
            foreach (var i in record.Images)
            {
                w.WriteStartObject();
                w.WriteString("path", i.Path);
                if (i.Width is { } width)
                {
                    w.WriteNumber("width", width);
                }

                if (i.Height is { } height)
                {
                    w.WriteNumber("height", height);
                }

                if (i.Format is { } format)
                {
                    w.WriteString("format", format);
                }

                if (i.Sha256 is { } sha)
                {
                    w.WriteString("sha256", sha);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (record.Examples.Count > 0)
        {
            // The in-context examples as placed (order matters to models), and how the order was chosen.
            w.WriteStartObject("icl");
            w.WriteString("order", record.ExampleOrder);
            w.WriteStartArray("examples");
            foreach (var e in record.Examples)
            {
                w.WriteStringValue(e.Id);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        if (p.Extra is { Count: > 0 } extra)
        {
            w.WritePropertyName("extra");
            extra.WriteTo(w);
        }

        w.WriteEndObject();
    }
}
