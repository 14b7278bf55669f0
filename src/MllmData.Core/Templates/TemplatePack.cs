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

    /// <summary>System message of a prompt pack (rewrite, self-instruct); empty for instruction packs.</summary>
    public string System { get; init; } = string.Empty;

    /// <summary><c>instructions</c> (a pool of paraphrases) or <c>prompt</c> (model prompts, chosen by id).</summary>
    public string Kind { get; init; } = "instructions";

    /// <summary>Few-shot examples of a prompt pack: a context and the response a good model gives to it.</summary>
    public IReadOnlyList<FewShotExample> Examples { get; init; } = [];

    /// <summary>File the pack was loaded from.</summary>
    public string Path { get; init; } = string.Empty;
}

/// <summary>A hand-written example for few-shot prompting.</summary>
public sealed record FewShotExample(string Id, string Context, string Response);

/// <summary>One template: an id, text with <c>{name}</c> placeholders (<c>{{</c> and <c>}}</c> for braces), and tags.</summary>
public sealed partial record InstructionTemplate
{
    // Parsed once: literal text and placeholder names alternate, so rendering needs no regex.
    private readonly (string Text, bool IsSlot)[] _parts;
    private readonly string[] _names;

    public InstructionTemplate(string id, string text, IReadOnlyList<string> tags)
    {
        Id = id;
        Text = text;
        Tags = tags;
        var parts = new List<(string, bool)>();
        var names = new List<string>();
        var last = 0;
        var literal = new StringBuilder();
        foreach (Match m in PlaceholderRegex().Matches(text))
        {
            literal.Append(text, last, m.Index - last);
            if (m.Groups[1].Success)
            {
                if (literal.Length > 0)
                {
                    parts.Add((literal.ToString(), false));
                    literal.Clear();
                }

                parts.Add((m.Groups[1].Value, true));
                if (!names.Contains(m.Groups[1].Value))
                {
                    names.Add(m.Groups[1].Value);
                }
            }
            else
            {
                literal.Append(m.Value[0]);
            }

            last = m.Index + m.Length;
        }

        literal.Append(text, last, text.Length - last);
        if (literal.Length > 0)
        {
            parts.Add((literal.ToString(), false));
        }

        _parts = [.. parts];
        _names = [.. names];
    }

    public string Id { get; init; }

    public string Text { get; init; }

    public IReadOnlyList<string> Tags { get; init; }

    [GeneratedRegex(@"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex PlaceholderRegex();

    /// <summary>Names of the placeholders used in the text, in order of first use.</summary>
    public IReadOnlyList<string> PlaceholderNames() => _names;

    /// <summary>
    /// Fills placeholders from <paramref name="slots"/>. A line of the template whose placeholders are all unset
    /// (no key in <paramref name="slots"/>, e.g. a "Context: {context}" line for a problem without context) is
    /// left out; any other unset placeholder renders empty.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, string> slots) => Render(slots, null);

    /// <summary>
    /// The rendered text with <paramref name="suffix"/> on a line of its own after it (the suffix alone when the text is
    /// empty), made as one string; no suffix renders as <see cref="Render(IReadOnlyDictionary{string, string})"/>.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, string> slots, string? suffix)
    {
        if (_parts.Length == 1 && !_parts[0].IsSlot && suffix is null)
        {
            return _parts[0].Text;
        }

        var length = 0;
        foreach (var (part, isSlot) in _parts)
        {
            if (!isSlot)
            {
                length += part.Length;
            }
            else if (slots.TryGetValue(part, out var v))
            {
                length += v.Length;
            }
            else
            {
                return WithSuffix(WithoutUnsetLines(slots), suffix);
            }
        }

        // Once per rendered turn: the text is made in one string, with no builder.
        var total = suffix is null ? length : length == 0 ? suffix.Length : length + 1 + suffix.Length;
        return string.Create(total, (_parts, slots, suffix), static (span, state) =>
        {
            var at = 0;
            foreach (var (part, isSlot) in state._parts)
            {
                var text = isSlot ? state.slots[part] : part;
                text.AsSpan().CopyTo(span[at..]);
                at += text.Length;
            }

            if (state.suffix is { } end)
            {
                if (at > 0)
                {
                    span[at++] = '\n';
                }

                end.AsSpan().CopyTo(span[at..]);
            }
        });
    }

    private static string WithSuffix(string text, string? suffix) => suffix is null ? text : text.Length == 0 ? suffix : text + "\n" + suffix;

    private string WithoutUnsetLines(IReadOnlyDictionary<string, string> slots)
    {
        var kept = new List<string>();
        var line = new StringBuilder();
        bool hasSlot = false, hasSetSlot = false;
        foreach (var (part, isSlot) in _parts)
        {
            if (isSlot)
            {
                hasSlot = true;
                if (slots.TryGetValue(part, out var v))
                {
                    hasSetSlot = true;
                    line.Append(v);
                }

                // An unset placeholder on a line that is kept renders empty, as before.

                continue;
            }

            var pieces = part.Split('\n');
            for (var i = 0; i < pieces.Length; i++)
            {
                if (i > 0)
                {
                    if (!hasSlot || hasSetSlot)
                    {
                        kept.Add(line.ToString());
                    }

                    line.Clear();
                    hasSlot = hasSetSlot = false;
                }

                line.Append(pieces[i]);
            }
        }

        if (!hasSlot || hasSetSlot)
        {
            kept.Add(line.ToString());
        }

        return string.Join('\n', kept);
    }
}