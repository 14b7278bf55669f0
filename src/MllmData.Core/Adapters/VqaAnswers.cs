using System.Text;
using System.Text.RegularExpressions;
using MllmData.Json;

namespace MllmData.Adapters;

/// <summary>The VQA evaluation's answer normalisation, and a majority vote that counts normalised answers but returns a raw one.</summary>
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
    /// Majority vote over annotator answers that returns what an annotator wrote, never the matching key.
    /// </summary>
    /// <remarks>
    /// <para>Answers are counted in classes: two answers are one class when their <see cref="Normalize"/> keys are
    /// equal (the VQA evaluation's idea of "the same answer"). An answer whose key is empty ("a", "the", "?") is
    /// still a vote: it forms a class of its own, keyed by its trimmed, lower-cased text. Only blank answers are
    /// skipped.</para>
    /// <para>Winner: the class with the most votes; among classes tied on votes, the class whose first vote comes
    /// earliest in the annotator list. Output: the trimmed raw string given most often inside the winning class;
    /// ties go to the string that appears first. So "the speaking eye" stays "the speaking eye", and "one penny"
    /// beats "1 penny" when more annotators typed it.</para>
    /// </remarks>
    /// <returns>The chosen raw answer, or null when every answer is blank.</returns>
    public static string? MajorityVote(IEnumerable<string?> answers) =>
        MajorityVote(answers.Select(a => new AnnotatorAnswer(a, a)));

    /// <summary>
    /// The vote of <see cref="MajorityVote(IEnumerable{string})"/> where the text that is counted and the text that is
    /// written may differ: OK-VQA's <c>answer</c> is a processed (stemmed) form and <c>raw_answer</c> what was typed.
    /// The class comes from <see cref="AnnotatorAnswer.Answer"/> (else the raw text); the output is
    /// <see cref="AnnotatorAnswer.Raw"/> (else the answer).
    /// </summary>
    public static string? MajorityVote(IEnumerable<AnnotatorAnswer> answers)
    {
        var classes = new Dictionary<string, VoteClass>(StringComparer.Ordinal);
        var position = 0;
        foreach (var a in answers)
        {
            var written = !TextCheck.IsBlank(a.Raw) ? a.Raw.Trim() : !TextCheck.IsBlank(a.Answer) ? a.Answer.Trim() : null;
            if (written is null)
            {
                continue;
            }

            var key = ClassKey(TextCheck.IsBlank(a.Answer) ? written : a.Answer);
            if (!classes.TryGetValue(key, out var c))
            {
                classes[key] = c = new VoteClass(position);
            }

            c.Add(written, position);
            position++;
        }

        VoteClass? best = null;
        foreach (var c in classes.Values)
        {
            if (best is null || c.Votes > best.Votes || (c.Votes == best.Votes && c.First < best.First))
            {
                best = c;
            }
        }

        return best?.MostWritten();
    }

    /// <summary>The class an answer is counted in: its normalised key, or for an answer that normalises to nothing its own lower-cased text.</summary>
    private static string ClassKey(string answer)
    {
        var key = Normalize(answer);

        // A control character keeps these keys apart from every normalised key.
        return key.Length > 0 ? key : "" + answer.Trim().ToLowerInvariant();
    }

    /// <summary>The votes of one answer class and how often each raw string was written.</summary>
    private sealed class VoteClass(int first)
    {
        private readonly Dictionary<string, (int Count, int First)> _written = new(StringComparer.Ordinal);

        public int First { get; } = first;

        public int Votes { get; private set; }

        public void Add(string written, int position)
        {
            Votes++;
            _written[written] = _written.TryGetValue(written, out var w) ? (w.Count + 1, w.First) : (1, position);
        }

        public string MostWritten()
        {
            var best = default(KeyValuePair<string, (int Count, int First)>);
            foreach (var kv in _written)
            {
                if (best.Key is null || kv.Value.Count > best.Value.Count || (kv.Value.Count == best.Value.Count && kv.Value.First < best.Value.First))
                {
                    best = kv;
                }
            }

            return best.Key;
        }
    }
}

/// <summary>One annotator's answer: the text votes are counted on, and the text as the annotator wrote it.</summary>
public readonly record struct AnnotatorAnswer(string? Answer, string? Raw);
