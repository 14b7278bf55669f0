
namespace MllmData.Formats;

/// <summary>The one place where output formats are registered.</summary>
public static class FormatRegistry
{
    public static IReadOnlyList<IOutputFormat> All { get; } =
    [
        new LlavaFormat(),
        new ShareGptFormat(),
        new SwiftFormat(),
        new OpenAiFormat(),
        new TemplateFormat(),
        new M3itFormat(),
    ];

    public static IReadOnlyList<string> Names { get; } = [.. All.Select(f => f.Name)];

    /// <summary>"llava, sharegpt, ... or m3it", for help texts.</summary>
    public static string NameList { get; } = string.Join(", ", Names.Take(Names.Count - 1)) + " or " + Names[^1];

    public static IOutputFormat Get(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new UsageException($"unknown format '{name}'; known: {string.Join(", ", Names)}");

    /// <summary>The first readable format that recognises the line, or null.</summary>
    public static IOutputFormat? Detect(System.Text.Json.JsonElement line) =>
        All.FirstOrDefault(f => f.Capabilities.Readable && f.Recognizes(line));
}
