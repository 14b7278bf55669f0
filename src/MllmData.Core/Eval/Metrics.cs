using System.Text.RegularExpressions;
using MllmData.Adapters;

namespace MllmData.Eval;

/// <summary>VQA accuracy as the official evaluation computes it.</summary>
public static class VqaAccuracy
{
    /// <summary>
    /// With n reference answers, the average over the n leave-one-out subsets of min(matches / 3, 1), answers and
    /// prediction normalised as <see cref="VqaAnswers.Normalize"/> does (always, as LLaVA's TextVQA evaluator does;
    /// the official script skips it when all ten answers agree, which only matters for unnormalised predictions).
    /// A single reference answer is a plain normalised match.
    /// </summary>
    public static double Of(string prediction, IReadOnlyList<string> answers)
    {
        if (answers.Count == 0)
        {
            return 0;
        }

        var predicted = VqaAnswers.Normalize(prediction);
        var matches = answers.Select(a => VqaAnswers.Normalize(a) == predicted).ToList();
        if (answers.Count == 1)
        {
            return matches[0] ? 1 : 0;
        }

        var total = matches.Count(m => m);
        return matches.Sum(m => Math.Min((total - (m ? 1 : 0)) / 3.0, 1.0)) / answers.Count;
    }
}

/// <summary>The option letter a free-text reply chose.</summary>
public static partial class ChoiceLetter
{
    // The whole reply is a letter: "B", "B.", "(B)", "[B]", "B)".
    [GeneratedRegex(@"^[\(\[]?([A-Z])[\)\]]?[.:]?$")]
    private static partial Regex Alone();

    // "The answer is B", "Answer: (C)", "the correct option is D."
    [GeneratedRegex(@"(?i:answer(?:\s+is)?|option(?:\s+is)?|choice(?:\s+is)?)\s*[:\-]?\s*[\(\[]?([A-Z])(?![A-Za-z])")]
    private static partial Regex Announced();

    // A reply that opens with its letter: "B. food", "C) popsicle stick", "D: cigarette".
    [GeneratedRegex(@"^[\(\[]?([A-Z])[\)\].:](\s|$)")]
    private static partial Regex Leading();

    // A bracketed letter anywhere: "I think (C) fits".
    [GeneratedRegex(@"[\(\[]([A-Z])[\)\]]")]
    private static partial Regex Bracketed();

    /// <summary>
    /// The letter of the option the reply chose, or null. Tried in order: the reply is only a letter; "answer is X";
    /// the reply opens with "X." or "X)"; "(X)" anywhere; the reply is one option's text (normalised). Letters past
    /// the options are not a choice.
    /// </summary>
    public static string? Extract(string reply, IReadOnlyList<string>? choices)
    {
        var text = reply.Trim();
        var count = choices?.Count ?? Sample.MaxChoices;
        foreach (var pattern in new[] { Alone(), Announced(), Leading(), Bracketed() })
        {
            if (pattern.Match(text) is { Success: true } m && m.Groups[1].Value[0] - 'A' < count)
            {
                return m.Groups[1].Value;
            }
        }

        if (choices is not null)
        {
            var said = VqaAnswers.Normalize(text);
            var hits = choices.Select((c, i) => (c, i)).Where(x => VqaAnswers.Normalize(x.c) == said).ToList();
            if (hits.Count == 1)
            {
                return Sample.Letter(hits[0].i);
            }
        }

        return null;
    }
}

/// <summary>Yes/no replies as POPE-style evaluations read them.</summary>
public static partial class YesNo
{
    [GeneratedRegex(@"[a-z']+")]
    private static partial Regex Words();

    /// <summary>"yes", "no", or null: the first word when it is yes or no; else "no" when the reply says no or not; else "yes" when it says yes.</summary>
    public static string? Of(string reply)
    {
        var words = Words().Matches(reply.ToLowerInvariant()).Select(m => m.Value).ToList();
        if (words.Count == 0)
        {
            return null;
        }

        if (words[0] is "yes" or "no")
        {
            return words[0];
        }

        return words.Contains("no") || words.Contains("not") ? "no" : words.Contains("yes") ? "yes" : null;
    }

    /// <summary>The reference answer as yes or no: the most common normalised answer (first one on a tie), or null when it is neither.</summary>
    public static string? Reference(IReadOnlyList<string> answers)
    {
        var top = answers.Select(VqaAnswers.Normalize).GroupBy(a => a).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
        return top is "yes" or "no" ? top : null;
    }
}
