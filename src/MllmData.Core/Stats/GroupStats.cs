namespace MllmData.Stats;

/// <summary>The figures kept for all records, for one source, or for one task.</summary>
public sealed class GroupStats
{
    public long Records { get; private set; }

    /// <summary>Records that carry a <c>meta</c> object (source, task, templates, image sizes and the rewrite mark come from it).</summary>
    public long MetaRecords { get; private set; }

    /// <summary>
    /// Whether the turns and texts of these records are known: some record's line was read back into turns, or there are
    /// no records at all. A flat template build's are not, and then every text figure (turns, answers, answer kinds,
    /// token lengths, unrecovered questions) is unknown, not 0.
    /// </summary>
    public bool TextKnown => Records == 0 || TurnsPerRecord.N > 0;

    /// <summary>Whether the images of these records are known: some record's images were read, or there are no records.</summary>
    public bool ImagesKnown => Records == 0 || ImagesPerRecord.N > 0;

    /// <summary>Whether the rewrite mark (meta.rewrite) can be seen: some record carries meta, or there are no records.</summary>
    public bool RewrittenKnown => Records == 0 || MetaRecords > 0;

    /// <summary>Token-sampled turns that name no template and carry no separate input: whether they hold a question is not known.</summary>
    public long QuestionsWithoutTemplate { get; private set; }

    /// <summary>Whether the unrecovered-question count means anything: texts are known and some sampled turn names its template (or there is none).</summary>
    public bool UnrecoveredKnown => TextKnown && (InstructionTokens.N == 0 || QuestionsWithoutTemplate < InstructionTokens.N);

    /// <summary>Turns (question/answer exchanges) per record.</summary>
    public ValueCounts TurnsPerRecord { get; } = new();

    public ValueCounts ImagesPerRecord { get; } = new();

    // The token figures below (and QuestionsUnrecovered) cover the turns of the records in the build's token sample
    // (DatasetStats.TokenSample): every record when the build has no more than that many.

    /// <summary>o200k tokens of each turn's user-side text.</summary>
    public ValueCounts InstructionTokens { get; } = new();

    /// <summary>o200k tokens of each recovered question.</summary>
    public ValueCounts QuestionTokens { get; } = new();

    /// <summary>o200k tokens of each answer.</summary>
    public ValueCounts AnswerTokens { get; } = new();

    /// <summary>Turns whose template has a question slot but whose question could not be recovered.</summary>
    public long QuestionsUnrecovered { get; private set; }

    /// <summary>Answers of at most three words.</summary>
    public long ShortAnswers { get; private set; }

    public long RewrittenRecords { get; private set; }

    public SortedDictionary<string, long> AnswerKinds { get; } = new(AnswerKind.All.ToDictionary(k => k, _ => 0L), StringComparer.Ordinal);

    /// <summary>Turns with an answer (every one, whatever the token sample).</summary>
    public long Answers { get; private set; }

    /// <summary>short answers / answers, 4 digits.</summary>
    public double ShortAnswerShare => Share(ShortAnswers, Answers);

    /// <summary>yes / (yes + no), 4 digits; 0 without yes/no answers.</summary>
    public double YesShare => Share(AnswerKinds[AnswerKind.Yes], AnswerKinds[AnswerKind.Yes] + AnswerKinds[AnswerKind.No]);

    /// <summary>A share as a report shows it: a percentage, or "-" when there is nothing to share (not 0 %).</summary>
    public static string Percent(long part, long whole) =>
        whole == 0 ? "-" : (Share(part, whole) * 100).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>The yes share as a report shows it.</summary>
    public string YesPercent => Percent(AnswerKinds[AnswerKind.Yes], AnswerKinds[AnswerKind.Yes] + AnswerKinds[AnswerKind.No]);

    /// <summary>The short-answer share as a report shows it.</summary>
    public string ShortPercent => Percent(ShortAnswers, Answers);

    /// <summary>A distribution's mean as a report shows it, or "-" without values.</summary>
    public static string Mean(ValueCounts v) => v.N == 0 ? "-" : v.Mean.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A distribution's percentile as a report shows it, or "-" without values.</summary>
    public static string Percentile(ValueCounts v, int p) => v.N == 0 ? "-" : v.Percentile(p).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A count as a report shows it: the number, or "-" when it is not known (not 0).</summary>
    public static string Count(long value, bool known) => known ? value.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";

    /// <summary>"7 of 12 (58.33%)", or "-" when the texts are not known.</summary>
    public string ShortText => TextKnown ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ShortAnswers} of {Answers} ({ShortPercent})") : "-";

    /// <summary>"letter 0, no 2, number 1, other 8, yes 1", or "-" when the texts are not known.</summary>
    public string KindsText => TextKnown ? string.Join(", ", AnswerKinds.Select(kv => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value}"))) : "-";

    /// <summary>The answers of one kind as a report shows them.</summary>
    public string KindCount(string kind) => Count(AnswerKinds[kind], TextKnown);

    /// <summary>
    /// Unrecovered questions as a report shows them: the count, "-" when it is not known (no texts, or no turn names its
    /// template), and how many turns name none when some do not.
    /// </summary>
    public string UnrecoveredText => !UnrecoveredKnown ? "-"
        : QuestionsWithoutTemplate == 0 ? QuestionsUnrecovered.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{QuestionsUnrecovered} ({QuestionsWithoutTemplate} {(QuestionsWithoutTemplate == 1 ? "turn names" : "turns name")} no template)");

    /// <summary>Records marked as rewritten as a report shows them ("-" when no record carries meta).</summary>
    public string RewrittenText => Count(RewrittenRecords, RewrittenKnown);

    public static double Share(long part, long whole) => whole == 0 ? 0 : Math.Round((double)part / whole, 4, MidpointRounding.ToEven);

    internal void AddRecord(RecordView r)
    {
        Records++;
        MetaRecords += r.HasMeta ? 1 : 0;
        if (r.TurnsKnown)
        {
            TurnsPerRecord.Add(r.Turns.Count);
        }

        if (r.ImagesKnown)
        {
            ImagesPerRecord.Add(r.Images.Count);
        }

        RewrittenRecords += r.Rewritten ? 1 : 0;
    }

    /// <summary>An answer's exact figures (every answer counts, sampled or not).</summary>
    internal void AddAnswer(AnswerFacts answer)
    {
        Answers++;
        ShortAnswers += answer.Short ? 1 : 0;
        AnswerKinds[answer.Kind]++;
    }

    /// <summary>A turn's token figures: every turn when the build is within the token sample, else the sampled records' turns.</summary>
    internal void AddTokens(int instructionTokens, int? questionTokens, bool unrecovered, int? answerTokens, bool noTemplate = false)
    {
        InstructionTokens.Add(instructionTokens);
        QuestionsWithoutTemplate += noTemplate ? 1 : 0;
        if (questionTokens is { } q)
        {
            QuestionTokens.Add(q);
        }

        QuestionsUnrecovered += unrecovered ? 1 : 0;
        if (answerTokens is { } a)
        {
            AnswerTokens.Add(a);
        }
    }
}

/// <summary>What the figures take from one answer text: its normalised form, its kind, whether it is short (≤3 words).</summary>
internal sealed record AnswerFacts(string Normalized, string Kind, bool Short)
{
    public static AnswerFacts Of(string answer) => new(AnswerKind.Normalize(answer), AnswerKind.Of(answer), AnswerKind.Words(answer) <= 3);
}
