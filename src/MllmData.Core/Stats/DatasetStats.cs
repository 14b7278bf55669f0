using System.Text.Json.Nodes;
using MllmData.ModelCalls;

namespace MllmData.Stats;

/// <summary>
/// The figures of one build, gathered record by record in one pass. Memory stays flat: length figures are exact counts
/// per distinct value (<see cref="ValueCounts"/>), frequent answers and templates are bounded counters
/// (<see cref="TopCounts"/>), at most <see cref="MaxGroups"/> sources and tasks are kept apart, and
/// <see cref="SamplesPerSource"/> records of each source are kept as samples.
/// </summary>
public sealed class DatasetStats(QuestionFinder questions)
{
    public const int MaxGroups = 200;
    public const int SamplesPerSource = 3;
    public const int TopCapacity = 10_000;
    public const string OtherGroup = "(other)";

    /// <summary>Characters of a sample's texts kept for the report.</summary>
    public const int SampleChars = 600;

    public string Folder { get; set; } = string.Empty;

    /// <summary>The build's manifest as read.</summary>
    public JsonObject Manifest { get; set; } = [];

    /// <summary>Whether the format's lines can be read back into turns (the flat template form cannot).</summary>
    public bool Readable { get; init; } = true;

    public GroupStats Overall { get; } = new();

    public SortedDictionary<string, GroupStats> BySource { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, GroupStats> ByTask { get; } = new(StringComparer.Ordinal);

    public TopCounts TopAnswers { get; } = new(TopCapacity);

    /// <summary>Uses of each template id (meta.templates, one per turn).</summary>
    public TopCounts Templates { get; } = new(TopCapacity);

    /// <summary>The longer side in pixels of every image whose record's meta gives its size.</summary>
    public ValueCounts ImageLongSide { get; } = new();

    public long ImagesWithoutSize { get; private set; }

    public SortedDictionary<string, List<RecordView>> Samples { get; } = new(StringComparer.Ordinal);

    public void Add(RecordView record)
    {
        var source = Group(BySource, record.Source);
        var task = Group(ByTask, record.Task);
        GroupStats[] groups = [Overall, source, task];
        foreach (var g in groups)
        {
            g.AddRecord(record);
        }

        foreach (var image in record.Images)
        {
            if (image.Width is { } w && image.Height is { } h)
            {
                ImageLongSide.Add(Math.Max(w, h));
            }
            else
            {
                ImagesWithoutSize++;
            }
        }

        foreach (var turn in record.Turns)
        {
            var instructionTokens = TokenCounter.Text(turn.Instruction);
            int? questionTokens = null;
            var unrecovered = false;
            if (turn.Input is { Length: > 0 } input)
            {
                questionTokens = QuestionTokens(input);
            }
            else
            {
                switch (questions.Find(turn.Instruction, turn.TemplateId, out var question))
                {
                    case QuestionFinder.Outcome.Found:
                        questionTokens = QuestionTokens(question);
                        break;
                    case QuestionFinder.Outcome.Unrecovered:
                        unrecovered = true;
                        break;
                }
            }

            var (answer, answerTokens) = turn.Answer is null ? (null, 0) : Answer(turn.Answer);
            foreach (var g in groups)
            {
                g.AddTurn(instructionTokens, questionTokens, unrecovered, answer, answerTokens);
            }

            if (answer is not null)
            {
                TopAnswers.Add(answer.Normalized);
            }

            if (turn.TemplateId is not null)
            {
                Templates.Add(turn.TemplateId);
            }
        }

        var key = BySource.ContainsKey(record.Source) ? record.Source : OtherGroup;
        if (!Samples.TryGetValue(key, out var samples))
        {
            samples = [];
            Samples[key] = samples;
        }

        if (samples.Count < SamplesPerSource)
        {
            samples.Add(record with
            {
                Turns = [.. record.Turns.Take(4).Select(t => t with { Instruction = Cut(t.Instruction), Input = t.Input is null ? null : Cut(t.Input), Answer = t.Answer is null ? null : Cut(t.Answer) })],
            });
        }
    }

    /// <summary>Distinct answer and question texts remembered at once; the memory is cleared when full, so it stays bounded.</summary>
    public const int RememberedTexts = 1 << 15;

    // Answers (and to a lesser degree questions) repeat across a dataset: their figures are worked out once per distinct text.
    private readonly Dictionary<string, (AnswerFacts Facts, int Tokens)> _answers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _questions = new(StringComparer.Ordinal);

    private (AnswerFacts Facts, int Tokens) Answer(string text)
    {
        if (!_answers.TryGetValue(text, out var known))
        {
            if (_answers.Count == RememberedTexts)
            {
                _answers.Clear();
            }

            known = (AnswerFacts.Of(text), TokenCounter.Text(text));
            _answers[text] = known;
        }

        return known;
    }

    private int QuestionTokens(string text)
    {
        if (!_questions.TryGetValue(text, out var tokens))
        {
            if (_questions.Count == RememberedTexts)
            {
                _questions.Clear();
            }

            tokens = TokenCounter.Text(text);
            _questions[text] = tokens;
        }

        return tokens;
    }

    private static string Cut(string s) => s.Length <= SampleChars ? s : s[..SampleChars] + "…";

    private static GroupStats Group(SortedDictionary<string, GroupStats> groups, string name)
    {
        if (!groups.TryGetValue(name, out var g))
        {
            name = groups.Count < MaxGroups ? name : OtherGroup;
            if (!groups.TryGetValue(name, out g))
            {
                g = new GroupStats();
                groups[name] = g;
            }
        }

        return g;
    }
}
