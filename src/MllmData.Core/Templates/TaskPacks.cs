namespace MllmData.Templates;

/// <summary>The template pack each task uses when a source names none.</summary>
public static class TaskPacks
{
    private static readonly Dictionary<string, string> Defaults = new(StringComparer.Ordinal)
    {
        ["vqa"] = "vqa-short",
        ["vqa-long"] = "vqa-long",
        ["vqa-ocr"] = "vqa-ocr",
        ["multiple-choice"] = "multiple-choice",
        ["scienceqa"] = "scienceqa",
        ["caption"] = "caption-brief",
        ["text"] = "text",
        ["object-existence"] = "object-existence",
        ["region-caption"] = "region-caption",
        ["grounding"] = "grounding",
        ["grounding-all"] = "grounding-all",
    };

    public static string? For(string task) => Defaults.TryGetValue(task, out var pack) ? pack : null;
}
