using System.Text.Json;
using System.Text.RegularExpressions;
using MllmData.Objects;

namespace MllmData.Tests.Survey;

/// <summary>Issue #13 §1-2: the coco-objects adapter on the real coco-mini instances and captions.</summary>
public class TheCocoObjectsAdapter
{
    private static readonly string Instances = TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json");
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    /// <summary>What the test reads from the files itself, independently of the adapter.</summary>
    private sealed class Truth
    {
        public Dictionary<string, string> CategoryNames { get; } = [];

        /// <summary>image id → the category ids of its annotations (crowd and tiny included).</summary>
        public Dictionary<string, HashSet<string>> Present { get; } = [];

        public Dictionary<string, List<string>> CaptionsOf { get; } = [];

        public Dictionary<string, (int W, int H)> Sizes { get; } = [];

        /// <summary>Every annotation: id, image, category, bbox, crowd, and its index in the array.</summary>
        public List<(string Id, string Image, string Category, double[] Box, bool Crowd, int Index)> Annotations { get; } = [];

        public static Truth Read()
        {
            var t = new Truth();
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Instances));
            var root = doc.RootElement;
            foreach (var c in root.GetProperty("categories").EnumerateArray())
            {
                t.CategoryNames[c.GetProperty("id").GetRawText()] = c.GetProperty("name").GetString()!;
            }

            foreach (var i in root.GetProperty("images").EnumerateArray())
            {
                var id = i.GetProperty("id").GetRawText();
                t.Present[id] = [];
                t.CaptionsOf[id] = [];
                t.Sizes[id] = (i.GetProperty("width").GetInt32(), i.GetProperty("height").GetInt32());
            }

            var index = 0;
            foreach (var a in root.GetProperty("annotations").EnumerateArray())
            {
                var image = a.GetProperty("image_id").GetRawText();
                var cat = a.GetProperty("category_id").GetRawText();
                t.Present[image].Add(cat);
                t.Annotations.Add((a.GetProperty("id").GetRawText(), image, cat, [.. a.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble())], a.GetProperty("iscrowd").GetInt32() == 1, index++));
            }

            using var captions = JsonDocument.Parse(File.ReadAllBytes(Captions));
            foreach (var c in captions.RootElement.GetProperty("annotations").EnumerateArray())
            {
                t.CaptionsOf[c.GetProperty("image_id").GetRawText()].Add(c.GetProperty("caption").GetString()!);
            }

            return t;
        }

        /// <summary>Whether a caption of the image names the category or its simple plural, as whole words.</summary>
        public bool InCaption(string image, string category)
        {
            var name = Regex.Escape(CategoryNames[category]);
            return CaptionsOf[image].Any(c => Regex.IsMatch(c, $@"\b{name}(s|es)?\b", RegexOptions.IgnoreCase));
        }
    }

    private static readonly Lazy<Truth> File_ = new(Truth.Read);

    private static Truth T => File_.Value;

    private static Task<SurveyBuild.Built> BuildAsync(params string[] args) =>
        SurveyBuild.RunAsync(["--adapter", "coco-objects", "--input", $"instances={Instances}", "--input", $"captions={Captions}", .. args]);

    private static string Ids(JsonElement r, string key) => r.GetProperty("meta").GetProperty("ids").GetProperty(key).GetString()!;

    private static string Answer(JsonElement r) => r.GetProperty("conversations")[1].GetProperty("value").GetString()!;

    private static string Question(JsonElement r) => r.GetProperty("conversations")[0].GetProperty("value").GetString()!;

    [Theory]
    [InlineData("random")]
    [InlineData("popular")]
    [InlineData("adversarial")]
    public async Task Existence_Questions_Are_Exactly_Balanced_Per_Image_And_No_Negative_Is_Present_Or_In_A_Caption(string negatives)
    {
        var b = await BuildAsync("--task", "existence", "--negatives", negatives);

        Assert.Equal(0, b.ExitCode);
        var byImage = b.Records.GroupBy(r => Ids(r, "image_id")).ToList();
        Assert.NotEmpty(byImage);
        foreach (var image in byImage)
        {
            var yes = image.Where(r => Answer(r) == "yes").Select(r => Ids(r, "category_id")).ToList();
            var no = image.Where(r => Answer(r) == "no").Select(r => Ids(r, "category_id")).ToList();
            Assert.Equal(image.Count(), yes.Count + no.Count);
            Assert.Equal(yes.Count, no.Count);

            // As many pairs as the image allows, up to the default of three.
            var present = T.Present[image.Key];
            if (negatives != "adversarial")
            {
                Assert.Equal(Math.Min(3, present.Count), yes.Count);
            }

            Assert.All(yes, c => Assert.Contains(c, present));
            Assert.All(no, c => Assert.DoesNotContain(c, present));
            Assert.All(no, c => Assert.False(T.InCaption(image.Key, c), $"{T.CategoryNames[c]} is in a caption of image {image.Key}"));
            Assert.Equal(yes.Count + no.Count, yes.Concat(no).Distinct().Count());
        }

        // Every image with objects is asked about, or rejected with a reason (adversarial: nothing co-occurs that is absent).
        Assert.Equal(T.Present.Count, byImage.Count + b.RejectReasons.Length);
        Assert.All(b.RejectReasons, r => Assert.Equal("no-negatives", r));
        if (negatives != "adversarial")
        {
            Assert.Empty(b.RejectReasons);
        }

        // The question names its object: "Is there a bowl ..." / "... any bowls ...".
        Assert.All(b.Records, r =>
        {
            var name = T.CategoryNames[Ids(r, "category_id")];
            Assert.True(Question(r).Contains(name, StringComparison.Ordinal) || Question(r).Contains(ObjectWords.Plural(name), StringComparison.Ordinal), Question(r));
        });
    }

    [Fact]
    public async Task Adversarial_Negatives_Are_The_Absent_Categories_That_Co_Occur_Most_With_The_Images_Objects()
    {
        // Co-occurrence computed here from the file: for each pair of categories, the images holding both.
        var together = new Dictionary<(string, string), int>();
        var frequency = new Dictionary<string, int>();
        foreach (var cats in T.Present.Values)
        {
            foreach (var a in cats)
            {
                frequency[a] = frequency.GetValueOrDefault(a) + 1;
                foreach (var c in cats.Where(c => c != a))
                {
                    together[(a, c)] = together.GetValueOrDefault((a, c)) + 1;
                }
            }
        }

        int Score(string image, string c) => T.Present[image].Sum(p => together.GetValueOrDefault((p, c)));

        var b = await BuildAsync("--task", "existence", "--negatives", "adversarial");
        Assert.Equal(0, b.ExitCode);
        var names = T.CategoryNames.Keys.ToList();
        var words = new ObjectWords([.. names.Select(k => T.CategoryNames[k])]);
        var checkedImages = 0;
        foreach (var image in b.Records.GroupBy(r => Ids(r, "image_id")))
        {
            var chosen = image.Where(r => Answer(r) == "no").Select(r => Ids(r, "category_id")).ToList();
            Assert.NotEmpty(chosen);

            // Drawn from co-occurring categories only, and the score in meta is the one counted here.
            foreach (var r in image.Where(r => Answer(r) == "no"))
            {
                var c = Ids(r, "category_id");
                Assert.True(Score(image.Key, c) > 0, $"{T.CategoryNames[c]} never co-occurs with the objects of image {image.Key}");
                Assert.Equal(Score(image.Key, c), r.GetProperty("meta").GetProperty("extra").GetProperty("cooccurrence").GetInt32());
            }

            // They are the top of the ranking: any absent category scoring above the weakest chosen one was left
            // out only because a caption of the image mentions it (by name, plural or synonym).
            var weakest = chosen.Min(c => Score(image.Key, c));
            var mentioned = T.CaptionsOf[image.Key].SelectMany(words.Mentions).Select(i => names[i]).ToHashSet();
            foreach (var c in names.Where(c => !T.Present[image.Key].Contains(c) && !chosen.Contains(c) && Score(image.Key, c) > weakest))
            {
                Assert.Contains(c, mentioned);
            }

            checkedImages++;
        }

        Assert.True(checkedImages > 60, $"{checkedImages} images checked");

        // One image by hand: 397133 (person, bottle, cup, knife, bowl, broccoli, carrot, dining table, oven, sink, ...).
        var first = b.Records.Where(r => Ids(r, "image_id") == "397133" && Answer(r) == "no").Select(r => Ids(r, "category_id")).ToList();
        var ranking = names.Where(c => !T.Present["397133"].Contains(c) && !T.InCaption("397133", c))
            .OrderByDescending(c => Score("397133", c)).ThenByDescending(c => frequency.GetValueOrDefault(c)).ThenBy(names.IndexOf).Take(3).ToList();
        Assert.Equal(ranking.Order(), first.Order());
    }

    [Fact]
    public async Task Popular_Negatives_Are_The_Most_Frequent_Absent_Categories()
    {
        // Images per category, counted here (person: 39 of the 79 images).
        var frequency = T.CategoryNames.Keys.ToDictionary(c => c, c => T.Present.Values.Count(p => p.Contains(c)));
        Assert.Equal(39, frequency["1"]);
        var names = T.CategoryNames.Keys.ToList();
        var words = new ObjectWords([.. names.Select(k => T.CategoryNames[k])]);
        var b = await BuildAsync("--task", "existence", "--negatives", "popular");
        Assert.Equal(0, b.ExitCode);
        foreach (var image in b.Records.GroupBy(r => Ids(r, "image_id")))
        {
            var chosen = image.Where(r => Answer(r) == "no").Select(r => Ids(r, "category_id")).ToList();
            var weakest = chosen.Min(c => frequency[c]);

            // A more frequent absent category that was not asked is one a caption mentions.
            var mentioned = T.CaptionsOf[image.Key].SelectMany(words.Mentions).Select(i => names[i]).ToHashSet();
            Assert.All(
                names.Where(c => !T.Present[image.Key].Contains(c) && !chosen.Contains(c) && frequency[c] > weakest),
                c => Assert.Contains(c, mentioned));
        }

        // Where person is absent and unmentioned (no "man", "people", "skier", ...), it is always asked: it is the most frequent category.
        var noPerson = b.Records.GroupBy(r => Ids(r, "image_id"))
            .Where(g => !T.Present[g.Key].Contains("1") && !T.CaptionsOf[g.Key].SelectMany(words.Mentions).Contains(names.IndexOf("1"))).ToList();
        Assert.NotEmpty(noPerson);
        Assert.All(noPerson, g => Assert.Contains(g, r => Ids(r, "category_id") == "1" && Answer(r) == "no"));
    }

    [Fact]
    public async Task The_Same_Seed_Gives_The_Same_Bytes_And_Another_Seed_Other_Random_Negatives()
    {
        var a = await BuildAsync("--task", "existence", "--negatives", "random", "--seed", "7");
        var b = await BuildAsync("--task", "existence", "--negatives", "random", "--seed", "7");
        var c = await BuildAsync("--task", "existence", "--negatives", "random", "--seed", "8");

        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Bytes, b.Bytes);
        Assert.NotEqual(
            a.Records.Where(r => Answer(r) == "no").Select(r => r.GetProperty("id").GetString()).Order(),
            c.Records.Where(r => Answer(r) == "no").Select(r => r.GetProperty("id").GetString()).Order());

        var g1 = await BuildAsync("--task", "grounding", "--ambiguous", "all", "--seed", "3");
        var g2 = await BuildAsync("--task", "grounding", "--ambiguous", "all", "--seed", "3");
        Assert.Equal(g1.Bytes, g2.Bytes);
    }

    [Theory]

    // Annotation 82445, a bottle in image 397133 (640 x 427), bbox [217.62, 240.54, 38.99, 57.75]:
    // x1 = 217.62, y1 = 240.54, x2 = 217.62 + 38.99 = 256.61, y2 = 240.54 + 57.75 = 298.29.
    // unit: 217.62/640 = 0.34003125, 240.54/427 = 0.563325..., 256.61/640 = 0.400953125, 298.29/427 = 0.698571...
    [InlineData("82445", "unit", null, "[0.340, 0.563, 0.401, 0.699]")]
    [InlineData("82445", "unit", "5", "[0.34003, 0.56333, 0.40095, 0.69857]")]
    [InlineData("82445", "unit", "1", "[0.3, 0.6, 0.4, 0.7]")]

    // qwen: × 1000 and rounded: 340.03 → 340, 563.33 → 563, 400.95 → 401, 698.57 → 699.
    [InlineData("82445", "qwen", null, "<box>(340,563),(401,699)</box>")]

    // pixel: 217.62 → 218, 240.54 → 241, 256.61 → 257, 298.29 → 298.
    [InlineData("82445", "pixel", null, "[218, 241, 257, 298]")]

    // Annotation 119568, the dining table of image 397133, bbox [1, 240.24, 346.63, 186.76]: x1 = 1/640 = 0.0015625 → 0.002;
    // y2 = 240.24 + 186.76 = 427 = the image height → 1.000; x2 = 347.63/640 = 0.543171875 → 0.543; y1 = 240.24/427 = 0.56262... → 0.563.
    [InlineData("119568", "unit", null, "[0.002, 0.563, 0.543, 1.000]")]

    // qwen: 1.5625 → 2, 562.62 → 563, 543.17 → 543, 1000.
    [InlineData("119568", "qwen", null, "<box>(2,563),(543,1000)</box>")]
    [InlineData("119568", "pixel", null, "[1, 240, 348, 427]")]
    public async Task Region_Captions_Write_Hand_Checked_Boxes_In_Each_Style(string annotation, string style, string? decimals, string expected)
    {
        string[] extra = decimals is null ? [] : ["--box-decimals", decimals];
        var b = await BuildAsync(["--task", "region-caption", "--box-style", style, .. extra]);

        Assert.Equal(0, b.ExitCode);
        var r = b.Record($"coco-objects-a{annotation}");
        Assert.Contains(expected, Question(r), StringComparison.Ordinal);
        Assert.Equal(annotation == "82445" ? "bottle" : "dining table", Answer(r));
    }

    [Theory]
    [InlineData("unit", "[0.340, 0.563, 0.401, 0.699]")]
    [InlineData("qwen", "<box>(340,563),(401,699)</box>")]
    [InlineData("pixel", "[218, 241, 257, 298]")]
    public async Task Grounding_Answers_With_The_Same_Hand_Checked_Box(string style, string expected)
    {
        var b = await BuildAsync("--task", "grounding", "--box-style", style);

        Assert.Equal(0, b.ExitCode);

        // Image 397133 has one bottle (category 44): its answer is that box alone.
        var r = b.Record("coco-objects-397133-g44");
        Assert.Equal(expected, Answer(r));
        Assert.Contains("bottle", Question(r), StringComparison.Ordinal);
        Assert.Equal("grounding", r.GetProperty("meta").GetProperty("task").GetString());
    }

    [Fact]
    public void Box_Arithmetic_Is_Exact_Decimal_And_Clamped_To_The_Image()
    {
        // 79.04 / 640 = 0.1235 exactly: half away from zero gives 0.124 (binary floating point would say 0.12349999...).
        Assert.Equal("[0.124, 0.000, 0.500, 0.500]", new BoxFormat("unit", 3).Format(79.04, 0, 240.96, 50, 640, 100));

        // A box running past the right and bottom edges ends at them: x2 = min(600 + 100, 640) = 640 → 1.000 and 1000.
        Assert.Equal("[0.938, 0.900, 1.000, 1.000]", new BoxFormat("unit", 3).Format(600, 90, 100, 20, 640, 100));
        Assert.Equal("<box>(938,900),(1000,1000)</box>", new BoxFormat("qwen", 3).Format(600, 90, 100, 20, 640, 100));
        Assert.Equal("[600, 90, 640, 100]", new BoxFormat("pixel", 3).Format(600, 90, 100, 20, 640, 100));

        // 0.5 pixel rounds up (away from zero): 10.5 → 11.
        Assert.Equal("[11, 0, 21, 1]", new BoxFormat("pixel", 3).Format(10.5, 0, 10, 1, 640, 100));
        Assert.Null(BoxFormat.Corners(700, 0, 10, 10, 640, 100));
    }

    [Fact]
    public async Task Crowd_Regions_And_Tiny_Boxes_Are_Skipped_With_Their_Reason_Codes()
    {
        var b = await BuildAsync("--task", "region-caption", "--min-box-area", "100");
        Assert.Equal(0, b.ExitCode);

        // Counted here: 5 crowd annotations; tiny = non-crowd boxes with w × h under 100 px².
        var crowd = T.Annotations.Count(a => a.Crowd);
        var tiny = T.Annotations.Count(a => !a.Crowd && (decimal)a.Box[2] * (decimal)a.Box[3] < 100m);
        Assert.Equal(5, crowd);
        Assert.True(tiny > 0);
        Assert.Equal(crowd, b.RejectReasons.Count(r => r == "crowd-annotation"));
        Assert.Equal(tiny, b.RejectReasons.Count(r => r == "tiny-box"));
        Assert.Equal(crowd + tiny, b.RejectReasons.Length);
        Assert.Equal(T.Annotations.Count - crowd - tiny, b.Records.Count);

        // The rejects name the annotation: the crowd region of image 217285 (person, category 1) is annotations[i].
        var rejects = File.ReadAllLines(Path.Combine(b.Out, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var crowdIndex = T.Annotations.Single(a => a.Crowd && a.Image == "217285").Index;
        Assert.Contains(rejects, r => r.GetProperty("reason").GetString() == "crowd-annotation" && r.GetProperty("position").GetString()!.StartsWith($"annotations[{crowdIndex}] ", StringComparison.Ordinal));
        Assert.DoesNotContain(b.Records, r => r.GetProperty("meta").GetProperty("extra").GetProperty("bbox").EnumerateArray().Select(v => (decimal)v.GetDouble()).Skip(2).Aggregate((w, h) => w * h) < 100m);

        // Without --min-box-area nothing is tiny.
        var all = await BuildAsync("--task", "region-caption");
        Assert.Equal(["crowd-annotation", "crowd-annotation", "crowd-annotation", "crowd-annotation", "crowd-annotation"], all.RejectReasons);
    }

    [Fact]
    public async Task Grounding_Skips_Or_Lists_Every_Instance_Of_An_Ambiguous_Category()
    {
        var groups = T.Annotations.GroupBy(a => (a.Image, a.Category)).ToList();
        var several = groups.Where(g => g.Count() > 1).ToList();

        var skip = await BuildAsync("--task", "grounding");
        Assert.Equal(0, skip.ExitCode);
        Assert.Equal(several.Count, skip.RejectReasons.Count(r => r == "ambiguous-target"));
        Assert.All(skip.Records, r => Assert.Equal(1, r.GetProperty("meta").GetProperty("extra").GetProperty("instances").GetInt32()));

        var all = await BuildAsync("--task", "grounding", "--ambiguous", "all", "--box-style", "pixel");
        Assert.Equal(0, all.ExitCode);
        Assert.Equal(0, all.RejectReasons.Count(r => r == "ambiguous-target"));

        // Image 397133 has two people (category 1): [0, 262.81, 62.16, 36.77] and [388.66, 69.92, 109.41, 277.62], left to right:
        // [0, 263, 62, 300] (262.81 + 36.77 = 299.58 → 300) and [389, 70, 498, 348] (388.66 + 109.41 = 498.07; 69.92 + 277.62 = 347.54).
        var people = all.Record("coco-objects-397133-g1");
        Assert.Equal("[0, 263, 62, 300], [389, 70, 498, 348]", Answer(people));
        Assert.Equal("grounding-all", people.GetProperty("meta").GetProperty("task").GetString());

        // Every multi-instance group without a crowd region lists all its boxes; groups with one are rejected as crowd.
        foreach (var g in several)
        {
            var id = $"coco-objects-{g.Key.Image}-g{g.Key.Category}";
            if (g.Any(a => a.Crowd))
            {
                Assert.DoesNotContain(all.Records, r => r.GetProperty("id").GetString() == id);
                continue;
            }

            Assert.Equal(g.Count(), Regex.Count(Answer(all.Record(id)), @"\["));
        }

        Assert.Equal(several.Count(g => g.Any(a => a.Crowd)) + groups.Count(g => g.Count() == 1 && g.Single().Crowd), all.RejectReasons.Count(r => r == "crowd-annotation"));
    }

    [Fact]
    public async Task Region_Answers_Can_Be_Phrases_From_The_Captions()
    {
        var b = await BuildAsync("--task", "region-caption", "--region-answer", "phrase");
        Assert.Equal(0, b.ExitCode);

        var phrased = b.Records.Where(r => r.GetProperty("meta").GetProperty("extra").GetProperty("answer_from").GetString() == "captions").ToList();
        Assert.NotEmpty(phrased);
        foreach (var r in phrased)
        {
            // The phrase is words of a caption of the image, and its object is the only one of its category there.
            var image = Ids(r, "image_id");
            var phrase = Answer(r);
            Assert.Contains(T.CaptionsOf[image], c => (" " + Regex.Replace(c.ToLowerInvariant(), "[^a-z0-9]+", " ") + " ").Contains($" {phrase} ", StringComparison.Ordinal));
            Assert.NotEqual(r.GetProperty("meta").GetProperty("extra").GetProperty("object").GetString(), phrase);
            Assert.Equal(1, r.GetProperty("meta").GetProperty("extra").GetProperty("instances").GetInt32());
        }

        // An object whose category appears twice in its image keeps the name: a caption's phrase may be about the other one.
        Assert.All(
            b.Records.Where(r => r.GetProperty("meta").GetProperty("extra").GetProperty("instances").GetInt32() > 1),
            r => Assert.Equal(r.GetProperty("meta").GetProperty("extra").GetProperty("object").GetString(), Answer(r)));
    }

    [Fact]
    public async Task An_Existence_Evaluation_Set_Scores_With_The_Yes_No_Metric()
    {
        var dir = TestPaths.NewTempDir();
        var outDir = Path.Combine(dir, "eval");
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-objects", "--input", $"instances={Instances}", "--input", $"captions={Captions}", "--task", "existence", "--negatives", "adversarial", "--split-role", "eval", "--out", outDir);
        Assert.Equal(0, r.ExitCode);

        var questions = File.ReadAllLines(Assert.Single(TestPaths.Shards(outDir))).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var answers = File.ReadAllLines(Path.Combine(outDir, "answers.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(questions.Count, answers.Count);
        Assert.All(questions, q => Assert.Contains("yes or no", q.GetProperty("text").GetString()!, StringComparison.OrdinalIgnoreCase));
        Assert.All(questions, q => Assert.DoesNotContain("short phrase", q.GetProperty("text").GetString()!, StringComparison.Ordinal));
        Assert.Equal(answers.Count / 2, answers.Count(a => a.GetProperty("answers")[0].GetString() == "yes"));

        // A model that always says yes: accuracy 0.5, precision 0.5, recall 1, yes ratio 1.
        var always = Path.Combine(dir, "yes.jsonl");
        File.WriteAllLines(always, questions.Select(q => $$"""{"question_id": "{{q.GetProperty("question_id").GetString()}}", "text": "Yes, there is."}"""));
        var s = await CliRunner.RunAsync("score", "--predictions", always, "--answers", Path.Combine(outDir, "answers.jsonl"), "--metric", "yesno", "--json");
        Assert.Equal(0, s.ExitCode);
        var j = JsonDocument.Parse(s.Output).RootElement;
        Assert.Equal((0.5, 0.5, 1.0, 1.0), (j.GetProperty("accuracy").GetDouble(), j.GetProperty("precision").GetDouble(), j.GetProperty("recall").GetDouble(), j.GetProperty("yes_ratio").GetDouble()));

        // The reference answers themselves score 1.
        var right = Path.Combine(dir, "right.jsonl");
        File.WriteAllLines(right, answers.Select(a => $$"""{"question_id": "{{a.GetProperty("question_id").GetString()}}", "text": "{{a.GetProperty("answers")[0].GetString()}}"}"""));
        var perfect = JsonDocument.Parse((await CliRunner.RunAsync("score", "--predictions", right, "--answers", Path.Combine(outDir, "answers.jsonl"), "--metric", "yesno", "--json")).Output).RootElement;
        Assert.Equal(1.0, perfect.GetProperty("accuracy").GetDouble());
    }

    [Theory]
    [InlineData("--task", "grounding", "--negatives", "popular")]
    [InlineData("--task", "existence", "--box-style", "qwen")]
    [InlineData("--task", "grounding", "--box-style", "qwen", "--box-decimals", "4")]
    [InlineData("--task", "region-caption", "--ambiguous", "all")]
    [InlineData("--task", "counting")]
    [InlineData("--negatives", "hard")]
    [InlineData("--min-box-area", "ten")]
    [InlineData("--task", "grounding", "--box-decimals", "0")]
    public async Task Bad_Or_Misplaced_Options_Exit_1_Before_Any_File_Is_Read(params string[] args)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["build", "--adapter", "coco-objects", "--input", "instances=/no/such/instances.json", .. args, "--out", outDir]);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{args[^2]} (source 'coco-objects')", r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("no/such", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Region_Answer_Phrase_Needs_The_Captions_File()
    {
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-objects", "--input", $"instances={Instances}", "--task", "region-caption", "--region-answer", "phrase", "--out", Path.Combine(TestPaths.NewTempDir(), "o"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("needs --input captions=FILE", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Instances_File_Is_Read_In_One_Pass_Whatever_The_Order_Of_Its_Arrays()
    {
        // Categories first, annotations before the images they name; a bad box, an unknown category, an unknown image.
        var dir = TestPaths.NewTempDir();
        var file = Path.Combine(dir, "instances.json");
        File.WriteAllText(file, """
            {"categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "cat"}, {"id": 3, "name": "umbrella"}],
             "annotations": [
               {"id": 10, "image_id": 5, "category_id": 1, "bbox": [10, 20, 30, 40], "iscrowd": 0},
               {"id": 11, "image_id": 5, "category_id": 2, "bbox": [1, 2], "iscrowd": 0},
               {"id": 12, "image_id": 5, "category_id": 9, "bbox": [0, 0, 5, 5], "iscrowd": 0},
               {"id": 13, "image_id": 6, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 0}],
             "info": {"note": "skipped"},
             "images": [{"id": 5, "file_name": "five.jpg", "width": 100, "height": 200}]}
            """);
        var outDir = Path.Combine(dir, "out");
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-objects", "--input", $"instances={file}", "--task", "region-caption", "--box-style", "pixel", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var records = TestPaths.Shards(outDir).SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var dog = Assert.Single(records);
        Assert.Equal("dog", Answer(dog));
        Assert.Contains("[10, 20, 40, 60]", Question(dog), StringComparison.Ordinal);
        var reasons = File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()).Order().ToList();
        Assert.Equal(["bad-box", "unknown-category", "unknown-image"], reasons);

        // Existence from the same file: one yes (dog, or the cat, which is there even if its box is bad) and one no: umbrella.
        var e = await CliRunner.RunAsync("build", "--adapter", "coco-objects", "--input", $"instances={file}", "--out", Path.Combine(dir, "e"));
        Assert.Equal(0, e.ExitCode);
        var asked = TestPaths.Shards(Path.Combine(dir, "e")).SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, asked.Count);
        Assert.Equal(["no", "yes"], asked.Select(Answer).Order());
        var no = asked.Single(a => Answer(a) == "no");
        Assert.Equal("3", Ids(no, "category_id"));
        Assert.Contains("an umbrella", Question(no), StringComparison.Ordinal);
    }

    [Fact]
    public void Mentions_Cover_Names_Plurals_And_Synonyms()
    {
        var words = new ObjectWords(["person", "dining table", "hot dog", "dog", "wine glass", "skis"]);
        Assert.Equal([0], words.Mentions("Two men stand by the fence.").Order());
        Assert.Equal([1], words.Mentions("A wooden table with plates.").Order());
        Assert.Equal([2, 3], words.Mentions("A hot dog on a bun.").Order());
        Assert.Equal([4], words.Mentions("Some wine glasses, empty.").Order());
        Assert.Equal([5], words.Mentions("A pair of skis leaning on a wall.").Order());
        Assert.Empty(words.Mentions("A quiet street at night."));
        Assert.Equal("people", ObjectWords.Plural("person"));
        Assert.Equal("wine glasses", ObjectWords.Plural("wine glass"));
        Assert.Equal("an umbrella", ObjectWords.WithArticle("umbrella"));
        Assert.Equal("a dog", ObjectWords.WithArticle("dog"));
    }
}
