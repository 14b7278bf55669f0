using System.Text;
using System.Text.RegularExpressions;

namespace MllmData.Adapters;

/// <summary>The VQA evaluation's answer normalisation, and majority voting over normalised answers.</summary>
public static partial class VqaAnswers
{
    private const string Punctuation = ";/[]\"{}()=+\\_->@`,?!<";

    private static readonly Dictionary<string, string> NumberWords = new(StringComparer.Ordinal)
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4",
        ["five"] = "5", ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    private static readonly HashSet<string> Articles = new(StringComparer.Ordinal) { "a", "an", "the" };

    // Apostrophe-less spellings that annotators typed, mapped to the contracted form the evaluation uses.
    private static readonly Dictionary<string, string> Contractions = new(StringComparer.Ordinal)
    {
        ["aint"] = "ain't", ["arent"] = "aren't", ["cant"] = "can't", ["couldve"] = "could've", ["couldnt"] = "couldn't",
        ["didnt"] = "didn't", ["doesnt"] = "doesn't", ["dont"] = "don't", ["hadnt"] = "hadn't", ["hasnt"] = "hasn't",
        ["havent"] = "haven't", ["hed"] = "he'd", ["hes"] = "he's", ["howd"] = "how'd", ["howll"] = "how'll",
        ["hows"] = "how's", ["Im"] = "I'm", ["Ive"] = "I've", ["isnt"] = "isn't", ["itd"] = "it'd", ["itll"] = "it'll",
        ["lets"] = "let's", ["maam"] = "ma'am", ["mightnt"] = "mightn't", ["mightve"] = "might've", ["mustnt"] = "mustn't",
        ["mustve"] = "must've", ["neednt"] = "needn't", ["notve"] = "not've", ["oclock"] = "o'clock", ["shant"] = "shan't",
        ["shed"] = "she'd", ["shes"] = "she's", ["shouldve"] = "should've", ["shouldnt"] = "shouldn't",
        ["somebodyd"] = "somebody'd", ["somebodys"] = "somebody's", ["someoned"] = "someone'd", ["someones"] = "someone's",
        ["somethingd"] = "something'd", ["somethings"] = "something's", ["thered"] = "there'd", ["therere"] = "there're",
        ["theres"] = "there's", ["theyd"] = "they'd", ["theyll"] = "they'll", ["theyre"] = "they're", ["theyve"] = "they've",
        ["twas"] = "'twas", ["wasnt"] = "wasn't", ["wed"] = "we'd", ["weve"] = "we've", ["werent"] = "weren't",
        ["whatll"] = "what'll", ["whatre"] = "what're", ["whats"] = "what's", ["whatve"] = "what've", ["whens"] = "when's",
        ["whered"] = "where'd", ["wheres"] = "where's", ["whereve"] = "where've", ["whod"] = "who'd", ["wholl"] = "who'll",
        ["whos"] = "who's", ["whove"] = "who've", ["whyll"] = "why'll", ["whyre"] = "why're", ["whys"] = "why's",
        ["wont"] = "won't", ["wouldve"] = "would've", ["wouldnt"] = "wouldn't", ["yall"] = "y'all", ["youd"] = "you'd",
        ["youll"] = "you'll", ["youre"] = "you're", ["youve"] = "you've",
    };

    [GeneratedRegex(@"(\d)(,)(\d)")]
    private static partial Regex DigitComma();

    [GeneratedRegex(@"\.(?!\d)")]
    private static partial Regex BarePeriod();

    /// <summary>Normalises an answer the way the VQA evaluation compares answers.</summary>
    public static string Normalize(string answer)
    {
        var text = answer.Replace('\n', ' ').Replace('\t', ' ').Trim();
        var sb = new StringBuilder(text);
        foreach (var p in Punctuation)
        {
            var s = sb.ToString();
            if (s.IndexOf(p, StringComparison.Ordinal) < 0)
            {
                continue;
            }

            // Punctuation next to a space, or inside a number such as 1,000, disappears; elsewhere it splits words.
            // (A period goes unless a digit follows it, as in the official evaluation, so "1." is "1" and 3.5 stays.)
            var glued = s.Contains(p + " ", StringComparison.Ordinal) || s.Contains(" " + p, StringComparison.Ordinal) || DigitComma().IsMatch(s);
            sb.Clear().Append(s.Replace(p.ToString(), glued ? string.Empty : " ", StringComparison.Ordinal));
        }

        text = BarePeriod().Replace(sb.ToString(), string.Empty);
        var words = new List<string>();
        foreach (var raw in text.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var w = NumberWords.TryGetValue(raw, out var digit) ? digit : raw;
            if (Articles.Contains(w))
            {
                continue;
            }

            words.Add(Contractions.TryGetValue(w, out var c) ? c : w);
        }

        return string.Join(' ', words);
    }

    /// <summary>
    /// The most frequent normalised answer; ties go to the answer that appears first, so the vote is deterministic.
    /// Returns null when there is no non-empty answer.
    /// </summary>
    public static string? MajorityVote(IEnumerable<string?> answers)
    {
        var counts = new Dictionary<string, (int Count, int First)>(StringComparer.Ordinal);
        var i = 0;
        foreach (var a in answers)
        {
            if (string.IsNullOrWhiteSpace(a))
            {
                continue;
            }

            var n = Normalize(a);
            if (n.Length == 0)
            {
                continue;
            }

            counts[n] = counts.TryGetValue(n, out var c) ? (c.Count + 1, c.First) : (1, i);
            i++;
        }

        return counts.Count == 0
            ? null
            : counts.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Value.First).First().Key;
    }
}
