using MllmData.Adapters;

namespace MllmData.Rendering;

/// <summary>The one place where output formats are registered.</summary>
public static class RendererRegistry
{
    public static IReadOnlyList<string> Names { get; } = ["llava", "template"];

    public static IRecordRenderer Create(string name, RenderOptions options) => name switch
    {
        "llava" => new LlavaRenderer(options),
        "template" => new TemplateFormRenderer(options),
        _ => throw new UsageException($"unknown format '{name}'; known: {string.Join(", ", Names)}"),
    };
}
