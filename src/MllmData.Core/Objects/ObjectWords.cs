using System.Text.RegularExpressions;

namespace MllmData.Objects;

/// <summary>
/// Words for object categories: the name's plural and article, and the words a caption may use for an object
/// (the name, its plural, and for the 80 COCO categories a synonym list written by us), so that captions can be
/// searched for mentions of a category. Matching is on whole lower-case words; a multi-word term must appear as
/// consecutive words. The lists lean towards more words, not fewer: a category a caption might mean is never
/// used as an absent object.
/// </summary>
public sealed partial class ObjectWords
{
    /// <summary>Extra singular words per COCO category name (plurals are made from them).</summary>
    private static readonly Dictionary<string, string[]> Synonyms = new(StringComparer.Ordinal)
    {
        ["person"] = ["people", "man", "woman", "boy", "girl", "child", "kid", "guy", "lady", "gentleman", "player", "skier", "surfer",
            "skateboarder", "snowboarder", "rider", "baby", "adult", "toddler", "pedestrian", "biker", "cyclist", "batter", "catcher",
            "pitcher", "umpire", "spectator", "chef", "cook", "worker", "teenager", "teen", "student", "tourist", "someone", "somebody",
            "human", "crowd", "athlete", "officer", "policeman", "soldier", "passenger", "driver", "father", "mother", "son", "daughter", "individual"],
        ["bicycle"] = ["bike", "cycle"],
        ["car"] = ["automobile", "sedan", "taxi", "cab", "suv", "jeep", "vehicle"],
        ["motorcycle"] = ["motorbike", "scooter", "moped", "bike", "vehicle"],
        ["airplane"] = ["plane", "aeroplane", "jet", "aircraft", "airliner", "jetliner"],
        ["bus"] = ["vehicle"],
        ["train"] = ["locomotive", "tram", "trolley", "subway", "railcar"],
        ["truck"] = ["lorry", "pickup", "van", "vehicle"],
        ["boat"] = ["ship", "sailboat", "canoe", "kayak", "yacht", "ferry", "vessel", "raft"],
        ["traffic light"] = ["traffic signal", "stoplight", "stop light", "signal light"],
        ["fire hydrant"] = ["hydrant"],
        ["stop sign"] = [],
        ["parking meter"] = ["meter"],
        ["bench"] = ["pew"],
        ["bird"] = ["pigeon", "seagull", "gull", "duck", "goose", "parrot", "owl", "eagle", "swan", "sparrow", "crow", "chicken", "hen", "rooster", "pelican"],
        ["cat"] = ["kitten", "kitty"],
        ["dog"] = ["puppy", "pup", "doggy"],
        ["horse"] = ["pony", "foal", "stallion", "mare"],
        ["sheep"] = ["lamb", "ram"],
        ["cow"] = ["cattle", "bull", "calf", "ox", "steer"],
        ["elephant"] = [],
        ["bear"] = ["grizzly"],
        ["zebra"] = [],
        ["giraffe"] = [],
        ["backpack"] = ["knapsack", "rucksack", "back pack"],
        ["umbrella"] = ["parasol"],
        ["handbag"] = ["purse", "bag"],
        ["tie"] = ["necktie"],
        ["suitcase"] = ["luggage", "baggage"],
        ["frisbee"] = ["flying disc", "disc"],
        ["skis"] = ["ski"],
        ["snowboard"] = [],
        ["sports ball"] = ["ball", "baseball", "football", "soccer ball", "basketball", "tennis ball", "volleyball"],
        ["kite"] = [],
        ["baseball bat"] = ["bat"],
        ["baseball glove"] = ["glove", "mitt"],
        ["skateboard"] = ["skate board"],
        ["surfboard"] = ["surf board", "board"],
        ["tennis racket"] = ["racket", "racquet"],
        ["bottle"] = [],
        ["wine glass"] = ["glass"],
        ["cup"] = ["mug", "teacup"],
        ["fork"] = ["utensil", "silverware", "cutlery"],
        ["knife"] = ["utensil", "silverware", "cutlery"],
        ["spoon"] = ["utensil", "silverware", "cutlery"],
        ["bowl"] = [],
        ["banana"] = [],
        ["apple"] = [],
        ["sandwich"] = ["burger", "hamburger", "panini"],
        ["orange"] = ["tangerine"],
        ["broccoli"] = [],
        ["carrot"] = [],
        ["hot dog"] = ["hotdog", "sausage"],
        ["pizza"] = [],
        ["donut"] = ["doughnut"],
        ["cake"] = ["cupcake", "pastry"],
        ["chair"] = ["seat", "stool", "armchair"],
        ["couch"] = ["sofa", "loveseat", "settee"],
        ["potted plant"] = ["plant", "houseplant", "flowerpot", "flower"],
        ["bed"] = ["mattress", "bunk"],
        ["dining table"] = ["table", "desk"],
        ["toilet"] = ["urinal"],
        ["tv"] = ["television", "monitor", "screen"],
        ["laptop"] = ["computer", "notebook", "macbook"],
        ["mouse"] = [],
        ["remote"] = ["controller", "clicker"],
        ["keyboard"] = [],
        ["cell phone"] = ["phone", "cellphone", "smartphone", "telephone", "iphone"],
        ["microwave"] = [],
        ["oven"] = ["stove", "cooker"],
        ["toaster"] = [],
        ["sink"] = ["basin", "washbasin"],
        ["refrigerator"] = ["fridge", "freezer"],
        ["book"] = ["novel", "textbook"],
        ["clock"] = [],
        ["vase"] = [],
        ["scissors"] = ["scissor", "shears"],
        ["teddy bear"] = ["teddy", "stuffed animal", "stuffed bear", "teddybear", "plush"],
        ["hair drier"] = ["hair dryer", "hairdryer", "blow dryer", "dryer", "drier"],
        ["toothbrush"] = ["tooth brush"],
    };

    private static readonly Dictionary<string, string> IrregularPlurals = new(StringComparer.Ordinal)
    {
        ["person"] = "people", ["man"] = "men", ["woman"] = "women", ["child"] = "children", ["gentleman"] = "gentlemen",
        ["policeman"] = "policemen", ["mouse"] = "mice", ["knife"] = "knives", ["goose"] = "geese", ["calf"] = "calves",
        ["ox"] = "oxen", ["sheep"] = "sheep", ["skis"] = "skis", ["scissors"] = "scissors", ["shears"] = "shears",
        ["people"] = "peoples", ["cattle"] = "cattle", ["luggage"] = "luggage", ["baggage"] = "baggage", ["broccoli"] = "broccoli",
        ["silverware"] = "silverware", ["cutlery"] = "cutlery", ["shelf"] = "shelves", ["tv"] = "tvs",
    };

    private readonly List<string> _names;
    private readonly Dictionary<string, List<(string[] Words, int Category, bool Singular)>> _byFirstWord = new(StringComparer.Ordinal);

    /// <summary>Words for the given category names (index = category index).</summary>
    public ObjectWords(IReadOnlyList<string> names)
    {
        _names = [.. names];
        for (var i = 0; i < names.Count; i++)
        {
            var name = Clean(names[i]);
            var singular = new List<string> { name };
            if (Synonyms.TryGetValue(name, out var more))
            {
                singular.AddRange(more);
            }

            foreach (var term in singular.Distinct(StringComparer.Ordinal))
            {
                Add(term, i, true);
                Add(Plural(term), i, false);
            }
        }
    }

    /// <summary>Lower case, single spaces.</summary>
    private static string Clean(string name) => string.Join(' ', Word().Matches(name.ToLowerInvariant()).Select(m => m.Value));

    private void Add(string term, int category, bool singular)
    {
        var words = term.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return;
        }

        if (!_byFirstWord.TryGetValue(words[0], out var list))
        {
            _byFirstWord[words[0]] = list = [];
        }

        if (!list.Any(t => t.Category == category && t.Words.SequenceEqual(words)))
        {
            list.Add((words, category, singular));
        }
    }

    /// <summary>The plural of a name: its last word made plural ("wine glass" → "wine glasses", "person" → "people").</summary>
    public static string Plural(string name)
    {
        var cut = name.LastIndexOf(' ');
        var head = cut < 0 ? string.Empty : name[..(cut + 1)];
        var last = cut < 0 ? name : name[(cut + 1)..];
        if (IrregularPlurals.TryGetValue(last, out var irregular))
        {
            return head + irregular;
        }

        string plural = last switch
        {
            _ when last.EndsWith('s') || last.EndsWith('x') || last.EndsWith('z') || last.EndsWith("ch", StringComparison.Ordinal) || last.EndsWith("sh", StringComparison.Ordinal) => last + "es",
            _ when last.Length > 1 && last.EndsWith('y') && !"aeiou".Contains(last[^2], StringComparison.Ordinal) => last[..^1] + "ies",
            _ => last + "s",
        };
        return head + plural;
    }

    /// <summary>The name with its indefinite article: "a dog", "an umbrella".</summary>
    public static string WithArticle(string name) =>
        (name.Length > 0 && "aeiou".Contains(char.ToLowerInvariant(name[0]), StringComparison.Ordinal) ? "an " : "a ") + name;

    /// <summary>The lower-case words of a text, as mentions are matched on them, with each punctuation mark as a token of its own (so no term spans one).</summary>
    public static List<string> Words(string text) => [.. Token().Matches(text.ToLowerInvariant()).Select(m => m.Value)];

    /// <summary>The categories (indices) a text mentions by name, plural or synonym.</summary>
    public HashSet<int> Mentions(string text)
    {
        var found = new HashSet<int>();
        foreach (var m in Find(Words(text)))
        {
            found.Add(m.Category);
        }

        return found;
    }

    /// <summary>Every mention in a word list: where it starts, how many words it spans, its category, and whether it is singular.</summary>
    public IEnumerable<(int Start, int Length, int Category, bool Singular)> Find(IReadOnlyList<string> words)
    {
        for (var i = 0; i < words.Count; i++)
        {
            if (!_byFirstWord.TryGetValue(words[i], out var terms))
            {
                continue;
            }

            foreach (var (termWords, category, singular) in terms)
            {
                if (i + termWords.Length > words.Count)
                {
                    continue;
                }

                var match = true;
                for (var k = 1; k < termWords.Length && match; k++)
                {
                    match = words[i + k] == termWords[k];
                }

                if (match)
                {
                    yield return (i, termWords.Length, category, singular);
                }
            }
        }
    }

    /// <summary>The category name an index stands for.</summary>
    public string Name(int category) => _names[category];

    [GeneratedRegex("[a-z0-9]+")]
    private static partial Regex Word();

    [GeneratedRegex(@"[a-z0-9]+|[^a-z0-9\s']")]
    private static partial Regex Token();
}
