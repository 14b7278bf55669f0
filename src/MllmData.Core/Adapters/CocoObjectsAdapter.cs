using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using MllmData.Json;
using MllmData.Objects;
using MllmData.Records;
using MllmData.Templates;

namespace MllmData.Adapters;

/// <summary>
/// Object-level data from COCO instances (and optionally captions): yes/no existence questions with balanced
/// absent-object negatives (object hallucination, POPE-style), region captions (box → name) and grounding (name → box).
/// </summary>
/// <remarks>
/// The instances file is read once, streaming; what is kept is small per object (ids, category, box) because
/// existence negatives need the whole file's co-occurrence counts and an image's objects may be anywhere in it.
/// The captions file, when given, is then streamed once for mentions (and phrases), keeping per image only the
/// categories mentioned. Records come out in the order of the instances file's <c>images</c> array.
/// </remarks>
public sealed class CocoObjectsAdapter : ISourceAdapter
{
    public const string ExistenceTask = "object-existence";
    public const string RegionCaptionTask = "region-caption";
    public const string GroundingTask = "grounding";

    /// <summary>Grounding of a category with several instances in the image: the answer lists every box.</summary>
    public const string GroundingAllTask = "grounding-all";

    /// <summary>Tasks whose whole question is the templated instruction (no benchmark question of their own).</summary>
    public static readonly IReadOnlyList<string> Tasks = [ExistenceTask, RegionCaptionTask, GroundingTask, GroundingAllTask];

    private static readonly OptionCondition Existence = new("task", "existence");
    private static readonly OptionCondition Regions = new("task", "region-caption", "grounding");

    public string Name => "coco-objects";

    public string Description => "COCO instances (instances_<split>.json: images[], annotations[{image_id, category_id, bbox, iscrowd}], categories[]) + optional captions: existence questions, region captions, grounding";

    public IReadOnlyList<AdapterInput> Inputs { get; } =
    [
        new("instances", true, "the instances file: {images:[{id, file_name, width, height}], annotations:[{id, image_id, category_id, bbox:[x,y,w,h], iscrowd}], categories:[{id, name}]}"),
        new("captions", false, "the captions file of the same images: categories a caption mentions are never asked as absent; region-answer=phrase takes phrases from it"),
    ];

    public IReadOnlyList<AdapterOption> Options { get; } =
    [
        new("task", "existence = \"is there a ...\" yes/no questions, as many yes as no per image; region-caption = box → the object's name; grounding = the object's name → its box", "existence")
        {
            Allowed = ["existence", "region-caption", "grounding"],
        },
        new("negatives", "existence: absent categories asked about: random (uniform, seeded), popular (the categories in most images of the file), adversarial (the categories that co-occur most with the image's objects)", "random")
        {
            Allowed = ["random", "popular", "adversarial"],
            OnlyWith = [Existence],
        },
        new("pairs-per-image", "existence: at most this many yes and as many no questions per image (fewer when the image has fewer objects or absent candidates)", "3")
        {
            Check = AdapterOption.Count(1000),
            OnlyWith = [Existence],
        },
        new("box-style", "region-caption, grounding: unit = [x1, y1, x2, y2] in 0-1; qwen = <box>(x1,y1),(x2,y2)</box> in 0-1000; pixel = [x1, y1, x2, y2] in whole pixels", BoxFormat.Unit)
        {
            Allowed = BoxFormat.Styles,
            OnlyWith = [Regions],
        },
        new("box-decimals", "box-style unit: decimals of each coordinate, 1 to 6", "3")
        {
            Check = AdapterOption.Count(6),
            OnlyWith = [Regions, new("box-style", BoxFormat.Unit)],
        },
        new("min-box-area", "boxes of fewer square pixels (w × h) are skipped (tiny-box); existence asks yes only about objects with a box at least this large", "0")
        {
            Check = (v, _) => decimal.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n >= 0 && n <= 100_000_000m
                ? null
                : $"must be a number of square pixels from 0 to 100000000, got '{v}'",
        },
        new("ambiguous", "grounding: a category with several instances in the image: skip (an ambiguous-target reject) or all (the answer lists every box, left to right); region-caption always asks about each box, which names its object unambiguously", "skip")
        {
            Allowed = ["skip", "all"],
            OnlyWith = [new("task", "grounding")],
        },
        new("region-answer", "region-caption: name = the category name; phrase = a short phrase for the object from its image's captions (e.g. \"brown dog\"), else the name", "name")
        {
            Allowed = ["name", "phrase"],
            Check = AdapterOption.NeedsInput("captions", "phrase"),
            OnlyWith = [new("task", "region-caption")],
        },
    ];

    public string DefaultTemplatePack => ExistenceTask;

    private sealed record ImageInfo(string Id, string FileName, int? Width, int? Height);

    /// <summary>
    /// Object annotations that were rejected (a field of another kind, a missing id, a key twice) but still say, in part,
    /// which image holds an object of which category: indices into the images and categories, with the reject's place and reason.
    /// </summary>
    private sealed class Doubts
    {
        /// <summary>By image, then category: a rejected annotation of that category in that image.</summary>
        public Dictionary<int, Dictionary<int, (string Where, string Reason)>> Maybe { get; } = [];

        /// <summary>By image: a rejected annotation of that image whose category cannot be read.</summary>
        public Dictionary<int, (string Where, string Reason)> Blind { get; } = [];

        /// <summary>By category: a rejected annotation of that category whose image cannot be read.</summary>
        public Dictionary<int, (string Where, string Reason)> Anywhere { get; } = [];

        public void Add(int? image, int? category, (string Where, string Reason) reject)
        {
            if (image is { } i && category is { } c)
            {
                (Maybe.TryGetValue(i, out var m) ? m : Maybe[i] = []).TryAdd(c, reject);
            }
            else if (image is { } only)
            {
                Blind.TryAdd(only, reject);
            }
            else
            {
                Anywhere.TryAdd(category!.Value, reject);
            }
        }

        /// <summary>A rejected annotation that may be an object of <paramref name="category"/> in <paramref name="image"/>, if any.</summary>
        public (string Where, string Reason)? Of(int image, int category) =>
            Blind.TryGetValue(image, out var b) ? b
            : Maybe.TryGetValue(image, out var m) && m.TryGetValue(category, out var w) ? w
            : Anywhere.TryGetValue(category, out var a) ? a : null;
    }

    private sealed record Category(string Id, string Name);

    /// <summary>An object annotation as kept: indices into the images and categories, the box, and where it was.</summary>
    private sealed record Obj(string? Id, int Index, long Position, int Category, double[]? Box, string? BoxProblem, bool Crowd)
    {
        /// <summary>Position text for rejects, made only when one is written (a string per object would be most of the memory kept).</summary>
        public string Where => string.Create(CultureInfo.InvariantCulture, $"annotations[{Index}] (byte {Position})");
    }

    private sealed record RawObj(string? Id, string ImageId, string CategoryId, double[]? Box, string? BoxProblem, bool Crowd, int Index, long Position)
    {
        public string Where => string.Create(CultureInfo.InvariantCulture, $"annotations[{Index}] (byte {Position})");
    }

    public async IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = context.RequireInput("instances");
        var task = context.Choice("task", "existence", "existence", "region-caption", "grounding");
        var rejects = new List<SourceItem>();
        var images = new List<ImageInfo>();
        var imageIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var categories = new List<Category>();
        var categoryIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var raw = new List<RawObj>();
        var rejected = new List<(string? ImageId, string? CategoryId, string Where, string Reason)>();
        var strings = new Dictionary<string, string>(StringComparer.Ordinal);
        string Shared(string? id) => strings.TryGetValue(id!, out var kept) ? kept : strings[id!] = id!;

        CocoInstancesFile.Read(
            context.Files.Open(path, context.Progress),
            path,
            image =>
            {
                var at = image.Where("images");
                if (image.Error is { } error)
                {
                    rejects.Add(Sample.Reject(context, path, at, Sample.ReasonOf(error), error));
                }
                else if (image.Value!.Id is not { } id || string.IsNullOrEmpty(image.Value.FileName))
                {
                    rejects.Add(Sample.Reject(context, path, at, RejectReasons.MissingField, image.Value.Id is null ? "no \"id\"" : "no \"file_name\""));
                }
                else if (!imageIndex.TryAdd(id, images.Count))
                {
                    rejects.Add(Sample.Reject(context, path, at, RejectReasons.DuplicateId, $"image id {id} appears twice"));
                }
                else
                {
                    images.Add(new ImageInfo(id, image.Value.FileName!, image.Value.Width, image.Value.Height));
                }
            },
            annotation =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (annotation.Error is { } error)
                {
                    rejects.Add(Sample.Reject(context, path, annotation.Where("annotations"), Sample.ReasonOf(error), error));
                    if (annotation.Partial is { } read)
                    {
                        rejected.Add((read.ImageId, read.CategoryId, annotation.Where("annotations"), Sample.ReasonOf(error)));
                    }
                }
                else if (annotation.Value!.ImageId is null || annotation.Value.CategoryId is null)
                {
                    rejects.Add(Sample.Reject(context, path, annotation.Where("annotations"), RejectReasons.MissingField, annotation.Value.ImageId is null ? "no \"image_id\"" : "no \"category_id\""));
                    rejected.Add((annotation.Value.ImageId, annotation.Value.CategoryId, annotation.Where("annotations"), RejectReasons.MissingField));
                }
                else
                {
                    // Category and image ids repeat: one string each is kept, not one per annotation.
                    var dto = annotation.Value;
                    raw.Add(new RawObj(dto.Id, Shared(dto.ImageId), Shared(dto.CategoryId), dto.Bbox, dto.BboxProblem, dto.IsCrowd, annotation.Index, annotation.Position));
                }
            },
            category =>
            {
                var at = category.Where("categories");
                if (category.Error is { } error)
                {
                    rejects.Add(Sample.Reject(context, path, at, Sample.ReasonOf(error), error));
                }
                else if (category.Value!.Id is not { } id || TextCheck.IsBlank(category.Value.Name))
                {
                    rejects.Add(Sample.Reject(context, path, at, RejectReasons.MissingField, category.Value.Id is null ? "no \"id\"" : "no \"name\""));
                }
                else if (!categoryIndex.TryAdd(id, categories.Count))
                {
                    rejects.Add(Sample.Reject(context, path, at, RejectReasons.DuplicateId, $"category id {id} appears twice"));
                }
                else
                {
                    categories.Add(new Category(id, category.Value.Name!.Trim()));
                }
            });

        // Annotations may come before the images and categories they refer to: they are resolved once all is read.
        var byImage = new List<Obj>[images.Count];
        foreach (var a in raw)
        {
            if (!imageIndex.TryGetValue(a.ImageId, out var img))
            {
                rejects.Add(Sample.Reject(context, path, a.Where, RejectReasons.UnknownImage, $"image_id {a.ImageId} is not in \"images\""));
            }
            else if (!categoryIndex.TryGetValue(a.CategoryId, out var cat))
            {
                rejects.Add(Sample.Reject(context, path, a.Where, RejectReasons.UnknownCategory, $"category_id {a.CategoryId} is not in \"categories\""));
            }
            else
            {
                (byImage[img] ??= []).Add(new Obj(a.Id, a.Index, a.Position, cat, a.Box, a.BoxProblem, a.Crowd));
            }
        }

        var doubts = new Doubts();
        foreach (var (imageId, categoryId, where, reason) in rejected)
        {
            // An id that is there but names no image of the file, or no category asked about, doubts nothing; one that
            // cannot be read (null) may be any.
            int? img = imageId is null ? null : imageIndex.TryGetValue(imageId, out var ii) ? ii : -1;
            int? cat = categoryId is null ? null : categoryIndex.TryGetValue(categoryId, out var cc) ? cc : -1;
            if (img != -1 && cat != -1 && (img is not null || cat is not null))
            {
                doubts.Add(img, cat, (where, reason));
            }
        }

        raw.Clear();
        raw.TrimExcess();
        strings.Clear();
        foreach (var r in rejects)
        {
            yield return r;
        }

        rejects.Clear();
        var words = new ObjectWords([.. categories.Select(c => c.Name)]);
        var phrases = task == "region-caption" && context.Option("region-answer") == "phrase" ? new Dictionary<(int, int), PhraseTally>() : null;
        var mentioned = new Dictionary<int, HashSet<int>>();
        if (context.Input("captions") is { } captionsPath)
        {
            foreach (var item in ReadCaptions(context, captionsPath, imageIndex, byImage, words, mentioned, phrases))
            {
                yield return item;
            }
        }

        var minArea = decimal.Parse(context.Option("min-box-area") ?? "0", NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        IEnumerable<SourceItem> items = task == "existence"
            ? ExistenceItems(context, path, images, byImage, categories, mentioned, doubts, minArea)
            : RegionItems(context, path, task, images, byImage, categories, phrases, doubts, minArea);
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Streams the captions: per image, the categories mentioned, and (for phrases) the phrases found.</summary>
    private static IEnumerable<SourceItem> ReadCaptions(
        SourceContext context,
        string path,
        Dictionary<string, int> imageIndex,
        List<Obj>[] byImage,
        ObjectWords words,
        Dictionary<int, HashSet<int>> mentioned,
        Dictionary<(int, int), PhraseTally>? phrases)
    {
        foreach (var entry in CocoCaptionFile.Captions(context.Files.Open(path, context.Progress), path))
        {
            var at = entry.Where("annotations");
            if (entry.Error is { } error)
            {
                yield return Sample.Reject(context, path, at, Sample.ReasonOf(error), error);
                continue;
            }

            // Captions of images the instances file does not hold are not needed.
            if (entry.Value!.ImageId is not { } imageId || entry.Value.Caption is not { } caption || !imageIndex.TryGetValue(imageId, out var img))
            {
                continue;
            }

            var captionWords = ObjectWords.Words(caption);
            var found = words.Find(captionWords).ToList();
            if (found.Count == 0)
            {
                continue;
            }

            if (!mentioned.TryGetValue(img, out var set))
            {
                mentioned[img] = set = [];
            }

            foreach (var m in found)
            {
                set.Add(m.Category);
            }

            if (phrases is null || byImage[img] is not { } objects)
            {
                continue;
            }

            // Words of any object mention end a phrase ("refrigerator, stove" is two objects, not a kind of stove).
            var covered = new bool[captionWords.Count];
            foreach (var m in found)
            {
                Array.Fill(covered, true, m.Start, m.Length);
            }

            // A phrase names one object, so only categories with a single instance in the image get one; a mention
            // inside a longer one of the same category ("meter" in "parking meter") is not a mention of its own.
            foreach (var m in found.Where(m => m.Singular && objects.Count(o => o.Category == m.Category) == 1
                && !found.Any(l => l.Category == m.Category && l.Length > m.Length && l.Start <= m.Start && l.Start + l.Length >= m.Start + m.Length)))
            {
                if (PhraseFor(captionWords, covered, m.Start, m.Length) is { } phrase)
                {
                    if (!phrases.TryGetValue((img, m.Category), out var tally))
                    {
                        phrases[(img, m.Category)] = tally = new PhraseTally();
                    }

                    tally.Add(phrase);
                }
            }
        }
    }

    private IEnumerable<SourceItem> ExistenceItems(
        SourceContext context,
        string path,
        List<ImageInfo> images,
        List<Obj>[] byImage,
        List<Category> categories,
        Dictionary<int, HashSet<int>> mentioned,
        Doubts doubts,
        decimal minArea)
    {
        var negatives = context.Choice("negatives", "random", "random", "popular", "adversarial");
        var pairs = context.IntOption("pairs-per-image", 3);
        var n = categories.Count;

        // Images per category and per pair of categories, over the whole file (POPE's popular and adversarial settings).
        var frequency = new int[n];
        var together = new int[n, n];
        var present = new int[images.Count][];
        for (var i = 0; i < images.Count; i++)
        {
            present[i] = byImage[i] is { } objects ? [.. objects.Select(o => o.Category).Distinct().Order()] : [];
            foreach (var a in present[i])
            {
                frequency[a]++;
                foreach (var b in present[i].Where(b => b != a))
                {
                    together[a, b]++;
                }
            }
        }

        for (var i = 0; i < images.Count; i++)
        {
            var image = images[i];
            var where = $"images[{i.ToString(CultureInfo.InvariantCulture)}] (id {image.Id})";
            var seen = present[i];
            if (seen.Length == 0)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.NoObjects, "the image has no object annotations, so it has nothing to ask yes about");
                continue;
            }

            var positives = seen.Where(c => byImage[i].Any(o => o.Category == c && (minArea == 0 || Area(o) is { } a && a >= minArea))).ToList();
            if (positives.Count == 0)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.TinyBox, FormattableString.Invariant($"every object of the image is smaller than --min-box-area {minArea} px²"));
                continue;
            }

            // An object annotation of the image that was rejected may be of any category, or of the one it names: a
            // category it may be is never said to be absent (the "no" would be a wrong label).
            if (doubts.Blind.TryGetValue(i, out var blind))
            {
                yield return Sample.Reject(context, path, where, RejectReasons.NoNegatives,
                    $"the object annotation {blind.Where} of this image was rejected ({blind.Reason}) and its category cannot be read, so no category can be said to be absent");
                continue;
            }

            var excluded = new HashSet<int>(seen);
            excluded.UnionWith(doubts.Anywhere.Keys);
            if (doubts.Maybe.TryGetValue(i, out var maybe))
            {
                excluded.UnionWith(maybe.Keys);
            }
            if (mentioned.TryGetValue(i, out var inCaptions))
            {
                excluded.UnionWith(inCaptions);
            }

            var score = new int[n];
            foreach (var c in Enumerable.Range(0, n))
            {
                score[c] = seen.Sum(p => together[p, c]);
            }

            var candidates = Enumerable.Range(0, n).Where(c => !excluded.Contains(c) && (negatives != "adversarial" || score[c] > 0)).ToList();
            if (candidates.Count == 0)
            {
                yield return Sample.Reject(context, path, where, RejectReasons.NoNegatives, negatives == "adversarial"
                    ? "no category that co-occurs with this image's objects elsewhere in the file is absent from it and its captions"
                    : "every category is present in the image or mentioned in its captions");
                continue;
            }

            var k = Math.Min(pairs, Math.Min(positives.Count, candidates.Count));
            var yes = Shuffle(positives, context.Seed, image.Id, "coco-objects-positives").Take(k);
            var no = negatives switch
            {
                "random" => Shuffle(candidates, context.Seed, image.Id, "coco-objects-negatives").Take(k),
                "popular" => candidates.OrderByDescending(c => frequency[c]).ThenBy(c => c).Take(k),
                _ => candidates.OrderByDescending(c => score[c]).ThenByDescending(c => frequency[c]).ThenBy(c => c).Take(k),
            };
            var questions = yes.Select(c => (Category: c, Answer: "yes")).Concat(no.Select(c => (Category: c, Answer: "no"))).ToList();
            foreach (var (c, answer) in Shuffle(questions, context.Seed, image.Id, "coco-objects-order"))
            {
                var name = categories[c].Name;
                var extra = new JsonObject
                {
                    ["object"] = name,
                    ["present"] = answer == "yes",
                    ["negatives"] = negatives,
                    ["image_frequency"] = frequency[c],
                    ["cooccurrence"] = score[c],
                };
                yield return SourceItem.Of(Sample.Make(
                    context,
                    Name,
                    path,
                    $"{image.Id}-c{categories[c].Id}",
                    ExistenceTask,
                    [Image(image)],
                    [new Turn { Slots = ObjectSlots(name), Output = answer, RawAnswer = answer }],
                    [new("image_id", image.Id), new("category_id", categories[c].Id)],
                    extra));
            }
        }
    }

    private IEnumerable<SourceItem> RegionItems(
        SourceContext context,
        string path,
        string task,
        List<ImageInfo> images,
        List<Obj>[] byImage,
        List<Category> categories,
        Dictionary<(int, int), PhraseTally>? phrases,
        Doubts doubts,
        decimal minArea)
    {
        var boxes = new BoxFormat(context.Choice("box-style", BoxFormat.Unit, [.. BoxFormat.Styles]), context.IntOption("box-decimals", 3));
        var all = task == "grounding" && context.Choice("ambiguous", "skip", "skip", "all") == "all";
        for (var i = 0; i < images.Count; i++)
        {
            if (byImage[i] is not { } objects)
            {
                continue;
            }

            var image = images[i];
            if (image.Width is not > 0 || image.Height is not > 0)
            {
                yield return Sample.Reject(context, path, $"images[{i.ToString(CultureInfo.InvariantCulture)}] (id {image.Id})", RejectReasons.MissingField,
                    "the image has no positive \"width\" and \"height\", which turning boxes into coordinates needs");
                continue;
            }

            int w = image.Width.Value, h = image.Height.Value;
            var perCategory = objects.GroupBy(o => o.Category).ToDictionary(g => g.Key, g => g.ToList());
            if (task == "region-caption")
            {
                foreach (var o in objects)
                {
                    var count = perCategory[o.Category].Count;
                    var name = categories[o.Category].Name;
                    if (Skip(context, path, o, name, minArea, w, h) is { } skipped)
                    {
                        yield return skipped;
                        continue;
                    }

                    var phrase = phrases is not null && phrases.TryGetValue((i, o.Category), out var tally) ? tally.Best : null;
                    var box = boxes.Format(o.Box![0], o.Box[1], o.Box[2], o.Box[3], w, h);
                    var extra = new JsonObject
                    {
                        ["object"] = name,
                        ["bbox"] = new JsonArray([.. o.Box.Select(v => (JsonNode?)JsonValue.Create(v))]),
                        ["box_style"] = boxes.Style,
                        ["instances"] = count,
                        ["answer_from"] = phrase is null ? "category" : "captions",
                    };
                    yield return SourceItem.Of(Sample.Make(
                        context,
                        Name,
                        path,
                        o.Id is { } id ? $"a{id}" : FormattableString.Invariant($"n{o.Index}"),
                        RegionCaptionTask,
                        [Image(image)],
                        [new Turn { Slots = new Dictionary<string, string> { ["box"] = box, ["box_format"] = boxes.Description }, Output = phrase ?? name, RawAnswer = name }],
                        [new("annotation_id", o.Id ?? string.Empty), new("image_id", image.Id), new("category_id", categories[o.Category].Id)],
                        extra));
                }

                continue;
            }

            // Grounding asks about a category; its answer must hold every instance of it, or it is not asked.
            foreach (var (category, group) in perCategory.OrderBy(kv => kv.Key))
            {
                var name = categories[category].Name;
                if (doubts.Of(i, category) is { } doubt)
                {
                    yield return Sample.Reject(context, path, group[0].Where, doubt.Reason,
                        $"the object annotation {doubt.Where} was rejected ({doubt.Reason}) and may be another {name} of image {image.Id}; the answer must list every {name}, so it is not asked");
                    continue;
                }

                if (group.Count > 1 && !all)
                {
                    yield return Sample.Reject(context, path, group[0].Where, RejectReasons.AmbiguousTarget,
                        FormattableString.Invariant($"image {image.Id} has {group.Count} {ObjectWords.Plural(name)}; pass --ambiguous all to answer with every box"));
                    continue;
                }

                var bad = group.Select(o => Skip(context, path, o, name, minArea, w, h)).FirstOrDefault(s => s is not null);
                if (bad is { Reject: { } reject })
                {
                    yield return group.Count == 1
                        ? bad.Value
                        : SourceItem.Rejected(reject with { Detail = $"{reject.Detail}; the answer must list every {name} of image {image.Id}, so it is not asked" });
                    continue;
                }

                var sorted = group.Select(o => (o, c: BoxFormat.Corners(o.Box![0], o.Box[1], o.Box[2], o.Box[3], w, h)!.Value))
                    .OrderBy(x => x.c.X1).ThenBy(x => x.c.Y1).ThenBy(x => x.c.X2).ThenBy(x => x.c.Y2).Select(x => x.o).ToList();
                var answer = boxes.Join(sorted.Select(o => boxes.Format(o.Box![0], o.Box[1], o.Box[2], o.Box[3], w, h)));
                var extra = new JsonObject
                {
                    ["object"] = name,
                    ["bboxes"] = new JsonArray([.. sorted.Select(o => (JsonNode?)new JsonArray([.. o.Box!.Select(v => (JsonNode?)JsonValue.Create(v))]))]),
                    ["box_style"] = boxes.Style,
                    ["instances"] = group.Count,
                    ["annotation_ids"] = Sample.Array(sorted.Select(o => o.Id ?? string.Empty)),
                };
                yield return SourceItem.Of(Sample.Make(
                    context,
                    Name,
                    path,
                    $"{image.Id}-g{categories[category].Id}",
                    group.Count == 1 ? GroundingTask : GroundingAllTask,
                    [Image(image)],
                    [new Turn { Slots = new Dictionary<string, string>(ObjectSlots(name)) { ["box_format"] = boxes.Description }, Output = answer, RawAnswer = answer }],
                    [new("image_id", image.Id), new("category_id", categories[category].Id)],
                    extra));
            }
        }
    }

    /// <summary>The reject of an object whose box cannot be asked about: a crowd region, no usable box, or a tiny one.</summary>
    private static SourceItem? Skip(SourceContext context, string path, Obj o, string name, decimal minArea, int width, int height)
    {
        if (o.Crowd)
        {
            return Sample.Reject(context, path, o.Where, RejectReasons.CrowdAnnotation, $"a crowd region (iscrowd 1) of {name}: its box covers many objects");
        }

        if (o.Box is null)
        {
            return Sample.Reject(context, path, o.Where, RejectReasons.BadBox, o.BoxProblem ?? "no \"bbox\"");
        }

        if (o.Box[2] <= 0 || o.Box[3] <= 0 || BoxFormat.Corners(o.Box[0], o.Box[1], o.Box[2], o.Box[3], width, height) is null)
        {
            return Sample.Reject(context, path, o.Where, RejectReasons.BadBox,
                FormattableString.Invariant($"bbox [{o.Box[0]}, {o.Box[1]}, {o.Box[2]}, {o.Box[3]}] has no area inside the {width}x{height} image"));
        }

        return Area(o) is { } area && area < minArea
            ? Sample.Reject(context, path, o.Where, RejectReasons.TinyBox, FormattableString.Invariant($"box of {name} is {area} px², under --min-box-area {minArea}"))
            : null;
    }

    /// <summary>w × h of the box in square pixels, exactly as the file gives them; null without a box.</summary>
    private static decimal? Area(Obj o) =>
        o.Box is { } b ? decimal.Parse(b[2].ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture)
            * decimal.Parse(b[3].ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture) : null;

    private static Dictionary<string, string> ObjectSlots(string name) => new()
    {
        ["object"] = name,
        ["an_object"] = ObjectWords.WithArticle(name),
        ["objects"] = ObjectWords.Plural(name),
    };

    private static ImageRef Image(ImageInfo info) => new(info.FileName) { Width = info.Width, Height = info.Height };

    /// <summary>A seeded order of <paramref name="items"/>: the same seed, image and purpose always give the same order.</summary>
    private static List<T> Shuffle<T>(IReadOnlyList<T> items, long seed, string imageId, string purpose)
    {
        var list = items.ToList();
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = SeededChoice.Pick(seed, imageId, i, purpose, i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }

        return list;
    }

    // Words that end a run of modifiers before an object word: articles, numbers, prepositions, pronouns, verbs.
    private static readonly HashSet<string> PhraseStops = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "this", "that", "these", "those", "some", "any", "one", "two", "three", "four", "five", "several", "many",
        "few", "his", "her", "their", "its", "my", "our", "your", "and", "or", "but", "of", "on", "in", "at", "to", "by", "from",
        "for", "with", "without", "near", "next", "under", "over", "above", "below", "behind", "beside", "between", "into", "onto",
        "off", "up", "down", "out", "as", "is", "are", "was", "were", "be", "been", "has", "have", "had", "there", "here", "it",
        "they", "he", "she", "who", "which", "what", "very", "other", "another", "each", "both", "all", "no", "not", "s", "sits",
        "stands", "holds", "eats", "looks", "rides", "lies", "lays", "walks", "plays", "while", "inside", "outside", "top", "front",
        "side", "back", "around", "across", "along", "against", "through", "like", "than", "then", "so", "too", "also", "just",
    };

    // Modifiers that end in "ing" but are not verbs.
    private static readonly HashSet<string> IngModifiers = new(StringComparer.Ordinal) { "wedding", "dining", "living", "ceiling", "sliding", "swimming", "parking", "baking", "cutting" };

    /// <summary>The words before a singular mention that describe it ("brown", "stainless steel"), up to three, with the mention: null without any.</summary>
    private static string? PhraseFor(List<string> words, bool[] covered, int start, int length)
    {
        var from = start;
        while (from > 0 && start - from < 3)
        {
            var w = words[from - 1];
            if (covered[from - 1] || !char.IsAsciiLetterOrDigit(w[0]) || PhraseStops.Contains(w) || w.All(char.IsAsciiDigit) || (w.EndsWith("ing", StringComparison.Ordinal) && !IngModifiers.Contains(w)))
            {
                break;
            }

            from--;
        }

        return from == start ? null : string.Join(' ', words.Skip(from).Take(start - from + length));
    }

    /// <summary>Phrases found for one object, with how often; the most frequent wins, the first seen on a tie.</summary>
    private sealed class PhraseTally
    {
        private readonly List<(string Phrase, int Count)> _seen = [];

        public void Add(string phrase)
        {
            var i = _seen.FindIndex(s => s.Phrase == phrase);
            if (i < 0)
            {
                _seen.Add((phrase, 1));
            }
            else
            {
                _seen[i] = (phrase, _seen[i].Count + 1);
            }
        }

        public string? Best => _seen.Count == 0 ? null : _seen.Aggregate((best, s) => s.Count > best.Count ? s : best).Phrase;
    }
}
