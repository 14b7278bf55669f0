using System.Text.Json;

namespace MllmData.Generation;

/// <summary>A word or phrase of a text that names a COCO object category.</summary>
public sealed record ObjectMention(string Words, string Category);

/// <summary>
/// Finds mentions of the 80 COCO object categories in text, by the synonym list shipped with the tool
/// (<c>coco-objects.txt</c>, with plurals): longest phrase first ("hot dog" is a hot dog, not a dog), case-blind,
/// hyphens as spaces. A mention right after a negation ("no dogs", "without a cat", "not a bus") is not counted:
/// the text says the object is absent.
/// </summary>
public sealed class ObjectMentions
{
    private const int MaxPhraseWords = 3;

    private static readonly HashSet<string> Negations = new(StringComparer.Ordinal) { "no", "not", "without", "nor", "never" };

    private static readonly HashSet<string> Articles = new(StringComparer.Ordinal) { "a", "an", "any", "the", "single" };

    private readonly Dictionary<string, string> _terms = new(StringComparer.Ordinal);

    private ObjectMentions(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var category = line[..colon].Trim();
            Categories.Add(category);
            foreach (var entry in line[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var bar = entry.IndexOf('|', StringComparison.Ordinal);
                var singular = bar < 0 ? entry : entry[..bar];
                var plural = bar < 0 ? Plural(singular) : entry[(bar + 1)..];
                Add(singular, category);
                if (plural != "-")
                {
                    Add(plural, category);
                }
            }
        }
    }

    /// <summary>The category names, as COCO writes them.</summary>
    public HashSet<string> Categories { get; } = new(StringComparer.Ordinal);

    /// <summary>The list shipped with the tool.</summary>
    public static ObjectMentions Coco { get; } = Load();

    private static ObjectMentions Load()
    {
        using var stream = typeof(ObjectMentions).Assembly.GetManifestResourceStream("MllmData.Generation.coco-objects.txt")!;
        using var reader = new StreamReader(stream);
        return new ObjectMentions(reader.ReadToEnd().Split('\n'));
    }

    private void Add(string term, string category)
    {
        var key = string.Join(' ', Tokens(term));
        if (_terms.TryGetValue(key, out var other) && other != category)
        {
            throw new InvalidDataException($"coco-objects.txt: '{term}' names both {other} and {category}");
        }

        _terms[key] = category;
    }

    /// <summary>The regular English plural of the last word: boxes, benches, puppies, cats.</summary>
    public static string Plural(string term)
    {
        if (term.EndsWith('s') || term.EndsWith('x') || term.EndsWith('z') || term.EndsWith("ch", StringComparison.Ordinal) || term.EndsWith("sh", StringComparison.Ordinal))
        {
            return term + "es";
        }

        return term.Length > 1 && term[^1] == 'y' && !"aeiou".Contains(term[^2], StringComparison.Ordinal) ? term[..^1] + "ies" : term + "s";
    }

    /// <summary>Lower-case words of letters and digits; anything else separates them.</summary>
    private static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                tokens.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }

        return tokens;
    }

    /// <summary>The object mentions of a text, in order; negated mentions are left out.</summary>
    public List<ObjectMention> Find(string text)
    {
        var tokens = Tokens(text);
        var found = new List<ObjectMention>();
        for (var i = 0; i < tokens.Count;)
        {
            var matched = 0;
            for (var n = Math.Min(MaxPhraseWords, tokens.Count - i); n >= 1 && matched == 0; n--)
            {
                var phrase = n == 1 ? tokens[i] : string.Join(' ', tokens.Skip(i).Take(n));
                if (_terms.TryGetValue(phrase, out var category))
                {
                    if (!Negated(tokens, i))
                    {
                        found.Add(new ObjectMention(phrase, category));
                    }

                    matched = n;
                }
            }

            i += Math.Max(1, matched);
        }

        return found;
    }

    /// <summary>"no dog", "not a single dog", "without any dogs", "isn't a dog" (read as isn, t).</summary>
    private static bool Negated(List<string> tokens, int at)
    {
        var j = at - 1;
        for (var skipped = 0; skipped < 2 && j >= 0 && Articles.Contains(tokens[j]); skipped++)
        {
            j--;
        }

        return j >= 0 && (Negations.Contains(tokens[j]) || (tokens[j] == "t" && j > 0 && tokens[j - 1].EndsWith('n')));
    }
}

/// <summary>CHAIR-style counts of object mentions that an image's annotations and captions do not support.</summary>
public sealed class HallucinationTally
{
    public const string Off = "off";
    public const string Flag = "flag";
    public const string Reject = "reject";

    public static readonly IReadOnlyList<string> Modes = [Reject, Flag, Off];

    /// <summary>Records whose text was checked (those with an image that has annotations or captions).</summary>
    public long Records { get; private set; }

    /// <summary>Checked records with at least one hallucinated mention.</summary>
    public long RecordsWithHallucination { get; private set; }

    public long Mentions { get; private set; }

    public long HallucinatedMentions { get; private set; }

    /// <summary>Hallucinated mentions by category, for the manifest.</summary>
    public SortedDictionary<string, long> ByCategory { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Checks texts generated for one image against what the image holds: its annotated categories and the categories its
    /// captions mention. Returns the mentions found and those not supported.
    /// </summary>
    public static HallucinationResult Check(IEnumerable<string> texts, IEnumerable<string> annotatedCategories, IEnumerable<string> captions)
    {
        var allowed = new HashSet<string>(annotatedCategories, StringComparer.Ordinal);
        foreach (var caption in captions)
        {
            allowed.UnionWith(ObjectMentions.Coco.Find(caption).Select(m => m.Category));
        }

        var mentions = texts.SelectMany(ObjectMentions.Coco.Find).ToList();
        return new HallucinationResult(mentions, [.. mentions.Where(m => !allowed.Contains(m.Category))]);
    }

    public void Add(HallucinationResult result)
    {
        Records++;
        Mentions += result.Mentions.Count;
        HallucinatedMentions += result.Hallucinated.Count;
        RecordsWithHallucination += result.Hallucinated.Count > 0 ? 1 : 0;
        foreach (var m in result.Hallucinated)
        {
            ByCategory[m.Category] = ByCategory.GetValueOrDefault(m.Category) + 1;
        }
    }

    /// <summary>The counts, as a job-array worker keeps them in its part for the merge to sum.</summary>
    public System.Text.Json.Nodes.JsonObject ToCounts() => new()
    {
        ["records"] = Records,
        ["records_with_hallucination"] = RecordsWithHallucination,
        ["mentions"] = Mentions,
        ["hallucinated_mentions"] = HallucinatedMentions,
        ["by_category"] = new System.Text.Json.Nodes.JsonObject(ByCategory.Select(kv => KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)kv.Value))),
    };

    /// <summary>The sum of workers' counts (<see cref="ToCounts"/>): the tally one process would have kept.</summary>
    public static HallucinationTally Sum(IEnumerable<System.Text.Json.Nodes.JsonObject> counts)
    {
        var total = new HallucinationTally();
        foreach (var c in counts)
        {
            total.Records += (long)c["records"]!;
            total.RecordsWithHallucination += (long)c["records_with_hallucination"]!;
            total.Mentions += (long)c["mentions"]!;
            total.HallucinatedMentions += (long)c["hallucinated_mentions"]!;
            foreach (var (category, n) in c["by_category"]!.AsObject())
            {
                total.ByCategory[category] = total.ByCategory.GetValueOrDefault(category) + (long)n!;
            }
        }

        return total;
    }

    /// <summary>CHAIR_s: the share of checked records with a hallucinated mention.</summary>
    public double ChairS => Records == 0 ? 0 : (double)RecordsWithHallucination / Records;

    /// <summary>CHAIR_i: the share of object mentions that are hallucinated.</summary>
    public double ChairI => Mentions == 0 ? 0 : (double)HallucinatedMentions / Mentions;

    /// <summary>The manifest's <c>hallucination</c> section.</summary>
    public void WriteTo(Utf8JsonWriter w, string mode)
    {
        w.WriteStartObject("hallucination");
        w.WriteString("mode", mode);
        w.WriteNumber("checked_records", Records);
        w.WriteNumber("records_with_hallucination", RecordsWithHallucination);
        w.WriteNumber("object_mentions", Mentions);
        w.WriteNumber("hallucinated_mentions", HallucinatedMentions);
        w.WriteNumber("chair_s", Math.Round(ChairS, 6, MidpointRounding.AwayFromZero));
        w.WriteNumber("chair_i", Math.Round(ChairI, 6, MidpointRounding.AwayFromZero));
        w.WriteStartObject("by_category");
        foreach (var (category, n) in ByCategory)
        {
            w.WriteNumber(category, n);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>The object mentions of one record's generated text, and those the image does not support.</summary>
public sealed record HallucinationResult(IReadOnlyList<ObjectMention> Mentions, IReadOnlyList<ObjectMention> Hallucinated)
{
    /// <summary>The per-record <c>hallucination</c> object of meta.</summary>
    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["mentions"] = Mentions.Count,
        ["hallucinated"] = Hallucinated.Count,
        ["objects"] = new System.Text.Json.Nodes.JsonArray([.. Hallucinated.Select(m => m.Words).Distinct().Select(w => (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(w))]),
    };

    public string Detail() => $"the generated text mentions {string.Join(", ", Hallucinated.Select(m => $"\"{m.Words}\" ({m.Category})").Distinct())}, which neither the image's annotations nor its captions hold";
}
