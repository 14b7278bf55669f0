using System.Globalization;
using MllmData.Inputs;

namespace MllmData.Adapters;

/// <summary>Everything an adapter needs for one source of a build.</summary>
public sealed class SourceContext
{
    public required string SourceName { get; init; }

    /// <summary>Input files by name (e.g. <c>questions</c>, <c>annotations</c>).</summary>
    public required IReadOnlyDictionary<string, string> Inputs { get; init; }

    /// <summary>Adapter options by name; values are strings as written in a recipe.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary>Field mapping of the generic csv/jsonl adapters: canonical field (image, question, answer, choices, id) to column.</summary>
    public IReadOnlyDictionary<string, string> Map { get; init; } = new Dictionary<string, string>();

    /// <summary>Folder that image paths are resolved under; null when images are not checked.</summary>
    public string? ImageRoot { get; init; }

    /// <summary>Opens input files; the pipeline passes one that hashes what is read for the manifest.</summary>
    public InputFiles Files { get; init; } = new();

    public ProgressCounter Progress { get; init; } = new();

    /// <summary>Whether provenance details (answer lists, other captions) will be written; adapters may skip building them.</summary>
    public bool IncludeDetail { get; init; } = true;

    /// <summary>The run seed, for adapters that make seeded choices of their own (e.g. coco-objects' random negatives).</summary>
    public long Seed { get; init; }

    public string? Input(string name) => Inputs.TryGetValue(name, out var v) ? v : null;

    public string RequireInput(string name) =>
        Input(name) ?? throw new UsageException($"source '{SourceName}' needs --input {name}=FILE");

    public string? Option(string name) => Options.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    public bool Flag(string name) => Option(name) is { } v && v is not ("false" or "0" or "no");

    public int IntOption(string name, int fallback)
    {
        var v = Option(name);
        if (v is null)
        {
            return fallback;
        }

        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new UsageException($"option {name} of source '{SourceName}' must be a positive integer, got '{v}'");
    }

    public string Choice(string name, string fallback, params string[] allowed)
    {
        var v = Option(name) ?? fallback;
        return allowed.Contains(v)
            ? v
            : throw new UsageException($"option {name} of source '{SourceName}' must be one of {string.Join(", ", allowed)}, got '{v}'");
    }
}
