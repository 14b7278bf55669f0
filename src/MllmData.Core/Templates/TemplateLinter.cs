using System.Text;
using MllmData.Json;

namespace MllmData.Templates;

/// <summary>A problem found in a template pack.</summary>
public sealed record LintFinding(string Pack, string TemplateId, string Code, string Message);

/// <summary>Finds empty, duplicate and near-identical templates, and placeholders the pack does not declare.</summary>
public static class TemplateLinter
{
    /// <summary>Normalised-text similarity at or above which two templates count as near-identical.</summary>
    public const double NearIdenticalThreshold = 0.9;

    /// <summary>Fewest templates a pack should offer (the brief asks for 10 to 50 paraphrases per task).</summary>
    public const int MinimumTemplates = 10;

    public static IReadOnlyList<LintFinding> Lint(TemplatePack pack)
    {
        var findings = new List<LintFinding>();
        var all = pack.Templates.Concat(pack.Suffixes).ToList();
        if (pack.Kind == "prompt" && TextCheck.IsBlank(pack.System))
        {
            findings.Add(new(pack.Id, "-", "empty", "a prompt pack needs a system message"));
        }
        foreach (var e in pack.Examples.Where(e => TextCheck.IsBlank(e.Context) || TextCheck.IsBlank(e.Response)))
        {
            findings.Add(new(pack.Id, e.Id, "empty", "a few-shot example needs a context and a response"));
        }

        foreach (var dup in all.GroupBy(t => t.Id).Where(g => g.Count() > 1))
        {
            findings.Add(new(pack.Id, dup.Key, "duplicate-id", $"id used {dup.Count()} times"));
        }

        // Prompt packs hold a few model prompts chosen by id, not a pool of paraphrases.
        if (pack.Kind != "prompt" && pack.Templates.Count < MinimumTemplates)
        {
            findings.Add(new(pack.Id, "-", "too-few", $"{pack.Templates.Count} templates; at least {MinimumTemplates} are needed for variety"));
        }

        if (pack.DefaultSuffix is { } ds && pack.Suffixes.All(s => s.Id != ds))
        {
            findings.Add(new(pack.Id, ds, "unknown-suffix", "default_suffix names no suffix of the pack"));
        }

        var normalised = new List<(InstructionTemplate T, string N)>();
        foreach (var t in all)
        {
            if (TextCheck.IsBlank(t.Text))
            {
                findings.Add(new(pack.Id, t.Id, "empty", "template text is empty"));
                continue;
            }

            foreach (var name in t.PlaceholderNames().Where(n => !pack.Placeholders.Contains(n)))
            {
                findings.Add(new(pack.Id, t.Id, "unknown-placeholder", $"{{{name}}} is not among the pack's placeholders ({string.Join(", ", pack.Placeholders)})"));
            }

            if (Unbalanced(t.Text))
            {
                findings.Add(new(pack.Id, t.Id, "stray-brace", "a single { or } that is not a placeholder; write {{ or }}"));
            }

            normalised.Add((t, Normalise(t.Text)));
        }

        for (var i = 0; i < normalised.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                var (a, na) = normalised[j];
                var (b, nb) = normalised[i];
                if (na == nb)
                {
                    findings.Add(new(pack.Id, b.Id, "duplicate", $"same text as {a.Id}"));
                }
                else if (Similarity(na, nb) >= NearIdenticalThreshold)
                {
                    findings.Add(new(pack.Id, b.Id, "near-identical", $"differs from {a.Id} only slightly"));
                }
            }
        }

        return findings;
    }

    private static bool Unbalanced(string text)
    {
        var stripped = text.Replace("{{", string.Empty, StringComparison.Ordinal).Replace("}}", string.Empty, StringComparison.Ordinal);
        var depth = 0;
        foreach (var c in stripped)
        {
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (depth is < 0 or > 1)
            {
                return true;
            }
        }

        return depth != 0;
    }

    /// <summary>Lower case, letters, digits and single spaces only.</summary>
    public static string Normalise(string text)
    {
        var sb = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '{' or '}')
            {
                if (space && sb.Length > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(c);
                space = false;
            }
            else
            {
                space = true;
            }
        }

        return sb.ToString();
    }

    /// <summary>1 - (Levenshtein distance / longer length), on characters.</summary>
    public static double Similarity(string a, string b)
    {
        if (a.Length == 0 && b.Length == 0)
        {
            return 1;
        }

        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }

            (prev, cur) = (cur, prev);
        }

        return 1.0 - ((double)prev[b.Length] / Math.Max(a.Length, b.Length));
    }
}
