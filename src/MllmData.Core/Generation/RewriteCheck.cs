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

    /// <summary>Null when consistent; otherwise the reject reason.</summary>
    public static string? Check(string rawAnswer, string rewrite)
    {
        var answer = VqaAnswers.Normalize(rawAnswer);
        var words = VqaAnswers.Normalize(rewrite).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return "rewrite-empty";
        }

        var negated = words.Any(w => Negations.Contains(w) || w.EndsWith("n't", StringComparison.Ordinal));
        switch (answer)
        {
            case "yes":
                return negated ? "rewrite-polarity-flipped" : null;
            case "no":
                return negated ? null : "rewrite-polarity-flipped";
        }

        if (double.TryParse(answer, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            return words.Contains(answer) ? null : "rewrite-number-missing";
        }

        // Every word of the answer, in order, as whole words of the rewrite.
        var needle = answer.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (needle.Length == 0)
        {
            return null;
        }

        for (var i = 0; i + needle.Length <= words.Length; i++)
        {
            if (needle.SequenceEqual(words.Skip(i).Take(needle.Length)))
            {
                return null;
            }
        }

        return "rewrite-answer-missing";
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
