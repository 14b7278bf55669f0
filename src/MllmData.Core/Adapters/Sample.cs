using System.Text.Json.Nodes;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>Shared ways to make records and rejects, and the options several adapters take.</summary>
public static class Sample
{
    public static readonly AdapterOption Unanswered =
        new("unanswered", "records without answers (test splits): error = stop with a message; eval = build an evaluation set (question files, never a training format)", "error") { Allowed = ["error", "eval"] };

    public static SourceItem Reject(SourceContext c, string file, string where, string reason, string detail) =>
        SourceItem.Rejected(new Reject(c.SourceName, file, where, reason, detail));

    /// <summary>The reject reason of a record the JSON parsers could not take: a key written twice, else a value of the wrong type.</summary>
    public static string ReasonOf(string parseError) => JsonErrors.IsDoubledKey(parseError) ? RejectReasons.DuplicateKey : RejectReasons.WrongType;

    /// <summary>
    /// The elements of an adapter's JSON input in file order, each with where it stands (<c>NAME[i] (byte n)</c>, or its key);
    /// an element that is not an object comes with its wrong-type reject instead. An element's document is freed when the
    /// next one is asked for.
    /// </summary>
    /// <param name="c">The source being read.</param>
    /// <param name="path">The input file.</param>
    /// <param name="layout">Where the elements stand in the file.</param>
    /// <param name="name">The array's name in messages: the property for <see cref="JsonLayout.ArrayProperty"/>, else a label.</param>
    /// <param name="ct">Checked before each element.</param>
    public static IEnumerable<(JsonItem Item, string Where, SourceItem? Reject)> Elements(SourceContext c, string path, JsonLayout layout, string name, CancellationToken ct)
    {
        foreach (var item in JsonElements.Read(c.Files.Open(path, c.Progress), path, layout, layout == JsonLayout.ArrayProperty ? name : null))
        {
            ct.ThrowIfCancellationRequested();
            using (item)
            {
                var where = item.Where(name);
                yield return (item, where, item.Error is { } error ? Reject(c, path, where, item.DuplicateKey ? RejectReasons.DuplicateId : ReasonOf(error), error) : null);
            }
        }
    }

    public static InstructionRecord Make(
        SourceContext c,
        string adapter,
        string file,
        string id,
        string task,
        IReadOnlyList<ImageRef> images,
        IReadOnlyList<Turn> turns,
        IReadOnlyList<KeyValuePair<string, string>> ids,
        JsonObject? extra = null) => new()
        {
            Id = $"{c.SourceName}-{id}",
            Source = c.SourceName,
            Task = task,
            Images = images,
            Turns = turns,
            Provenance = new Provenance { Adapter = adapter, File = file, Ids = ids, Extra = c.IncludeDetail ? extra : null },
        };

    public static Turn Question(string question, string? answer, string? raw = null, IReadOnlyDictionary<string, string>? slots = null)
    {
        var s = slots is null ? new Dictionary<string, string>() : new Dictionary<string, string>(slots);
        s["question"] = question.Trim();
        return new Turn { Slots = s, Output = answer, RawAnswer = raw ?? answer };
    }

    public static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);

    /// <summary>What to do with a record that has no answer: null = build it as an eval record; otherwise throws.</summary>
    public static void NoAnswer(SourceContext c, string file, string where)
    {
        if (c.Choice("unanswered", "error", "error", "eval") == "error")
        {
            throw new Json.InputDataException(file, where, "no-answers",
                "this record has no answers (a test split?); pass --unanswered eval to build an evaluation set from it (LLaVA question files and answers.jsonl)");
        }
    }

    /// <summary>Most options that can be lettered A to Z; a question with more is rejected (<see cref="ChoicesProblem"/>).</summary>
    public const int MaxChoices = 26;

    /// <summary>"A. first\nB. second" for the <c>{options}</c> placeholder; callers check <see cref="MaxChoices"/> first.</summary>
    public static string Options(IReadOnlyList<string> choices) =>
        string.Join("\n", choices.Select((c, i) => $"{Letter(i)}. {c.Trim()}"));

    /// <summary>The letter of option <paramref name="index"/>: A to Z, never a character past Z.</summary>
    public static string Letter(int index) =>
        index is >= 0 and < MaxChoices
            ? ((char)('A' + index)).ToString()
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"options are lettered A to Z (at most {MaxChoices})");

    /// <summary>Why the options cannot be lettered: more than <see cref="MaxChoices"/>, or one that shows nothing; null when they can.</summary>
    public static (string Reason, string Detail)? ChoicesProblem(IReadOnlyList<string> choices)
    {
        if (choices.Count > MaxChoices)
        {
            return (RejectReasons.TooManyChoices, $"{choices.Count} choices, but options are lettered A to Z (at most {MaxChoices})");
        }

        for (var i = 0; i < choices.Count; i++)
        {
            if (TextCheck.IsBlank(choices[i]))
            {
                return (RejectReasons.EmptyChoice, $"option {Letter(i)} is {TextCheck.BlankKind(choices[i])}");
            }
        }

        // The same option twice makes the answer letter a coin toss for the model, and "the option's own words" ambiguous for scoring.
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < choices.Count; i++)
        {
            var text = string.Join(' ', choices[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            if (!seen.TryAdd(text, i))
            {
                return (RejectReasons.DuplicateChoice, $"options {Letter(seen[text])} and {Letter(i)} both read '{text}'");
            }
        }

        return null;
    }

    /// <summary>
    /// The reject for an image whose captions were all blank: a gap in the annotations (an <c>empty-answer</c>, the run goes
    /// on), not an unanswered test image.
    /// </summary>
    public static SourceItem BlankCaptions(SourceContext c, string file, string where, int count, string image) =>
        Reject(c, file, where, RejectReasons.EmptyAnswer, $"all {count} captions of image {image} are blank");
}
