namespace MllmData.Stats;

/// <summary>One exchange as stats sees it: the user-side text (placeholders out), the template that wrote it, and the answer.</summary>
public sealed record TurnView(string Instruction, string? Input, string? Answer, string? TemplateId);

/// <summary>An image of a record: its path or URL as written, and its size when the record's meta gives one.</summary>
public sealed record ImageView(string Path, int? Width, int? Height)
{
    /// <summary>The bytes, when the record carries them (embedded images).</summary>
    public byte[]? Bytes { get; init; }

    public string? MediaType { get; init; }
}

/// <summary>A built record as stats sees it, whatever its format.</summary>
public sealed record RecordView(string Id, string Source, string Task, IReadOnlyList<ImageView> Images, IReadOnlyList<TurnView> Turns)
{
    /// <summary>The record's answers were rewritten by a model (meta.rewrite).</summary>
    public bool Rewritten { get; init; }

    /// <summary>Whether the line could be read into turns (false for a format whose lines cannot be read back): its turn count is then unknown, not 0.</summary>
    public bool TurnsKnown { get; init; } = true;

    /// <summary>Whether the line carries a <c>meta</c> object: without it, its source, task, templates, image sizes and rewrite mark are unknown.</summary>
    public bool HasMeta { get; init; } = true;

    /// <summary>Whether the line's images could be read (false for a line no format recognises): its image count is then unknown, not 0.</summary>
    public bool ImagesKnown { get; init; } = true;
}
