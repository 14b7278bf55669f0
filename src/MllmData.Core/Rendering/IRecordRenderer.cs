using System.Text.Json;
using MllmData.Model;

namespace MllmData.Rendering;

/// <summary>Writes a canonical record as one JSON line in a trainer's format.</summary>
public interface IRecordRenderer
{
    /// <summary>The name used with <c>--format</c>.</summary>
    string Name { get; }

    void Render(InstructionRecord record, Utf8JsonWriter w);
}

/// <summary>Settings shared by renderers.</summary>
public sealed record RenderOptions
{
    public string Bos { get; init; } = "<BOS>";

    public string Eos { get; init; } = "<EOS>";

    public string ImageToken { get; init; } = "<image>";

    /// <summary>Write a <c>meta</c> object with provenance beside the format's own keys.</summary>
    public bool IncludeMeta { get; init; } = true;

    /// <summary>Optional system message (openai format).</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>openai: images as URLs under this prefix instead of embedded data URLs.</summary>
    public string? ImageUrlPrefix { get; init; }
}
