using System.Globalization;
using System.Text.RegularExpressions;
using MllmData.Adapters;
using MllmData.Records;

namespace MllmData.Generation;

/// <summary>What the final-answer check of a rationale found: the reason it fails (null when it holds) and the answer line's answer.</summary>
public sealed record RationaleCheck(string? Reason, string? FinalAnswer);

/// <summary>Checks that a rewritten answer still says what the short answer said.</summary>
public static partial class RewriteCheck
{
    private static readonly HashSet<string> Negations = new(StringComparer.Ordinal)
    {
        "no", "not", "never", "none", "nobody", "nothing", "neither", "nor", "cannot", "without",
    };

    /// <summary>Words that say yes; a rewrite of a "no" holding one says both.</summary>
    private static readonly HashSet<string> Affirmations = new(StringComparer.Ordinal)
    {
        "yes", "yeah", "yep", "yup",
    };

    private static bool IsNegation(string word) => Negations.Contains(word) || word.EndsWith("n't", StringComparison.Ordinal);

    /// <summary>
    /// What in a model's text no dataset may hold, whatever the answer: a control character, an invisible character
    /// (zero-width, direction overrides), or a placeholder the trainer counts (<paramref name="tokens"/>: the image token
    /// and the format's media tags). Null when there is none.
    /// </summary>
    public static (string Reason, string Detail)? TextProblem(string text, IReadOnlyList<string> tokens)
    {
        if (Json.TextCheck.ControlAt(text) is { } at)
        {
            return (RejectReasons.ControlCharacters, string.Create(CultureInfo.InvariantCulture, $"holds the control character U+{(int)text[at]:X4}"));
        }

        foreach (var rune in text.EnumerateRunes())
        {
            if (Json.TextCheck.IsInvisible(rune) && rune.Value != 0x200D)
            {
                // The zero-width joiner is part of emoji sequences; the other invisible characters hide or reorder text.
                return ("rewrite-invisible-characters", string.Create(CultureInfo.InvariantCulture, $"holds the invisible character U+{rune.Value:X4}"));
            }
        }

        return tokens.FirstOrDefault(t => t.Length > 0 && text.Contains(t, StringComparison.Ordinal)) is { } token
            ? ("rewrite-literal-token", $"holds {token}, a placeholder the trainer counts against the record's media")
            : null;
    }

    /// <summary>Null when consistent; otherwise the reject reason.</summary>
    public static string? Check(string rawAnswer, string rewrite)
    {
        var answer = VqaAnswers.Normalize(rawAnswer);
        var words = VqaAnswers.Normalize(rewrite).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return "rewrite-empty";
        }

        var negated = words.Any(IsNegation);
        switch (answer)
        {
            case "yes":
                return negated ? "rewrite-polarity-flipped" : null;
            case "no":
                // A "no" must be said, and no "yes" beside it ("Yes, it isn't day" says both).
                return negated && !words.Any(Affirmations.Contains) ? null : "rewrite-polarity-flipped";
        }

        var number = double.TryParse(answer, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

        // Every word of the answer, in order, as whole words of the rewrite, at least once not denied by a negation
        // just before it ("not red", "no moon", "2 boxes, not 1").
        var needle = answer.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (needle.Length == 0)
        {
            return null;
        }

        var found = false;
        for (var i = 0; i + needle.Length <= words.Length; i++)
        {
            if (needle.SequenceEqual(words.Skip(i).Take(needle.Length)))
            {
                found = true;
                if (!(i >= 1 && IsNegation(words[i - 1])) && !(i >= 2 && IsNegation(words[i - 2]) && words[i - 1] is "a" or "an" or "the" or "any" or "one"))
                {
                    return null;
                }
            }
        }

        return !found ? (number ? "rewrite-number-missing" : "rewrite-answer-missing") : "rewrite-answer-negated";
    }

    /// <summary>The answer line of a rationale: "Answer: X" or "Final answer: X", any case, markdown emphasis ignored.</summary>
    [GeneratedRegex(@"^(?:final\s+)?answer\s*:\s*(.*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnswerLine();

    /// <summary>
    /// The final-answer rule of <c>rewrite --prompt rationale</c>: the reply's last non-empty line, with <c>*</c> removed and
    /// trimmed, must read <c>Answer: X</c> (or <c>Final answer: X</c>, any case) with X not empty, else
    /// <see cref="RejectReasons.RationaleNoFinalAnswer"/>; X after VQA normalisation must equal the raw answer after VQA
    /// normalisation, else <see cref="RejectReasons.RationaleAnswerMismatch"/>; and some reasoning must come before that
    /// line, else <see cref="RejectReasons.RationaleNoReasoning"/>.
    /// </summary>
    public static RationaleCheck CheckRationale(string rawAnswer, string rationale)
    {
        var lines = rationale.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var last = lines.Count > 0 ? lines[^1].Replace("*", string.Empty, StringComparison.Ordinal).Trim() : string.Empty;
        var match = AnswerLine().Match(last);
        if (!match.Success || VqaAnswers.Normalize(match.Groups[1].Value).Length == 0)
        {
            return new RationaleCheck(RejectReasons.RationaleNoFinalAnswer, null);
        }

        var final = match.Groups[1].Value.Trim();
        if (VqaAnswers.Normalize(final) != VqaAnswers.Normalize(rawAnswer))
        {
            return new RationaleCheck(RejectReasons.RationaleAnswerMismatch, final);
        }

        return new RationaleCheck(lines.Count > 1 ? null : RejectReasons.RationaleNoReasoning, final);
    }
}
