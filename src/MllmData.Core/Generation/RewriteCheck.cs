using System.Globalization;
using MllmData.Adapters;

namespace MllmData.Generation;

/// <summary>Checks that a rewritten answer still says what the short answer said.</summary>
public static class RewriteCheck
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
}
