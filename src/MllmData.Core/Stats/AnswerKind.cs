using System.Text.RegularExpressions;

namespace MllmData.Stats;

/// <summary>What an answer is, for the balance figures: yes, no, a number, an option letter, or other.</summary>
public static partial class AnswerKind
{
    public const string Yes = "yes";
    public const string No = "no";
    public const string Number = "number";
    public const string Letter = "letter";
    public const string Other = "other";

    public static readonly IReadOnlyList<string> All = [Yes, No, Number, Letter, Other];

    private static readonly HashSet<string> NumberWords = new(StringComparer.Ordinal)
    {
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    };

    /// <summary>
    /// The answer as compared: trimmed, lower-cased (invariant), one trailing '.' or '!' taken off, inner whitespace runs
    /// made one space, cut at 200 characters.
    /// </summary>
    public static string Normalize(string answer)
    {
        var s = Spaces().Replace(answer.Trim(), " ").ToLowerInvariant();
        if (s.Length > 0 && s[^1] is '.' or '!')
        {
            s = s[..^1].TrimEnd();
        }

        return s.Length > 200 ? s[..200] : s;
    }

    /// <summary>
    /// yes/no: the normalised answer is exactly "yes" or "no"; number: digits (with an optional sign, decimal point or
    /// thousands commas) or an English number word zero to twenty; letter: one letter A-Z, optionally in parentheses or
    /// followed by ')' ("B", "(b)", "c)"); anything else is other.
    /// </summary>
    public static string Of(string answer)
    {
        var s = Normalize(answer);
        return s switch
        {
            "yes" => Yes,
            "no" => No,
            _ when NumberWords.Contains(s) || Digits().IsMatch(s) => Number,
            _ when Letter1().IsMatch(s) => Letter,
            _ => Other,
        };
    }

    /// <summary>Words of an answer: runs of non-whitespace.</summary>
    public static int Words(string answer) => answer.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")]
    private static partial Regex Digits();

    [GeneratedRegex(@"^(\([a-z]\)|[a-z]\)?)$")]
    private static partial Regex Letter1();
}
