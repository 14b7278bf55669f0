using System.Text.Json;
using MllmData.Generation;
using MllmData.ModelCalls;
using MllmData.Templates;

namespace MllmData.Tests.Models;

/// <summary>Issue #13 §4: object mentions in generated text that the image's annotations and captions do not hold.</summary>
public class TheHallucinationCheck
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    private static readonly string Instances = TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json");

    private static string[] Found(string text) => [.. ObjectMentions.Coco.Find(text).Select(m => $"{m.Words}={m.Category}")];

    [Theory]
    [InlineData("Two dogs chase a puppy.", new[] { "dogs=dog", "puppy=dog" })]
    [InlineData("Buses, benches and knives.", new[] { "buses=bus", "benches=bench", "knives=knife" })]
    [InlineData("Three Giraffes and some sheep.", new[] { "giraffes=giraffe", "sheep=sheep" })]
    [InlineData("A man eats a hot dog.", new[] { "man=person", "hot dog=hot dog" })]
    [InlineData("Hot-dogs on a grill.", new[] { "hot dogs=hot dog" })]
    [InlineData("She holds a cell phone and two cellphones.", new[] { "cell phone=cell phone", "cellphones=cell phone" })]
    [InlineData("A teddy bear sits next to a bear.", new[] { "teddy bear=teddy bear", "bear=bear" })]
    [InlineData("A red fire hydrant by the stop sign.", new[] { "fire hydrant=fire hydrant", "stop sign=stop sign" })]
    [InlineData("A sofa faces the television; a motorbike outside.", new[] { "sofa=couch", "television=tv", "motorbike=motorcycle" })]
    [InlineData("Wine glasses and a wineglass on the dining table.", new[] { "wine glasses=wine glass", "wineglass=wine glass", "dining table=dining table" })]
    [InlineData("A woman and her children.", new[] { "woman=person", "children=person" })]
    [InlineData("There is no cat, not a single dog, and it isn't a bus; a park without any umbrellas.", new string[0])]
    [InlineData("An orange shirt and a glass of water.", new string[0])]
    public void Finds_Mentions_With_Plurals_Multi_Word_Names_And_Synonyms(string text, string[] expected)
    {
        Assert.Equal(expected, Found(text));
    }

    [Fact]
    public void The_Shipped_List_Names_Exactly_The_80_Coco_Categories_Of_A_Real_Instances_File()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Instances));
        var real = doc.RootElement.GetProperty("categories").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).Order(StringComparer.Ordinal);
        Assert.Equal(real, ObjectMentions.Coco.Categories.Order(StringComparer.Ordinal));
        Assert.Equal(80, ObjectMentions.Coco.Categories.Count);

        // Each category is found by its own name, singular and regular plural (irregular ones are listed: people, knives).
        foreach (var category in ObjectMentions.Coco.Categories.Where(c => c is not ("orange" or "tie" or "mouse" or "skis" or "sports ball")))
        {
            Assert.Equal([category], ObjectMentions.Coco.Find($"I see one {category} here.").Select(m => m.Category));
            if (category is not ("person" or "sheep" or "knife" or "scissors" or "broccoli"))
            {
                Assert.Equal([category], ObjectMentions.Coco.Find($"I see {ObjectMentions.Plural(category)} here.").Select(m => m.Category));
            }
        }
    }

    [Theory]
    [InlineData("dog", "dogs")]
    [InlineData("bus", "buses")]
    [InlineData("bench", "benches")]
    [InlineData("puppy", "puppies")]
    [InlineData("toy", "toys")]
    [InlineData("hot dog", "hot dogs")]
    public void Makes_Regular_Plurals(string singular, string plural) => Assert.Equal(plural, ObjectMentions.Plural(singular));

    [Fact]
    public void Counts_Against_Annotated_Categories_And_What_The_Captions_Name()
    {
        // 000000397133.jpg: annotated bottle, bowl, broccoli, carrot, cup, dining table, knife, oven, person, sink, spoon;
        // its captions name pizzas, a man, an oven, a stove, a table. Pizza is in a caption only, dog and cats in neither.
        var annotated = ImageContext.CategoriesByFileName(Instances)["000000397133.jpg"];
        Assert.Equal(["bottle", "bowl", "broccoli", "carrot", "cup", "dining table", "knife", "oven", "person", "sink", "spoon"], annotated.Order(StringComparer.Ordinal));
        var captions = MllmData.Json.CocoCaptionFile.ByFileName(Captions)["000000397133.jpg"];

        var result = HallucinationTally.Check(["A man slices broccoli next to a dog and two cats while a pizza bakes."], annotated, captions);

        Assert.Equal(["man", "broccoli", "dog", "cats", "pizza"], result.Mentions.Select(m => m.Words));
        Assert.Equal(["dog", "cats"], result.Hallucinated.Select(m => m.Words));
        var tally = new HallucinationTally();
        tally.Add(result);
        tally.Add(HallucinationTally.Check(["A person at the oven."], annotated, captions));
        tally.Add(HallucinationTally.Check(["Nothing to see."], annotated, captions));
        Assert.Equal(1 / 3.0, tally.ChairS, 12);
        Assert.Equal(2 / 7.0, tally.ChairI, 12);
    }

    /// <summary>Four short answers on two real COCO images and one unknown image, and the replies written for them.</summary>
    private static async Task<string> BuildCrafted(params string[] extra)
    {
        var dir = TestPaths.NewTempDir();
        var file = Path.Combine(dir, "qa.jsonl");
        File.WriteAllLines(file, [
            """{"image": "000000397133.jpg", "q": "What is the man making?", "a": "pizza"}""",
            """{"image": "000000397133.jpg", "q": "Is there a pet?", "a": "yes"}""",
            """{"image": "000000349860.jpg", "q": "What is he riding?", "a": "skateboard"}""",
            """{"image": "other/unknown.jpg", "q": "What colour is it?", "a": "red"}""",
        ]);
        var outDir = Path.Combine(dir, "built");
        var r = await CliRunner.RunAsync(["build", "--adapter", "jsonl", "--input", $"file={file}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", "--out", outDir, .. extra]);
        Assert.True(r.ExitCode == 0, r.Error);
        return outDir;
    }

    private static readonly Dictionary<string, string> Replies = new(StringComparer.Ordinal)
    {
        ["pizza"] = "The man is making a pizza beside a bowl of broccoli.",            // 4 mentions, all held (pizza by a caption)
        ["yes"] = "Yes, a dog and two cats sit by the oven.",                           // 3 mentions, dog and cats not held
        ["skateboard"] = "He is riding a skateboard past a hot dog stand and a parked car.", // 3 mentions, the hot dog not held
        ["red"] = "It is red, like the bus.",                                            // image not in the files: not checked
    };

    private static FakeReply Crafted(SeenRequest r)
    {
        var answer = r.UserText.Split('\n').First(l => l.StartsWith("Short answer: ", StringComparison.Ordinal))["Short answer: ".Length..];
        return FakeReply.Chat(Replies[answer]);
    }

    private static async Task<(string Out, RewriteResult Result)> Rewrite(string mode, string[]? build = null, bool keepRaw = false)
    {
        var input = await BuildCrafted(build ?? []);
        using var server = new FakeModelServer(Crafted);
        var library = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        var settings = new MllmData.Recipes.RewriteSettings { Captions = Captions, Instances = Instances, Hallucination = mode, KeepRawOnFailure = keepRaw };
        var rewriter = RewriteRunner.Prepare(settings, library, Serilog.Core.Logger.None, out _);
        var model = OpenAiChatModel.Compatible(new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", "sk-test", TimeSpan.FromSeconds(20), 1 << 20);
        using var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
        using var calls = new ModelCallPath(model, cache, new CallSettings(), PriceTable.Load());
        var outDir = Path.Combine(TestPaths.NewTempDir(), "rewritten");
        var result = await rewriter.RunAsync(input, outDir, calls, CancellationToken.None);
        Assert.Equal(4, server.Requests);
        return (outDir, result);
    }

    private static List<JsonElement> Records(string dir) =>
        [.. TestPaths.Shards(dir).SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement)];

    private static JsonElement Section(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json"))).RootElement.GetProperty("hallucination");

    [Fact]
    public async Task Flag_Counts_Hallucinated_Mentions_Per_Record_And_Chair_Totals_In_The_Manifest()
    {
        var (outDir, result) = await Rewrite("flag");

        Assert.Equal(4, result.Records);
        var records = Records(outDir);
        var meta = records.Select(r => r.GetProperty("meta")).ToList();
        string Answer(JsonElement r) => r.GetProperty("conversations")[1].GetProperty("value").GetString()!;
        var byAnswer = records.ToDictionary(Answer, r => r.GetProperty("meta"));
        var pets = byAnswer[Replies["yes"]].GetProperty("hallucination");
        Assert.Equal(3, pets.GetProperty("mentions").GetInt32());
        Assert.Equal(2, pets.GetProperty("hallucinated").GetInt32());
        Assert.Equal(["dog", "cats"], pets.GetProperty("objects").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(["hot dog"], byAnswer[Replies["skateboard"]].GetProperty("hallucination").GetProperty("objects").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(0, byAnswer[Replies["pizza"]].GetProperty("hallucination").GetProperty("hallucinated").GetInt32());
        Assert.Equal(4, byAnswer[Replies["pizza"]].GetProperty("hallucination").GetProperty("mentions").GetInt32());
        Assert.False(byAnswer[Replies["red"]].TryGetProperty("hallucination", out _));

        // Three checked records, two with a hallucination: CHAIR_s = 2/3; mentions 4 + 3 + 3 = 10, hallucinated 3: CHAIR_i = 0.3.
        var section = Section(outDir);
        Assert.Equal("flag", section.GetProperty("mode").GetString());
        Assert.Equal(3, section.GetProperty("checked_records").GetInt64());
        Assert.Equal(2, section.GetProperty("records_with_hallucination").GetInt64());
        Assert.Equal(10, section.GetProperty("object_mentions").GetInt64());
        Assert.Equal(3, section.GetProperty("hallucinated_mentions").GetInt64());
        Assert.Equal(0.666667, section.GetProperty("chair_s").GetDouble());
        Assert.Equal(0.3, section.GetProperty("chair_i").GetDouble());
        Assert.Equal(2, section.GetProperty("by_category").GetProperty("cat").GetInt64() + section.GetProperty("by_category").GetProperty("dog").GetInt64());
    }

    [Fact]
    public async Task Reject_Drops_Rewrites_With_A_Hallucinated_Object_With_The_Reason_Code()
    {
        var (outDir, result) = await Rewrite("reject");

        Assert.Equal(2, result.Records);
        Assert.Equal(2, result.RejectsByReason["hallucinated-object"]);
        var rejects = File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(rejects, r => Assert.Equal("hallucinated-object", r.GetProperty("reason").GetString()));
        Assert.Contains("\"dog\" (dog), \"cats\" (cat)", rejects[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("\"hot dog\" (hot dog)", rejects[1].GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The totals still describe everything the model wrote.
        Assert.Equal(2, Section(outDir).GetProperty("records_with_hallucination").GetInt64());
        Assert.Equal(3, Section(outDir).GetProperty("checked_records").GetInt64());
    }

    [Fact]
    public async Task A_Rewrite_That_Breaks_The_Constraint_Its_Question_States_Is_Constraint_Violated()
    {
        // Built with --constraints match: "yes" under a yes-no line, the rest under single-word lines; every reply is a sentence.
        var (outDir, result) = await Rewrite("off", ["--constraints", "match"]);
        Assert.Equal(0, result.Records);
        Assert.Equal(4, result.RejectsByReason["constraint-violated"]);
        var details = File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("detail").GetString()).ToList();
        Assert.Equal("rewrite \"Yes, a dog and two cats sit by the oven.\" does not obey the yes-no constraint of its question", details[1]);
        Assert.All(details.Where((_, i) => i != 1), d => Assert.EndsWith("does not obey the single-word constraint of its question", d, StringComparison.Ordinal));

        // Keeping the raw answers keeps answers that obey.
        var (keptDir, kept) = await Rewrite("off", ["--constraints", "match"], keepRaw: true);
        Assert.Equal(4, kept.Records);
        Assert.Equal(["pizza", "yes", "skateboard", "red"], Records(keptDir).Select(r => r.GetProperty("conversations")[1].GetProperty("value").GetString()));

        // Without constraints the same replies are kept.
        Assert.Equal(4, (await Rewrite("off")).Result.Records);
    }

    [Fact]
    public async Task Off_Checks_Nothing()
    {
        var (outDir, result) = await Rewrite("off");

        Assert.Equal(4, result.Records);
        Assert.False(JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "manifest.json"))).RootElement.TryGetProperty("hallucination", out _));
        Assert.All(Records(outDir), r => Assert.False(r.GetProperty("meta").TryGetProperty("hallucination", out _)));
    }

    [Fact]
    public async Task A_Bad_Mode_Is_A_Usage_Error()
    {
        var r = await CliRunner.RunAsync("rewrite", "--in", TestPaths.NewTempDir(), "--out", Path.Combine(TestPaths.NewTempDir(), "o"), "--hallucination", "maybe");
        Assert.Equal(1, r.ExitCode);
        var s = await CliRunner.RunAsync("self-instruct", "--input", $"captions={Captions}", "--out", Path.Combine(TestPaths.NewTempDir(), "o"), "--hallucination", "sometimes");
        Assert.Equal(1, s.ExitCode);
    }
}

/// <summary>Issue #13 §4 on self-instruct: detailed descriptions of the coco-mini images from a loopback fake model.</summary>
public class TheSelfInstructHallucinationCheck
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    private static readonly string Instances = TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json");

    private const string Tail = " while the background stays calm and quiet. Light falls evenly across everything, and each part sits where one would expect it, which gives the whole image a natural, relaxed feeling worth a closer look.";

    // No object word: nothing to count.
    private const string Neutral = "The picture shows an everyday scene in which several things appear in the middle of the frame," + Tail;

    /// <summary>000000397133.jpg (a kitchen: person annotated, no giraffe) and 000000261712.jpg (giraffes, no person) get a giraffe and a man.</summary>
    private static FakeReply Reply(SeenRequest r) =>
        FakeReply.Chat(r.UserText.Contains("A man is in a kitchen making pizzas.", StringComparison.Ordinal)
            ? "The picture shows an everyday scene in which a giraffe stands beside a man in the middle of the frame," + Tail
            : r.UserText.Contains("Two giraffes at the zoo during the day.", StringComparison.Ordinal)
                ? "The picture shows an everyday scene in which two giraffes wait beside a man in the middle of the frame," + Tail
                : Neutral);

    private static async Task<string> Run(string mode)
    {
        Assert.Empty(ObjectMentions.Coco.Find(Neutral));
        using var server = new FakeModelServer(Reply);
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(
            new Dictionary<string, string> { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-self-instruct" },
            ["self-instruct", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--input", $"instances={Instances}", "--kinds", "detail",
             "--out", output, "--cache", Path.Combine(TestPaths.NewTempDir(), "c.db"), "--backoff", "0.05", "--hallucination", mode],
            timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(79, server.Requests);
        return output;
    }

    private static JsonElement Manifest(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json"))).RootElement;

    [Fact]
    public async Task Flag_Marks_The_Records_And_Totals_Chair_Over_All_Images()
    {
        var output = await Run("flag");
        var records = TestPaths.Shards(output).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(79, records.Count);
        JsonElement Of(string image) => records.Single(r => r.GetProperty("image").GetString() == image).GetProperty("meta").GetProperty("extra").GetProperty("hallucination");

        Assert.Equal(["giraffe"], Of("000000397133.jpg").GetProperty("objects").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(["man"], Of("000000261712.jpg").GetProperty("objects").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(2, Of("000000261712.jpg").GetProperty("mentions").GetInt32());
        Assert.Equal(0, Of("000000000139.jpg").GetProperty("mentions").GetInt32());

        // 79 checked; 2 mentions in each of the two images, one of them hallucinated: CHAIR_s = 2/79, CHAIR_i = 2/4.
        var h = Manifest(output).GetProperty("hallucination");
        Assert.Equal(79, h.GetProperty("checked_records").GetInt64());
        Assert.Equal(2, h.GetProperty("records_with_hallucination").GetInt64());
        Assert.Equal(4, h.GetProperty("object_mentions").GetInt64());
        Assert.Equal(2, h.GetProperty("hallucinated_mentions").GetInt64());
        Assert.Equal(Math.Round(2 / 79.0, 6), h.GetProperty("chair_s").GetDouble());
        Assert.Equal(0.5, h.GetProperty("chair_i").GetDouble());
    }

    [Fact]
    public async Task Reject_Leaves_Out_The_Two_Samples_As_Hallucinated_Object()
    {
        var output = await Run("reject");
        Assert.Equal(77, TestPaths.Shards(output).SelectMany(File.ReadLines).Count());
        var rejects = File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["hallucinated-object", "hallucinated-object"], rejects.Select(r => r.GetProperty("reason").GetString()));
        Assert.Contains("\"giraffe\" (giraffe)", string.Join("\n", rejects.Select(r => r.GetProperty("detail").GetString())), StringComparison.Ordinal);
        Assert.Equal(2, Manifest(output).GetProperty("rejects_by_reason").GetProperty("hallucinated-object").GetInt64());
    }
}
