namespace MllmData.Stats;

/// <summary>The figures kept for all records, for one source, or for one task.</summary>
public sealed class GroupStats
{
    public long Records { get; private set; }

    /// <summary>Turns (question/answer exchanges) per record.</summary>
    public ValueCounts TurnsPerRecord { get; } = new();

    public ValueCounts ImagesPerRecord { get; } = new();

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

    public long Answers => AnswerTokens.N;

    /// <summary>short answers / answers, 4 digits.</summary>
    public double ShortAnswerShare => Share(ShortAnswers, Answers);

    /// <summary>yes / (yes + no), 4 digits; 0 without yes/no answers.</summary>
    public double YesShare => Share(AnswerKinds[AnswerKind.Yes], AnswerKinds[AnswerKind.Yes] + AnswerKinds[AnswerKind.No]);

    public static double Share(long part, long whole) => whole == 0 ? 0 : Math.Round((double)part / whole, 4, MidpointRounding.ToEven);

    internal void AddRecord(RecordView r)
    {
        Records++;
        TurnsPerRecord.Add(r.Turns.Count);
        ImagesPerRecord.Add(r.Images.Count);
        RewrittenRecords += r.Rewritten ? 1 : 0;
    }

    internal void AddTurn(int instructionTokens, int? questionTokens, bool unrecovered, AnswerFacts? answer, int answerTokens)
    {
        InstructionTokens.Add(instructionTokens);
        if (questionTokens is { } q)
        {
            QuestionTokens.Add(q);
        }

        QuestionsUnrecovered += unrecovered ? 1 : 0;
        if (answer is null)
        {
            return;
        }

        AnswerTokens.Add(answerTokens);
        ShortAnswers += answer.Short ? 1 : 0;
        AnswerKinds[answer.Kind]++;
    }
}

/// <summary>What the figures take from one answer text: its normalised form, its kind, whether it is short (≤3 words).</summary>
internal sealed record AnswerFacts(string Normalized, string Kind, bool Short)
{
    public static AnswerFacts Of(string answer) => new(AnswerKind.Normalize(answer), AnswerKind.Of(answer), AnswerKind.Words(answer) <= 3);
}
