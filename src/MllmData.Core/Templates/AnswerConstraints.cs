using System.Globalization;
using System.Text.RegularExpressions;

namespace MllmData.Templates;

/// <summary>
/// Answer-format constraints ("Answer yes or no.", "Answer with a number.", ...): the five types, a classifier of an
/// answer's type, and the check that a text obeys a constraint. The same check judges written answers at build time
/// (<c>constraint-violated</c>) and a model's predictions (<c>score --metric constraints</c>).
/// </summary>
public static partial class AnswerConstraints
{
    public const string YesNo = "yes-no";
    public const string Number = "number";
    public const string SingleWord = "single-word";
    public const string Letter = "letter";
    public const string Sentence = "sentence";

    /// <summary>The constraint types, as template tags and as written in meta and answers.jsonl.</summary>
    public static readonly IReadOnlyList<string> Types = [YesNo, Number, SingleWord, Letter, Sentence];

    /// <summary>The pack the constraint suffixes come from when the source's pack has none tagged with the type.</summary>
    public const string PackId = "constraints";

    /// <summary>Most words a "single word or short phrase" answer may have.</summary>
    public const int PhraseMaxWords = 3;

    /// <summary>Fewest words of a sentence answer (which also ends in ., ! or ?).</summary>
    public const int SentenceMinWords = 4;

    private static readonly HashSet<string> NumberWords = new(StringComparer.Ordinal)
    {
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
        "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty",
        "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion",
    };

    // 12, -3, 4.5, 1,000, 1,234.56, .5
    [GeneratedRegex(@"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")]
    private static partial Regex Numeral();

    // "B", "B.", "(B)", "[B]", "B)", "B:"
    [GeneratedRegex(@"^[\(\[]?([A-Z])[\)\]]?[.:]?$")]
    private static partial Regex LetterAlone();

    // "A. text" lines of an {options} block.
    [GeneratedRegex(@"^[A-Z]\. ", RegexOptions.Multiline)]
    private static partial Regex OptionLine();

    private static readonly string[] ClassifyOrder = [Letter, YesNo, Number, SingleWord, Sentence];

    /// <summary>The constraint tag of a template or suffix (one of <see cref="Types"/>), or null.</summary>
    public static string? TagOf(InstructionTemplate template)
    {
        // Once per rendered turn: a plain loop, no delegate made.
        var tags = template.Tags;
        for (var i = 0; i < tags.Count; i++)
        {
            if (Types.Contains(tags[i]))
            {
                return tags[i];
            }
        }

        return null;
    }

    /// <summary>How many lettered options an <c>{options}</c> slot holds (0 without one).</summary>
    public static int OptionCount(IReadOnlyDictionary<string, string> slots) =>
        slots.TryGetValue("options", out var options) ? OptionLine().Count(options) : 0;

    /// <summary>
    /// The type of an answer, in this order: <c>letter</c> (only when the question has options, a letter among them),
    /// <c>yes-no</c>, <c>number</c> (numerals or number words: "3", "1,000", "twenty-five"), <c>single-word</c> (a word
    /// or a phrase of at most <see cref="PhraseMaxWords"/> words), <c>sentence</c> (at least <see cref="SentenceMinWords"/>
    /// words ending in ., ! or ?); null for anything else (a long fragment without an end mark), which no constraint fits.
    /// </summary>
    public static string? Classify(string answer, int optionCount = 0)
    {
        foreach (var type in ClassifyOrder)
        {
            if ((type != Letter || optionCount > 0) && Satisfies(type, answer, optionCount))
            {
                return type;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="text"/> obeys the constraint; optionCount bounds the letters of <c>letter</c> (0 = A to Z).</summary>
    public static bool Satisfies(string type, string text, int optionCount = 0)
    {
        var t = text.Trim();
        if (t.Length == 0)
        {
            return false;
        }

        switch (type)
        {
            case Letter:
                return LetterAlone().Match(t) is { Success: true } m && m.Groups[1].Value[0] - 'A' < (optionCount > 0 ? optionCount : 26);
            case YesNo:
                return StripEnd(t).ToLowerInvariant() is "yes" or "no";
            case Number:
                return IsNumber(StripEnd(t));
            case SingleWord:
                var words = Words(StripEnd(t));
                return words.Length is >= 1 and <= PhraseMaxWords && !words.Any(w => w.Length > 0 && w[^1] is '.' or '!' or '?' or ';' or ':');
            case Sentence:
                return Words(t).Length >= SentenceMinWords && t.TrimEnd('"', '\'', ')', '\u201d')[^1] is '.' or '!' or '?';
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, $"constraint types are {string.Join(", ", Types)}");
        }
    }

    /// <summary>A numeral (<c>3</c>, <c>-2.5</c>, <c>1,000</c>) or number words (<c>seven</c>, <c>twenty-five</c>, <c>one hundred and five</c>).</summary>
    public static bool IsNumber(string text)
    {
        var t = text.Trim();
        if (t.Length == 0)
        {
            return false;
        }

        if (t.Any(char.IsAsciiDigit))
        {
            return Numeral().IsMatch(t) && double.TryParse(t.Replace(",", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        }

        var parts = t.ToLowerInvariant().Split([' ', '-'], StringSplitOptions.RemoveEmptyEntries);
        return parts.Length > 0
            && NumberWords.Contains(parts[0])
            && NumberWords.Contains(parts[^1])
            && parts.All(p => NumberWords.Contains(p) || p == "and");
    }

    private static string[] Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The text without one end mark (".", "!", "?"): "Yes." is a yes, "3." a number.</summary>
    private static string StripEnd(string t) => t.Length > 1 && t[^1] is '.' or '!' or '?' ? t[..^1].TrimEnd() : t;
}
