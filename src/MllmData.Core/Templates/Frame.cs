using System.Text;
using System.Text.RegularExpressions;
using MllmData.Records;

namespace MllmData.Templates;

/// <summary>
/// A template for a whole flat record (the <c>template</c> format): a turn layout with the slots <c>{bos}</c>,
/// <c>{instruction}</c>, <c>{image}</c>, <c>{text}</c>, <c>{output}</c>, <c>{eos}</c> and, for in-context examples,
/// <c>{examples}</c> with a per-example layout and a separator. Frames are YAML files in <c>templates/frames/</c>.
/// </summary>
/// <remarks>
/// Empty slots leave no gaps: an empty slot takes the spaces directly before it; a line, or a block of lines between
/// blank lines, whose content slots are all empty is left out, unless it carries <c>{bos}</c> or <c>{eos}</c>.
/// </remarks>
public sealed class Frame
{
    /// <summary>Slots of a turn.</summary>
    public static readonly IReadOnlyList<string> TurnSlots = ["bos", "instruction", "image", "text", "output", "eos", "examples"];

    /// <summary>Slots of one in-context example (no <c>{bos}</c>/<c>{eos}</c>: the examples sit inside the query's span).</summary>
    public static readonly IReadOnlyList<string> ExampleSlots = ["instruction", "image", "text", "output"];

    public const string TemplatesAny = "any";
    public const string TemplatesInstructionOnly = "instruction-only";

    public required string Id { get; init; }

    public string Description { get; init; } = string.Empty;

    /// <summary>The layout of each turn (one BOS…EOS span per turn).</summary>
    public required FrameText Turn { get; init; }

    /// <summary>The layout of one in-context example; null for frames without examples.</summary>
    public FrameText? Example { get; init; }

    /// <summary>Between two turns of a multi-turn record.</summary>
    public string TurnSeparator { get; init; } = "\n";

    /// <summary>Between the image tokens of one <c>{image}</c> slot.</summary>
    public string ImageSeparator { get; init; } = " ";

    /// <summary>Between two in-context examples.</summary>
    public string ExampleSeparator { get; init; } = "\n";

    /// <summary>After the last in-context example, before the query.</summary>
    public string Separator { get; init; } = "\n";

    /// <summary>
    /// Which templates the engine picks: <c>instruction-only</c> (the question goes in <c>{text}</c>) or <c>any</c>;
    /// by default instruction-only when the turn has <c>{text}</c>.
    /// </summary>
    public string Templates { get; init; } = TemplatesAny;

    /// <summary>File the frame was loaded from; empty for built-in frames.</summary>
    public string Path { get; init; } = string.Empty;

    public bool InstructionOnly => Templates == TemplatesInstructionOnly;

    /// <summary>Whether the frame shows in-context examples.</summary>
    public bool TakesExamples => Turn.Slots.Contains("examples");

    /// <summary>The flat text of a record: each turn through <see cref="Turn"/>, examples and image tokens in the first turn.</summary>
    public string Render(InstructionRecord record, string bos, string eos, string imageToken)
    {
        var sb = new StringBuilder(256);
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["bos"] = bos, ["eos"] = eos };
        for (var i = 0; i < record.Turns.Count; i++)
        {
            var turn = record.Turns[i];
            if (i > 0)
            {
                sb.Append(TurnSeparator);
            }

            values["instruction"] = turn.Instruction ?? string.Empty;
            values["text"] = turn.Input ?? string.Empty;
            values["output"] = turn.Output ?? string.Empty;
            values["image"] = i == 0 ? Tokens(imageToken, record.Images.Count - record.ExampleImageCount) : string.Empty;
            values["examples"] = i == 0 ? Examples(record, imageToken) : string.Empty;
            Turn.RenderTo(sb, values);
        }

        return sb.ToString();
    }

    private string Examples(InstructionRecord record, string imageToken)
    {
        if (record.Examples.Count == 0 || Example is null)
        {
            return string.Empty;
        }

        var sb = new StringBuilder();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var k = 0; k < record.Examples.Count; k++)
        {
            var e = record.Examples[k];
            if (k > 0)
            {
                sb.Append(ExampleSeparator);
            }

            values["instruction"] = e.Instruction;
            values["text"] = e.Input ?? string.Empty;
            values["output"] = e.Output;
            values["image"] = Tokens(imageToken, e.ImageCount);
            Example.RenderTo(sb, values);
        }

        return sb.Append(Separator).ToString();
    }

    private string Tokens(string token, int count) =>
        count <= 0 ? string.Empty : string.Join(ImageSeparator, Enumerable.Repeat(token, count));
}

/// <summary>One layout of a frame: literal text and <c>{slot}</c>s (<c>{{</c> and <c>}}</c> for braces), parsed once.</summary>
public sealed partial class FrameText
{
    private static readonly HashSet<string> Structural = ["bos", "eos"];

    // Template lines; a blank template line separates blocks.
    private readonly List<(string Text, bool IsSlot)[]> _lines = [];

    public FrameText(string text)
    {
        Text = text;
        var slots = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            var parts = new List<(string, bool)>();
            var literal = new StringBuilder();
            var last = 0;
            foreach (Match m in SlotRegex().Matches(line))
            {
                literal.Append(line, last, m.Index - last);
                if (m.Groups[1].Success)
                {
                    if (literal.Length > 0)
                    {
                        parts.Add((literal.ToString(), false));
                        literal.Clear();
                    }

                    parts.Add((m.Groups[1].Value, true));
                    slots.Add(m.Groups[1].Value);
                }
                else
                {
                    literal.Append(m.Value[0]);
                }

                last = m.Index + m.Length;
            }

            literal.Append(line, last, line.Length - last);
            if (literal.Length > 0)
            {
                parts.Add((literal.ToString(), false));
            }

            _lines.Add([.. parts]);
        }

        Slots = slots;
    }

    public string Text { get; }

    /// <summary>The slots in order of use (repeats included).</summary>
    public IReadOnlyList<string> Slots { get; }

    [GeneratedRegex(@"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex SlotRegex();

    /// <summary>Writes the layout with the slot values, leaving out empty slots, lines and blocks as the frame rules say.</summary>
    public void RenderTo(StringBuilder sb, IReadOnlyDictionary<string, string> values)
    {
        var lines = new List<string>();
        var blank = 0;
        var leading = true;
        var i = 0;
        while (i < _lines.Count)
        {
            if (_lines[i].Length == 0)
            {
                blank++;
                i++;
                continue;
            }

            var end = i;
            while (end < _lines.Count && _lines[end].Length > 0)
            {
                end++;
            }

            // A block left out takes the blank lines before it along.
            if (!Dropped(_lines.GetRange(i, end - i).SelectMany(l => l), values))
            {
                if (lines.Count > 0 || leading)
                {
                    lines.AddRange(Enumerable.Repeat(string.Empty, blank));
                }

                for (var k = i; k < end; k++)
                {
                    if (!Dropped(_lines[k], values))
                    {
                        lines.Add(RenderLine(_lines[k], values));
                    }
                }
            }

            leading = false;
            blank = 0;
            i = end;
        }

        if (lines.Count > 0 || leading)
        {
            lines.AddRange(Enumerable.Repeat(string.Empty, blank));
        }

        sb.AppendJoin('\n', lines);
    }

    /// <summary>Whether a line or block is left out: it has content slots, all empty, and no BOS/EOS.</summary>
    private static bool Dropped(IEnumerable<(string Text, bool IsSlot)> parts, IReadOnlyDictionary<string, string> values)
    {
        var content = 0;
        foreach (var (text, isSlot) in parts)
        {
            if (!isSlot)
            {
                continue;
            }

            if (Structural.Contains(text))
            {
                return false;
            }

            content++;
            if (values.TryGetValue(text, out var v) && v.Length > 0)
            {
                return false;
            }
        }

        return content > 0;
    }

    private static string RenderLine((string Text, bool IsSlot)[] line, IReadOnlyDictionary<string, string> values)
    {
        var sb = new StringBuilder();
        var spacesBefore = 0;
        foreach (var (text, isSlot) in line)
        {
            if (!isSlot)
            {
                sb.Append(text);
                spacesBefore = text.Length - text.TrimEnd(' ').Length;
                continue;
            }

            var value = values.TryGetValue(text, out var v) ? v : string.Empty;

            // An empty slot takes the spaces of the text written directly before it, so no double space is left.
            sb.Length -= value.Length == 0 ? spacesBefore : 0;
            sb.Append(value);
            spacesBefore = 0;
        }

        return sb.ToString();
    }
}
