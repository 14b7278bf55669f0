using MllmData.Adapters;

namespace MllmData.Rendering;

/// <summary>The one place where output formats are registered.</summary>
public static class RendererRegistry
{
    public static IReadOnlyList<string> Names { get; } = ["llava", "sharegpt", "swift", "openai", "template", "m3it"];

    public static IRecordRenderer Create(string name, RenderOptions options) => name switch
    {
        "llava" => new LlavaRenderer(options),
        "sharegpt" => new ShareGptRenderer(options),
        "swift" => new ShareGptRenderer(options, "swift"),
        "openai" => new OpenAiChatRenderer(options, options.ImageUrlPrefix),
        "template" => new TemplateFormRenderer(options),
        "m3it" => new M3itRenderer(options),
        _ => throw new UsageException($"unknown format '{name}'; known: {string.Join(", ", Names)}"),
    };

    /// <summary>Formats whose records carry the image bytes.</summary>
    public static bool EmbedsImages(string name, RenderOptions options) =>
        name == "m3it" || (name == "openai" && options.ImageUrlPrefix is null);

    /// <summary>Whether the meta object is written by default: yes where trainers ignore unknown keys per record.</summary>
    public static bool MetaByDefault(string name) => name is "llava" or "template";
}
