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

    /// <summary>Whether the template figures are known: the texts are, and some record carries meta (meta.templates), or there are no records.</summary>
    public bool TemplatesKnown => Overall.TextKnown && (Overall.Records == 0 || Overall.MetaRecords > 0);

    /// <summary>Whether the image sizes are known: some image has a size in its record's meta, or there is no image at all.</summary>
    public bool ImageSizesKnown => Overall.ImagesKnown && (ImageLongSide.N > 0 || ImagesWithoutSize == 0);

    /// <summary>Why a figure of these records is not known, in words for a report; null when it is known.</summary>
    public string? TextUnknownWhy => Overall.TextKnown ? null
        : $"{Manifest["format"]} lines cannot be read back into turns: turns, answers, answer kinds and text lengths are not known";

    /// <summary>Why the image sizes are not known, in words for a report; null when some are known or there is no image.</summary>
    public string? ImageSizesUnknownWhy => ImageSizesKnown ? null
        : !Overall.ImagesKnown ? $"no format this tool knows reads {Manifest["format"]} lines, so their images are not known"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"none of the {ImagesWithoutSize} images has a size in its record's meta (sizes come from the source's annotations or the image stage, --images reference, copy or embed, and are written with meta)");

    public SortedDictionary<string, List<RecordView>> Samples { get; } = new(StringComparer.Ordinal);

    public void Add(RecordView record)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the figures are finished; no record can be added");
        }

        var source = Group(BySource, record.Source);
        var task = Group(ByTask, record.Task);
        var groups = GroupsOf(source, task);
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
            if (turn.Answer is not null)
            {
                var answer = Facts(turn.Answer);
                foreach (var g in groups)
                {
                    g.AddAnswer(answer);
                }

                TopAnswers.Add(answer.Normalized);
            }

            if (turn.TemplateId is not null)
            {
                Templates.Add(turn.TemplateId);
            }
        }

        SampleTokens(record, groups);

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

    // The groups a record counts in; records of one source and task come in runs, and a sampled record keeps the array
    // (it is never changed), so one array serves the whole run.
    private GroupStats[] _groups = [];

    private GroupStats[] GroupsOf(GroupStats source, GroupStats task)
    {
        if (_groups.Length == 0 || !ReferenceEquals(_groups[1], source) || !ReferenceEquals(_groups[2], task))
        {
            _groups = [Overall, source, task];
        }

        return _groups;
    }

    /// <summary>Distinct answer and question texts remembered at once; the memory is cleared when full, so it stays bounded.</summary>
    public const int RememberedTexts = 1 << 15;

    // Answers (and to a lesser degree questions) repeat across a dataset: their figures are worked out once per distinct text.
    private readonly Dictionary<string, AnswerFacts> _facts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _answerTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _questionTokens = new(StringComparer.Ordinal);

    private AnswerFacts Facts(string text) => Remembered(_facts, text, AnswerFacts.Of);

    private static T Remembered<T>(Dictionary<string, T> memory, string text, Func<string, T> work)
    {
        if (!memory.TryGetValue(text, out var known))
        {
            if (memory.Count == RememberedTexts)
            {
                memory.Clear();
            }

            known = work(text);
            memory[text] = known;
        }

        return known;
    }

    /// <summary>
    /// The token sample's bound: token figures cover every record of a build with at most this many, else the records
    /// with the smallest hash of their id (XxHash64 of its UTF-8 bytes; output order breaks a tie). The sample depends on
    /// the records alone, so a build, its merge from parts and <c>mllmdata stats</c> read it alike; counting tokens
    /// is what took a large build's card most of its time.
    /// </summary>
    public const int DefaultTokenSample = 10_000;

    /// <summary>The token sample's bound for these figures; 0 counts the tokens of every record.</summary>
    public int TokenSample { get; init; } = DefaultTokenSample;

    /// <summary>Records whose turns the token figures cover (after <see cref="Finish"/>).</summary>
    public long TokenRecords { get; private set; }

    /// <summary>Whether the token figures cover only a sample of the records.</summary>
    public bool TokensSampled => TokenRecords < Overall.Records;

    // A sampled record's groups and turns (texts only, never image bytes): its tokens are counted when the figures are finished.
    private sealed record Sampled(GroupStats[] Groups, IReadOnlyList<TurnView> Turns);

    // A max-heap on (hash, order): its top is the sampled record a smaller hash would replace.
    private readonly PriorityQueue<Sampled, (ulong Hash, long Order)> _sample = new(Comparer<(ulong Hash, long Order)>.Create((a, b) => b.CompareTo(a)));
    private long _order;
    private bool _finished;

    private void SampleTokens(RecordView record, GroupStats[] groups)
    {
        var order = _order++;
        if (TokenSample == 0)
        {
            Measure(new Sampled(groups, record.Turns));
            return;
        }

        var key = (IdHash(record.Id), order);
        if (_sample.Count < TokenSample)
        {
            _sample.Enqueue(new Sampled(groups, record.Turns), key);
        }
        else if (_sample.TryPeek(out _, out var top) && key.CompareTo(top) < 0)
        {
            _sample.DequeueEnqueue(new Sampled(groups, record.Turns), key);
        }
    }

    /// <summary>XxHash64 of the id's UTF-8 bytes (encoded on the stack when short).</summary>
    internal static ulong IdHash(string id)
    {
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(id.Length);
        if (max > 512)
        {
            return System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(id));
        }

        Span<byte> bytes = stackalloc byte[max];
        return System.IO.Hashing.XxHash64.HashToUInt64(bytes[..System.Text.Encoding.UTF8.GetBytes(id, bytes)]);
    }

    /// <summary>
    /// Counts the tokens of the sampled records into the groups; the figures are complete after this. Called once the
    /// last record is in: the tokenizer (tens of megabytes of vocabulary) is loaded only then, for a bounded number of texts.
    /// </summary>
    /// <param name="cancel">Stops the token count between two records (the figures are then left unfinished).</param>
    public DatasetStats Finish(CancellationToken cancel = default)
    {
        if (!_finished)
        {
            _finished = true;
            if (_order > _sample.Count)
            {
                // A build larger than the sample: its buffers are garbage by now, and giving their memory back first keeps
                // the tokenizer's vocabulary from adding to the peak (otherwise the two together). A small build has
                // little to give back, and a card or `stats` of one is not made to wait on a full collection.
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }

            var young = new Json.YoungGarbage(Json.YoungGarbage.DefaultWindow);
            while (_sample.TryDequeue(out var s, out _))
            {
                cancel.ThrowIfCancellationRequested();
                Measure(s);
                young.Check();
            }
        }

        return this;
    }

    private void Measure(Sampled s)
    {
        TokenRecords++;
        foreach (var turn in s.Turns)
        {
            int? questionTokens = null;
            var unrecovered = false;
            var noTemplate = false;
            if (turn.Input is { Length: > 0 } input)
            {
                questionTokens = Remembered(_questionTokens, input, TokenCounter.Text);
            }
            else
            {
                switch (questions.Find(turn.Instruction, turn.TemplateId, out var question))
                {
                    case QuestionFinder.Outcome.Found:
                        questionTokens = Remembered(_questionTokens, question, TokenCounter.Text);
                        break;
                    case QuestionFinder.Outcome.Unrecovered:
                        unrecovered = true;
                        break;
                    case QuestionFinder.Outcome.NoTemplate:
                        noTemplate = true;
                        break;
                }
            }

            var instructionTokens = TokenCounter.Text(turn.Instruction);
            int? answerTokens = turn.Answer is null ? null : Remembered(_answerTokens, turn.Answer, TokenCounter.Text);
            foreach (var g in s.Groups)
            {
                g.AddTokens(instructionTokens, questionTokens, unrecovered, answerTokens, noTemplate);
            }
        }
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
