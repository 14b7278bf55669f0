using System.Collections.Concurrent;
using System.Text.Json;
using MllmData.Generation;

namespace MllmData.Tests.Models;

public class TheSelfInstructor
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    private static readonly string Instances = TestPaths.RealFile("coco-mini", "annotations", "instances_val2017.json");

    private static readonly string[] Vocabulary =
    [
        "amber", "basket", "canyon", "dolphin", "engine", "falcon", "garden", "harbor", "island", "jacket", "kettle", "lantern", "meadow",
        "needle", "orchard", "pepper", "quarry", "rocket", "saddle", "tunnel", "umbrella", "violin", "walnut", "yacht", "zipper", "anchor",
        "bramble", "copper", "desert", "ember", "fossil", "glacier", "hammock", "ivory", "jungle", "kayak", "ladder", "marble", "nutmeg",
    ];

    /// <summary>Words that differ from image to image (a real word and a hashed suffix), so generated questions do not collide by accident.</summary>
    private static string Words(string seed, int n) =>
        string.Join(' ', Enumerable.Range(0, n).Select(i =>
        {
            var h = System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(seed + "|" + i));
            return Vocabulary[(int)(h % (ulong)Vocabulary.Length)] + "x" + (h >> 40).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        }));

    private static string Kind(SeenRequest r) => ((string?)r.Body!["messages"]![0]!["content"])! switch
    {
        var s when s.Contains("Write three to five turns", StringComparison.Ordinal) => "conversation",
        var s when s.Contains("reasoning question", StringComparison.Ordinal) => "complex",
        _ => "detail",
    };

    /// <summary>A fake model whose outputs have the shapes real ones have: preambles, numbered and bold labels, closing remarks.</summary>
    private sealed class GeneratingModel
    {
        public ConcurrentDictionary<string, List<(string Q, string A)>> Emitted { get; } = new();

        public FakeReply Reply(SeenRequest r)
        {
            var context = r.UserText;
            var key = context.Split('\n').FirstOrDefault(l => l.StartsWith("- ", StringComparison.Ordinal)) ?? context;
            switch (Kind(r))
            {
                case "conversation":
                    var turns = new List<(string, string)>
                    {
                        ($"Which {Words(key + "q1", 5)} stand out here?", $"The {Words(key + "a1", 3)} stand out most clearly in this scene."),
                        ($"Is the {Words(key + "q2", 4)} close to the camera?", "Yes, it is quite close and takes up a good part of the view."),
                    };
                    Emitted["conversation|" + key] = turns;
                    return FakeReply.Chat($"Sure! Here is a conversation about the image:\n\nQ1: {turns[0].Item1}\nA1: {turns[0].Item2}\n**Question 2:** {turns[1].Item1}\n**Answer 2:** {turns[1].Item2}\n\nLet me know if you would like more turns.");
                case "complex":
                    var q = $"Why might the {Words(key + "c", 4)} matter in this scene?";
                    var a = $"Looking at the scene, the {Words(key + "d", 3)} matter because they shape what people nearby are doing, and the way everything is arranged suggests a busy, ordinary moment that will continue in the same way for a while longer.";
                    Emitted["complex|" + key] = [(q, a)];
                    return FakeReply.Chat($"Question: {q}\nAnswer: {a}");
                default:
                    var d = $"The picture shows an everyday scene. {Words(key + "e", 6)} appear in the middle of the frame, while the background stays calm and quiet. Light falls evenly across everything, and the objects sit where one would expect them, which gives the whole image a natural, relaxed feeling that invites a closer look at each part of it.";
                    Emitted["detail|" + key] = [(string.Empty, d)];
                    return FakeReply.Chat("Here is a detailed description:\n" + d);
            }
        }
    }

    private static Dictionary<string, string> Env(FakeModelServer server) => new() { ["OPENAI_BASE_URL"] = server.OpenAiBaseUrl, ["OPENAI_API_KEY"] = "sk-self-instruct" };

    private static string[] Args(string output, string cache, params string[] extra) =>
        ["self-instruct", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--input", $"instances={Instances}", "--out", output, "--cache", cache, "--backoff", "0.05", .. extra];

    private static List<JsonElement> Records(string dir) =>
        [.. TestPaths.Shards(dir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public void Should_Normalise_Boxes_Of_A_Fixture_Image_As_Computed_By_Hand()
    {
        using var captions = File.OpenRead(Captions);
        using var instances = File.OpenRead(Instances);
        var contexts = ImageContext.FromCoco(captions, Captions, () => File.OpenRead(Captions), instances, Instances);
        Assert.Equal(79, contexts.Count);
        var image = contexts.Single(c => c.ImageId == "139");
        Assert.Equal(("000000000139.jpg", 640, 426), (image.FileName, image.Width, image.Height));

        // tv [7.03, 167.76, 149.32, 94.87] on 640x426: 7.03/640 = 0.011, 167.76/426 = 0.394, 156.35/640 = 0.244, 262.63/426 = 0.617.
        Assert.Contains("tv: [0.011, 0.394, 0.244, 0.617]", image.Render(), StringComparison.Ordinal);

        // potted plant [236.98, 142.51, 24.7, 69.5]: 0.370, 0.335, 261.68/640 = 0.409, 212.01/426 = 0.498.
        Assert.Contains("potted plant: [0.370, 0.335, 0.409, 0.498]", image.Render(), StringComparison.Ordinal);
        Assert.Equal(5, image.Captions.Count);
        Assert.StartsWith("Captions:\n- ", image.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Generate_Every_Kind_For_Every_Coco_Mini_Image_With_Turns_As_The_Model_Wrote_Them()
    {
        var model = new GeneratingModel();
        using var server = new FakeModelServer(model.Reply);
        var output = TestPaths.NewTempDir();
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var run = await ChildCli.RunAsync(Env(server), Args(output, cache, "--seed", "5"), timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(237, server.Requests);
        Assert.Empty(File.ReadAllText(Path.Combine(output, "rejects.jsonl")));

        var records = Records(output);
        Assert.Equal(79, records.Count(r => r.GetProperty("id").GetString()!.Contains("-conversation-", StringComparison.Ordinal)));
        Assert.Equal(79, records.Count(r => r.GetProperty("id").GetString()!.Contains("-detail-", StringComparison.Ordinal)));
        Assert.Equal(79, records.Count(r => r.GetProperty("id").GetString()!.Contains("-complex-", StringComparison.Ordinal)));

        // The turns of each conversation are exactly what the fake emitted for that image, preamble and sign-off gone.
        foreach (var r in records.Where(r => r.GetProperty("meta").GetProperty("extra").GetProperty("kind").GetString() == "conversation"))
        {
            var conv = r.GetProperty("conversations").EnumerateArray().Select(t => t.GetProperty("value").GetString()!).ToList();
            var emitted = model.Emitted.Where(e => e.Key.StartsWith("conversation|", StringComparison.Ordinal)).Select(e => e.Value).Single(e => conv[1] == e[0].A);
            Assert.Equal(["<image>\n" + emitted[0].Q, emitted[0].A, emitted[1].Q, emitted[1].A], conv);
        }

        var detail = records.First(r => r.GetProperty("meta").GetProperty("extra").GetProperty("kind").GetString() == "detail");
        Assert.StartsWith("The picture shows an everyday scene.", detail.GetProperty("conversations")[1].GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("caption-detailed-", detail.GetProperty("meta").GetProperty("templates")[0].GetString(), StringComparison.Ordinal);
        var extra = detail.GetProperty("meta").GetProperty("extra");
        Assert.Equal(2, extra.GetProperty("seed_examples").GetArrayLength());
        Assert.StartsWith("self-instruct-detail@", extra.GetProperty("prompt_version").GetString(), StringComparison.Ordinal);
        Assert.Equal("gpt-4o-mini", extra.GetProperty("model").GetString());

        // The few-shot examples really were sent, in the recorded order.
        var sent = server.Seen.First(s => Kind(s) == "detail");
        Assert.Equal(6, sent.Body!["messages"]!.AsArray().Count);

        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "manifest.json"))).RootElement;
        Assert.Equal(237, manifest.GetProperty("records").GetInt64());
        Assert.Equal(79, manifest.GetProperty("self_instruct").GetProperty("records_by_kind").GetProperty("complex").GetInt64());

        // The cache makes the rerun free, and the same.
        var again = TestPaths.NewTempDir();
        Assert.Equal(0, (await ChildCli.RunAsync(Env(server), Args(again, cache, "--seed", "5"), timeout: TimeSpan.FromMinutes(3))).ExitCode);
        Assert.Equal(237, server.Requests);
        Assert.Equal(File.ReadAllText(TestPaths.Shards(output).Single()), File.ReadAllText(TestPaths.Shards(again).Single()));
    }

    [Fact]
    public async Task Should_Reject_Generated_Text_Holding_A_Placeholder_Or_A_Control_Character()
    {
        var n = 0;
        using var server = new FakeModelServer(r => (Interlocked.Increment(ref n) % 3) switch
        {
            0 => FakeReply.Chat("Question: What is in the <image>?\nAnswer: A red bus stands at the curb."),
            1 => FakeReply.Chat("Question: What stands at the curb?\nAnswer: A red bus\u0007 stands there."),
            _ => FakeReply.Chat($"Question: Which {Words(r.UserText + "y", 5)} appear?\nAnswer: Several of them appear near the middle of the view."),
        });
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(Env(server), Args(output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--kinds", "conversation", "--concurrency", "1"), timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.Error);

        var reasons = File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "rewrite-literal-token", "control-characters" }, reasons);
        Assert.All(Records(output), r => Assert.Single(r.GetProperty("conversations").EnumerateArray(), t => t.GetProperty("value").GetString()!.Contains("<image>", StringComparison.Ordinal)));
        Assert.DoesNotContain(Records(output), r => r.GetRawText().Contains("\\u0007", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_Reject_Near_Duplicate_Questions_And_Keep_A_Pool_Below_The_Threshold()
    {
        var n = 0;
        using var server = new FakeModelServer(r =>
        {
            // Every third conversation repeats the same questions with small changes; the others are distinct.
            var i = Interlocked.Increment(ref n);
            var key = r.UserText;
            return i % 3 == 0
                ? FakeReply.Chat($"Question: What color is the large vehicle in the picture?\nAnswer: It is a bright red colour all over.\nQuestion: Where is the large vehicle parked?\nAnswer: It is parked next to the curb on the street.")
                : FakeReply.Chat($"Question: Which {Words(key + "x", 5)} appear?\nAnswer: Several of them appear near the middle of the view.");
        });
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(Env(server), Args(output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--kinds", "conversation", "--concurrency", "1"), timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.Error);
        var rejects = File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(79 / 3 - 1, rejects.Count);
        Assert.All(rejects, r => Assert.Equal("near-duplicate", r.GetProperty("reason").GetString()));

        var questions = Records(output)
            .SelectMany(r => r.GetProperty("conversations").EnumerateArray().Where(t => t.GetProperty("from").GetString() == "human").Select(t => t.GetProperty("value").GetString()!.Replace("<image>\n", string.Empty, StringComparison.Ordinal)))
            .Select(NearDuplicateFilter.Tokens)
            .ToList();
        var max = 0.0;
        for (var a = 0; a < questions.Count; a++)
        {
            for (var b = 0; b < a; b++)
            {
                max = Math.Max(max, NearDuplicateFilter.RougeL(questions[a], questions[b]));
            }
        }

        Assert.True(max <= 0.7, $"max pairwise ROUGE-L {max:0.000}");
        Assert.True(JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "manifest.json"))).RootElement.GetProperty("self_instruct").GetProperty("max_kept_question_rouge_l").GetDouble() <= 0.7);
    }

    [Fact]
    public async Task Should_Reject_Leaks_And_Malformed_Generations_Without_Stopping()
    {
        var n = 0;
        using var server = new FakeModelServer(r => (Interlocked.Increment(ref n) % 5) switch
        {
            0 => FakeReply.Chat("Question: Where is the dog?\nAnswer: The dog's bounding box is at [0.31, 0.26, 0.64, 0.71], in the middle."),
            1 => FakeReply.Chat("Question: What does the caption say about the scene?\nAnswer: According to the captions, two people are cooking."),
            2 => FakeReply.Chat("I am sorry, I cannot help with that."),
            3 => new FakeReply(200, "{\"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": \"\"}, \"finish_reason\": \"stop\"}]}"),
            _ => FakeReply.Chat($"Question: Which {Words(r.UserText, 5)} are there?\nAnswer: A few of them are there, near the centre."),
        });
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(Env(server), Args(output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--kinds", "conversation", "--max-retries", "0"), timeout: TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.Error);
        var reasons = File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()!).ToList();
        Assert.Equal(79, reasons.Count + Records(output).Count);
        Assert.Contains("leak", reasons);
        Assert.Contains("unparsable", reasons);
        Assert.Contains("model-empty-answer", reasons);
        // Requests 1..79 cycle through five replies: 15 + 16 leaks, 16 refusals, 16 empty answers, 16 good ones.
        Assert.Equal(31, reasons.Count(r => r == "leak"));
        Assert.Equal(16, reasons.Count(r => r == "unparsable"));
        Assert.Equal(16, reasons.Count(r => r == "model-empty-answer"));
        Assert.Equal(16, Records(output).Count);
        Assert.All(Records(output), r => Assert.DoesNotContain("bounding", r.GetRawText(), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Should_Run_From_A_Recipe_Self_Instruct_Section()
    {
        var model = new GeneratingModel();
        using var server = new FakeModelServer(model.Reply);
        var dir = TestPaths.NewTempDir();
        var recipe = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(recipe, $"""
            name: mini-instruct
            seed: 3
            format: sharegpt
            self_instruct:
              adapter: coco-captions
              inputs:
                captions: {Captions}
                instances: {Instances}
              kinds: [complex]
              cache: {Path.Combine(dir, "c.db")}
              backoff: 0.05
            """);
        var output = Path.Combine(dir, "out");
        var run = await ChildCli.RunAsync(Env(server), ["build", "--recipe", recipe, "--out", output]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(79, server.Requests);
        Assert.Equal(79, File.ReadAllLines(Path.Combine(output, "data", "mini-instruct-00000-of-00001.jsonl")).Length);
        Assert.True(File.Exists(Path.Combine(output, "dataset_info.json")));
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "manifest.json"))).RootElement;
        Assert.Equal(2, manifest.GetProperty("inputs").GetArrayLength());
        Assert.Equal(79, manifest.GetProperty("self_instruct").GetProperty("records_by_kind").GetProperty("complex").GetInt64());
    }

    [Fact]
    public async Task Should_Count_Requests_Tokens_And_Cost_Without_Calling()
    {
        using var server = new FakeModelServer(r => FakeReply.Chat("unused"));
        var output = Path.Combine(TestPaths.NewTempDir(), "never");
        var run = await ChildCli.RunAsync(Env(server), Args(output, Path.Combine(TestPaths.NewTempDir(), "c.db"), "--dry-run", "--per-image", "2"));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("requests: 474", run.Output, StringComparison.Ordinal);
        Assert.Contains("estimated cost: $", run.Output, StringComparison.Ordinal);
        Assert.Equal(0, server.Requests);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task Should_Take_Captions_Alone_From_Any_Caption_Adapter()
    {
        var model = new GeneratingModel();
        using var server = new FakeModelServer(model.Reply);
        var output = TestPaths.NewTempDir();
        var karpathy = Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", "dataset_flickr8k.json");
        var run = await ChildCli.RunAsync(Env(server), ["self-instruct", "--adapter", "karpathy", "--input", $"dataset={karpathy}", "--kinds", "conversation", "--out", output, "--cache", Path.Combine(TestPaths.NewTempDir(), "c.db")]);
        Assert.True(run.ExitCode == 0, run.Error);

        // train and restval images with sentences: two images, their sentences as the captions, no objects.
        Assert.Equal(2, server.Requests);
        var context = server.Seen.Select(s => s.UserText).Single(t => t.Contains("A dog runs", StringComparison.Ordinal));
        Assert.Equal("Captions:\n- A dog runs across the grass .\n- A brown dog is running .", context);
        Assert.Equal(["1000268201_693b08cb0e.jpg", "1001773457_577c3a7d70.jpg"], Records(output).Select(r => r.GetProperty("image").GetString()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Q: What is it?\nA: A cat.", 1)]
    [InlineData("Sure, here you go.\n1. Question: What is it?\n   Answer: A cat\n   sitting on a mat.\n2. Question: Why?\n   Answer: It is tired.", 2)]
    [InlineData("**User:** Hi there?\n**Assistant:** Hello.\nHuman: Again?\nGPT: Yes.\n\nHope this helps!", 2)]
    [InlineData("Answer: first without a question\nQuestion: then?", 0)]
    [InlineData("no labels at all", 0)]
    public void Should_Parse_The_Shapes_Models_Write(string text, int turns)
    {
        var parsed = GenerationParser.Turns(text);
        Assert.Equal(turns, parsed?.Count ?? 0);
        if (turns == 2 && text.StartsWith("Sure", StringComparison.Ordinal))
        {
            Assert.Equal(("What is it?", "A cat sitting on a mat."), parsed![0]);
        }

        if (text.StartsWith("**User", StringComparison.Ordinal))
        {
            Assert.Equal(("Again?", "Yes."), parsed![1]);
        }
    }
}
