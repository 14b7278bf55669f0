using System.Text.RegularExpressions;

namespace MllmData.Generation;

/// <summary>Turns a model's free-form output into question/answer turns, tolerating the shapes real models produce.</summary>
public static partial class GenerationParser
{
    // "Question:", "Q1:", "**Q:**", "1. Question:", "User:", "Human:" ... and "Answer:", "A:", "Assistant:", "GPT:", "AI:".
    [GeneratedRegex(@"^\s*(?:[-*]\s*)?(?:\d+\s*[.)]\s*)?(?:\*\*|__)?\s*(?<label>question|q|user|human|answer|a|assistant|gpt|ai)\s*(?<n>\d+)?\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*(?<rest>.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex Label();

    /// <summary>Alternating question/answer turns; null when the text has none or they do not alternate.</summary>
    public static IReadOnlyList<(string Question, string Answer)>? Turns(string text)
    {
        var blocks = new List<(bool IsQuestion, List<string> Lines)>();
        foreach (var raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var m = Label().Match(raw);
            if (m.Success)
            {
                var label = m.Groups["label"].Value.ToLowerInvariant();
                var isQuestion = label is "question" or "q" or "user" or "human";
                blocks.Add((isQuestion, [m.Groups["rest"].Value.Trim()]));
            }
            else if (blocks.Count > 0)
            {
                // Text before the first label is a preamble and is dropped; later text continues the block.
                blocks[^1].Lines.Add(raw.Trim());
            }
        }

        if (blocks.Count < 2)
        {
            return null;
        }

        // A closing remark after a blank line at the very end ("Let me know if...") is not part of the last answer.
        var last = blocks[^1].Lines;
        var blank = last.FindLastIndex(l => l.Length == 0);
        if (blank > 0 && last.Skip(blank + 1).Any(l => l.Length > 0) && last.Skip(blank + 1).Sum(l => l.Split(' ').Length) < 20)
        {
            last.RemoveRange(blank, last.Count - blank);
        }

        var turns = new List<(string, string)>();
        for (var i = 0; i < blocks.Count; i += 2)
        {
            if (i + 1 >= blocks.Count || !blocks[i].IsQuestion || blocks[i + 1].IsQuestion)
            {
                return null;
            }

            var q = Join(blocks[i].Lines);
            var a = Join(blocks[i + 1].Lines);
            if (q.Length == 0 || a.Length == 0)
            {
                return null;
            }

            turns.Add((q, a));
        }

        return turns;
    }

    /// <summary>A description: the text without a leading "Here is..." line or markdown heading.</summary>
    public static string? Description(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && (lines[0].Length == 0 || lines[0].StartsWith('#') || (lines[0].EndsWith(':') && lines[0].Split(' ').Length <= 12)))
        {
            lines.RemoveAt(0);
        }

        var result = Join(lines);
        return result.Length == 0 ? null : result;
    }

    private static string Join(List<string> lines)
    {
        // Paragraphs stay paragraphs; lines within one are joined with spaces.
        var paragraphs = new List<string>();
        var current = new List<string>();
        foreach (var l in lines)
        {
            if (l.Length == 0)
            {
                if (current.Count > 0)
                {
                    paragraphs.Add(string.Join(' ', current));
                    current.Clear();
                }
            }
            else
            {
                current.Add(l.Trim('*', '_').Trim());
            }
        }

        if (current.Count > 0)
        {
            paragraphs.Add(string.Join(' ', current));
        }

        return string.Join("\n\n", paragraphs).Trim();
    }
}
