using MllmData.Records;

namespace MllmData.Formats;

/// <summary>The checks every format makes from its capabilities before it renders a record.</summary>
public static class FormatRules
{
    public const string UnsupportedShape = RejectReasons.Unsupported;
    public const string UnsupportedSystem = "unsupported-system";
    public const string TooManyImages = FindingCodes.TooManyImages;

    /// <summary>Why the record does not fit the format's capabilities, or null when it fits.</summary>
    public static (string Reason, string Detail)? Refuse(IOutputFormat format, InstructionRecord record, RenderOptions options)
    {
        var c = format.Capabilities;
        if (!c.MultiTurn && record.Turns.Count > 1)
        {
            return (UnsupportedShape, $"{format.Name} holds single-turn records; this one has {record.Turns.Count} turns (build without --group-by-image)");
        }

        if (!c.InContextExamples && record.Examples.Count > 0)
        {
            return (UnsupportedShape, $"{format.Name} has no place for in-context examples; this record has {record.Examples.Count}");
        }

        if (!c.ToolUse && record.Tools.Count > 0)
        {
            return (UnsupportedShape, $"{format.Name} has no place for tool calls; this is a tool-use record");
        }

        if (!c.MultiImage && record.Images.Count > 1)
        {
            return (UnsupportedShape, $"{format.Name} holds one image per record; this one has {record.Images.Count}");
        }

        if (c.MaxImages is { } max && record.Images.Count > max)
        {
            return (TooManyImages, $"{record.Images.Count} images; {format.Name} takes at most {max} per record");
        }

        if (!c.TextOnly && record.Images.Count == 0)
        {
            return (UnsupportedShape, $"{format.Name} needs an image in every record; this one has none");
        }

        if (!c.SystemMessage && record.System is { Length: > 0 })
        {
            return (UnsupportedSystem, $"{format.Name} has no system message; the record carries one");
        }

        return null;
    }
}
