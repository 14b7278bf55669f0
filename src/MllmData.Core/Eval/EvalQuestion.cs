using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Records;
using MllmData.Json;

namespace MllmData.Eval;

/// <summary>
/// How one record becomes a closed-set evaluation question: its id, the text a model runner sends (the question,
/// any options, and an answer-format line written by us) and its reference answers.
/// </summary>
public static class EvalQuestion
{
    /// <summary>The answer-format line of open questions (LLaVA's runners append a line of this kind).</summary>
    public const string ShortAnswer = "Reply with a single word or a short phrase.";

    /// <summary>The answer-format line of multiple-choice questions.</summary>
    public const string LetterAnswer = "Reply with only the letter of the correct option.";

    /// <summary>The answer-format line of yes/no object-existence questions.</summary>
    public const string YesNoAnswer = "Answer yes or no.";

    /// <summary>The prompt of a caption record, which has no question of its own.</summary>
    public const string CaptionPrompt = "Write one sentence that describes this image.";

    /// <summary>
    /// The question id: the source's own (<c>question_id</c>, or ScienceQA's <c>pid</c>) when the build has one
    /// source, so predictions join to the benchmark's ids; else the record id, which is unique across sources.
    /// </summary>
    public static string Id(InstructionRecord record, bool sourceIds) =>
        sourceIds && record.Provenance.Ids.FirstOrDefault(kv => kv.Key is "question_id" or "pid").Value is { Length: > 0 } own ? own : record.Id;

    /// <summary>Writes an id as a JSON number when it is a plain whole number (as the benchmarks write them), else as a string.</summary>
    public static void WriteId(Utf8JsonWriter w, string name, string id)
    {
        if (IsPlainNumber(id))
        {
            w.WritePropertyName(name);
            w.WriteRawValue(id);
        }
        else
        {
            w.WriteString(name, id);
        }
    }

    private static bool IsPlainNumber(string id) =>
        id.Length is > 0 and <= 18 && id.All(char.IsAsciiDigit) && (id.Length == 1 || id[0] != '0');

    /// <summary>The question as the benchmark wrote it (empty for a caption record).</summary>
    public static string Question(InstructionRecord record)
    {
        var turn = record.Turns[0];
        if (turn.Slots.TryGetValue("question", out var q))
        {
            return q.Trim();
        }

        // Object questions (coco-objects) have no benchmark question: the templated instruction is the question.
        var instructionIsQuestion = turn.Slots.Count == 0 || (turn.Instruction is not null && Adapters.CocoObjectsAdapter.Tasks.Contains(record.Task));
        return instructionIsQuestion && record.Task != "caption" ? turn.UserText.Trim() : string.Empty;
    }

    /// <summary>The text of the question line: context, question, options and the answer-format line.</summary>
    public static string Text(InstructionRecord record)
    {
        var turn = record.Turns[0];
        var question = Question(record);
        if (question.Length == 0 && record.Task == "caption")
        {
            return CaptionPrompt;
        }

        var parts = new List<string>(4);
        if (turn.Slots.TryGetValue("context", out var context) && !TextCheck.IsBlank(context))
        {
            parts.Add("Context: " + context.Trim());
        }

        parts.Add(question);
        var hasOptions = turn.Slots.TryGetValue("options", out var options) && options.Length > 0;
        string? formatLine;
        if (record.Task == Adapters.CocoObjectsAdapter.ExistenceTask)
        {
            // Some templates (and the yes-no suffix) already ask for yes or no.
            formatLine = question.Contains("yes or no", StringComparison.OrdinalIgnoreCase) ? null : YesNoAnswer;
        }
        else if (record.Task is Adapters.CocoObjectsAdapter.GroundingTask or Adapters.CocoObjectsAdapter.GroundingAllTask)
        {
            // The grounding instruction itself asks for the box; a short-answer line would contradict it.
            formatLine = null;
        }
        else
        {
            if (hasOptions)
            {
                parts.Add(options!);
            }

            formatLine = hasOptions ? LetterAnswer : ShortAnswer;
        }

        // A constraint suffix (--constraints match) is the answer-format line the model is asked to obey.
        if (turn.Constraint?.Text is { Length: > 0 } constraint)
        {
            formatLine = constraint;
        }

        if (formatLine is not null)
        {
            parts.Add(formatLine);
        }

        // A reasoning trigger (--cot-trigger) comes last, as it does after a training instruction.
        if (turn.Trigger is { Length: > 0 } trigger)
        {
            parts.Add(trigger);
        }

        return string.Join("\n", parts);
    }

    /// <summary>The reference answers and options of a record, as <c>answers.jsonl</c> holds them.</summary>
    public static EvalReference Reference(InstructionRecord record)
    {
        var turn = record.Turns[0];
        var extra = record.Provenance.Extra;
        var choices = turn.Slots.TryGetValue("options", out var options) ? ParseOptions(options) : null;
        string? correct = null;
        if (choices is not null)
        {
            correct = new[] { turn.Output, turn.RawAnswer }.FirstOrDefault(a => a is { Length: 1 } && a[0] >= 'A' && a[0] - 'A' < choices.Count);
            correct ??= choices.Select((c, i) => (c, i)).Where(x => x.c == turn.RawAnswer?.Trim()).Select(x => Adapters.Sample.Letter(x.i)).FirstOrDefault();
        }

        List<string> answers;
        if (Strings(extra, "answers") is { Count: > 0 } all)
        {
            answers = all;
        }
        else if (choices is null && Strings(extra, "direct_answers") is { Count: > 0 } direct)
        {
            answers = direct;
        }
        else if (choices is not null)
        {
            answers = correct is null ? [] : [choices[correct[0] - 'A']];
        }
        else if (record.Task == "caption" && turn.Output is { } caption)
        {
            answers = [caption, .. Strings(extra, "other_captions") ?? []];
        }
        else
        {
            answers = (turn.RawAnswer ?? turn.Output) is { } one ? [one] : [];
        }

        var answerType = extra?["answer_type"] is JsonValue v && v.TryGetValue<string>(out var t) ? t : null;
        return new EvalReference(answers, answerType, choices, correct) { Constraint = turn.Constraint?.Type };
    }

    private static List<string>? Strings(JsonObject? extra, string key) => Json.ExtraValues.TextsOf(extra?[key]);

    /// <summary>The option texts of an "A. first\nB. second" block, or null when it is not in that shape.</summary>
    public static List<string>? ParseOptions(string options)
    {
        var lines = options.Split('\n');
        var result = new List<string>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var prefix = $"{(char)('A' + i)}. ";
            if (i >= Adapters.Sample.MaxChoices || !lines[i].StartsWith(prefix, StringComparison.Ordinal))
            {
                return null;
            }

            result.Add(lines[i][prefix.Length..]);
        }

        return result;
    }
}

/// <summary>What a question is scored against: every reference answer, the answer type, and for multiple choice the options and the letter.</summary>
public sealed record EvalReference(IReadOnlyList<string> Answers, string? AnswerType, IReadOnlyList<string>? Choices, string? CorrectChoice)
{
    /// <summary>The answer-format constraint the question line states (<c>--constraints match</c>), or null.</summary>
    public string? Constraint { get; init; }
}
