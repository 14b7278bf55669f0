using System.Text;
using System.Text.RegularExpressions;
using MllmData.Templates;

namespace MllmData.Stats;

/// <summary>
/// Recovers the question a templated instruction carries: the record's <c>meta.templates</c> names the template, whose
/// literal text is matched around its <c>{question}</c> placeholder, after any response-format suffix or reasoning
/// trigger of the library (each on a line of its own) is allowed at the end. Templates without <c>{question}</c>
/// (captions) carry no question; a text the template does not match is counted as unrecovered.
/// </summary>
public sealed class QuestionFinder
{
    private readonly Dictionary<string, InstructionTemplate> _templates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Regex?> _patterns = new(StringComparer.Ordinal);
    private readonly string _tail;

    public QuestionFinder(TemplateLibrary? library)
    {
        var endings = new List<string>();
        foreach (var pack in library?.Packs ?? [])
        {
            foreach (var t in pack.Templates)
            {
                _templates.TryAdd(t.Id, t);
                if (pack.Id == CotTrigger.PackId)
                {
                    endings.Add(t.Text);
                }
            }

            endings.AddRange(pack.Suffixes.Select(s => s.Text));
        }

        // Suffixes and triggers are added on their own lines after the template text.
        _tail = endings.Count == 0 ? string.Empty
            : "(?:\\n(?:" + string.Join("|", endings.Distinct(StringComparer.Ordinal).OrderByDescending(e => e.Length).Select(Regex.Escape)) + "))*";
    }

    /// <summary>
    /// What was found: the question, none (the template has no question slot), unrecovered (the named template is not
    /// known or does not match), or no template (the turn names none: whether it has a question is not known).
    /// </summary>
    public enum Outcome
    {
        Found,
        NoQuestion,
        Unrecovered,
        NoTemplate,
    }

    public Outcome Find(string instruction, string? templateId, out string question)
    {
        question = string.Empty;
        if (templateId is null)
        {
            return Outcome.NoTemplate;
        }

        if (!_templates.TryGetValue(templateId, out var template))
        {
            return Outcome.Unrecovered;
        }

        if (!template.PlaceholderNames().Contains("question"))
        {
            return Outcome.NoQuestion;
        }

        if (!_patterns.TryGetValue(templateId, out var pattern))
        {
            pattern = Build(template);
            _patterns[templateId] = pattern;
        }

        Match? m;
        try
        {
            m = pattern?.Match(instruction);
        }
        catch (RegexMatchTimeoutException)
        {
            m = null;
        }

        if (m is not { Success: true })
        {
            return Outcome.Unrecovered;
        }

        question = m.Groups["q"].Value;
        return Outcome.Found;
    }

    private Regex? Build(InstructionTemplate template)
    {
        // Literal text escaped, {{ and }} as braces, {question} captured, any other placeholder matched lazily.
        var sb = new StringBuilder("^");
        var text = template.Text;
        var seenQuestion = false;
        foreach (Match m in Regex.Matches(text, @"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[^{}]+|[{}]"))
        {
            if (m.Value == "{{" || m.Value == "}}")
            {
                sb.Append(Regex.Escape(m.Value[..1]));
            }
            else if (m.Groups[1].Success)
            {
                var isQuestion = m.Groups[1].Value == "question";
                sb.Append(isQuestion && !seenQuestion ? "(?<q>.*?)" : isQuestion ? "\\k<q>" : ".*?");
                seenQuestion |= isQuestion;
            }
            else
            {
                sb.Append(Regex.Escape(m.Value));
            }
        }

        sb.Append(_tail).Append('$');
        // Compiled: a build's card matches every record's instruction against its template.
        return new Regex(sb.ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}
