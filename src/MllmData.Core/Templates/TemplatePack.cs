using System.Text;
using System.Text.RegularExpressions;

namespace MllmData.Templates;

/// <summary>A set of paraphrased instructions for one task, with optional response-format suffixes.</summary>
public sealed record TemplatePack
{
    public required string Id { get; init; }

    public required string Task { get; init; }

    public string Description { get; init; } = string.Empty;

    /// <summary>Placeholders a template of this pack may use, e.g. <c>question</c>.</summary>
    public IReadOnlyList<string> Placeholders { get; init; } = [];

    public required IReadOnlyList<InstructionTemplate> Templates { get; init; }

    public IReadOnlyList<InstructionTemplate> Suffixes { get; init; } = [];

    /// <summary>The suffix used when the recipe says <c>default</c>; null for none.</summary>
    public string? DefaultSuffix { get; init; }

    /// <summary>File the pack was loaded from.</summary>
    public string Path { get; init; } = string.Empty;
}

/// <summary>One template: an id, text with <c>{name}</c> placeholders (<c>{{</c> and <c>}}</c> for braces), and tags.</summary>
public sealed partial record InstructionTemplate(string Id, string Text, IReadOnlyList<string> Tags)
{
    [GeneratedRegex(@"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex PlaceholderRegex();

    /// <summary>Names of the placeholders used in the text, in order of first use.</summary>
    public IReadOnlyList<string> PlaceholderNames()
    {
        var names = new List<string>();
        foreach (Match m in PlaceholderRegex().Matches(Text))
        {
            if (m.Groups[1].Success && !names.Contains(m.Groups[1].Value))
            {
                names.Add(m.Groups[1].Value);
            }
        }

        return names;
    }

    /// <summary>Fills placeholders from <paramref name="slots"/>; a placeholder without a value renders empty.</summary>
    public string Render(IReadOnlyDictionary<string, string> slots)
    {
        var sb = new StringBuilder(Text.Length + 64);
        var last = 0;
        foreach (Match m in PlaceholderRegex().Matches(Text))
        {
            sb.Append(Text, last, m.Index - last);
            sb.Append(m.Value switch
            {
                "{{" => "{",
                "}}" => "}",
                _ => slots.TryGetValue(m.Groups[1].Value, out var v) ? v : string.Empty,
            });
            last = m.Index + m.Length;
        }

        return sb.Append(Text, last, Text.Length - last).ToString();
    }
}
