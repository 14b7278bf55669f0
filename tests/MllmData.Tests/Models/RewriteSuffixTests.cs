using System.Text.Json;
using MllmData.Generation;
using MllmData.ModelCalls;
using MllmData.Templates;

namespace MllmData.Tests.Models;

/// <summary>A rewritten answer is a sentence: the suffix that asked for a word or a short phrase leaves its question.</summary>
public class TheRewrittenQuestions
{
    private const string Brief = "Reply with one word or a short phrase.";

    private static readonly string[] WordOrPhrase = ["--suffix", "word-or-phrase"];

    private static async Task<(string In, string Out)> BuildAndRewrite(string format, params string[] extra)
    {
        var input = TestPaths.NewTempDir();
        var samples = Path.Combine(TestPaths.RepoRoot, "samples", "vqav2");
        var build = await CliRunner.RunAsync([
            "build", "--adapter", "vqav2", "--input", $"questions={Path.Combine(samples, "v2_OpenEnded_mscoco_train2014_questions.json")}",
            "--input", $"annotations={Path.Combine(samples, "v2_mscoco_train2014_annotations.json")}", "--format", format, "--out", input, .. (extra.Length == 0 ? WordOrPhrase : extra)]);
        Assert.True(build.ExitCode == 0, build.Error);

        return (input, await Rewrite(input));
    }

    private static async Task<string> Rewrite(string input, Action<int>? requests = null, List<string>? packs = null, Serilog.ILogger? log = null)
    {
        using var server = new FakeModelServer(r => FakeModelServer.Faithful(r));
        var library = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        var rewriter = RewriteRunner.Prepare(new MllmData.Recipes.RewriteSettings { TemplatePacks = packs }, library, log ?? Serilog.Core.Logger.None, out _);
        var model = OpenAiChatModel.Compatible(new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", "sk-test", TimeSpan.FromSeconds(20), 1 << 20);
        using var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
        using var calls = new ModelCallPath(model, cache, new CallSettings(), PriceTable.Load());
        var output = Path.Combine(TestPaths.NewTempDir(), "long");
        await rewriter.RunAsync(input, output, calls, CancellationToken.None);
        requests?.Invoke(server.Requests);
        return output;
    }

    private static List<(string Question, string Answer)> Turns(string dir, string turnsKey, string roleKey, string textKey, string user) =>
        [.. TestPaths.Shards(dir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines).SelectMany(l =>
        {
            var turns = JsonDocument.Parse(l).RootElement.GetProperty(turnsKey).EnumerateArray().ToList();
            return turns.Select((t, i) => (t, i)).Where(x => x.t.GetProperty(roleKey).GetString() == user && x.i + 1 < turns.Count)
                .Select(x => (x.t.GetProperty(textKey).GetString()!, turns[x.i + 1].GetProperty(textKey).GetString()!));
        })];

    [Theory]
    [InlineData("llava", "conversations", "from", "value", "human")]
    [InlineData("sharegpt", "messages", "role", "content", "user")]
    [InlineData("swift", "messages", "role", "content", "user")]
    public async Task Lose_The_Brief_Suffix_Line_And_Keep_Every_Other_Line_And_The_Placeholder(string format, string turnsKey, string roleKey, string textKey, string user)
    {
        var (input, output) = await BuildAndRewrite(format);
        var before = Turns(input, turnsKey, roleKey, textKey, user);
        var after = Turns(output, turnsKey, roleKey, textKey, user);
        Assert.Equal(before.Count, after.Count);
        Assert.Contains(before, t => t.Question.Split('\n').Contains(Brief));
        var plain = 0;
        for (var i = 0; i < before.Count; i++)
        {
            // The faithful fake lengthens every short answer: each question is the one built, less the suffix line only
            // (and, for a template that asks for brevity in its own words, in another template's words).
            Assert.NotEqual(before[i].Answer, after[i].Answer);
            Assert.Equal(before[i].Question.Split("<image>").Length, after[i].Question.Split("<image>").Length);
            var lessSuffix = string.Join('\n', before[i].Question.Split('\n').Where(l => l != Brief));
            if (Reworded(lessSuffix) is not { } options)
            {
                Assert.Equal(lessSuffix, after[i].Question);
                plain++;
            }
            else
            {
                Assert.Contains(after[i].Question, options);
            }
        }

        Assert.True(plain > 0);
    }

    private static readonly TemplatePack VqaShort = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates")).Get("vqa-short");

    private static bool QuestionOnly(InstructionTemplate t) => t.PlaceholderNames().SequenceEqual(["question"]);

    /// <summary>
    /// The texts a question built from a brief vqa-short template may become: its question in the words of each plain
    /// template of the pack; null when no line of it is a brief template's text.
    /// </summary>
    private static List<string>? Reworded(string question)
    {
        foreach (var was in VqaShort.Templates.Where(t => t.Tags.Contains("brief") && QuestionOnly(t)).OrderByDescending(t => t.Text.Length))
        {
            var at = was.Text.IndexOf("{question}", StringComparison.Ordinal);
            var (prefix, suffix) = (was.Text[..at], was.Text[(at + "{question}".Length)..]);
            var line = question.Split('\n').Select(l => l.Replace("<image>", string.Empty, StringComparison.Ordinal))
                .FirstOrDefault(l => l.Length > prefix.Length + suffix.Length && l.StartsWith(prefix, StringComparison.Ordinal) && l.EndsWith(suffix, StringComparison.Ordinal));
            if (line is not null)
            {
                var asked = line[prefix.Length..^suffix.Length];
                return [.. VqaShort.Templates.Where(t => QuestionOnly(t) && t.Tags.Count == 0)
                    .Select(t => question.Replace(line, t.Render(new Dictionary<string, string> { ["question"] = asked }), StringComparison.Ordinal))];
            }
        }

        return null;
    }

    /// <summary>The template id of every turn, in the order of <see cref="Turns"/> (llava lines carry meta).</summary>
    private static List<string> TemplateIds(string dir) =>
        [.. TestPaths.Shards(dir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines)
            .SelectMany(l => JsonDocument.Parse(l).RootElement.GetProperty("meta").GetProperty("templates").EnumerateArray().Select(t => t.GetString()!))];

    [Theory]
    [InlineData("llava", "conversations", "from", "value", "human")]
    [InlineData("sharegpt", "messages", "role", "content", "user")]
    [InlineData("swift", "messages", "role", "content", "user")]
    public async Task Put_A_Question_Whose_Template_Asks_For_Brevity_In_The_Words_Of_A_Plain_Template_Of_Its_Pack(string format, string turnsKey, string roleKey, string textKey, string user)
    {
        // Only the brief templates: every question says "Keep it short." or the like in its own words.
        var (input, output) = await BuildAndRewrite(format, "--template-tags", "brief", "--suffix", "none");
        var before = Turns(input, turnsKey, roleKey, textKey, user);
        var after = Turns(output, turnsKey, roleKey, textKey, user);
        Assert.NotEmpty(before);
        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
        {
            // The question itself is what the brief template held; the words around it are a plain template's.
            var options = Reworded(before[i].Question);
            Assert.NotNull(options);
            Assert.Contains(after[i].Question, options);
        }

        // The pick is spread over the plain templates, and the same every run.
        Assert.True(after.Select(t => t.Question).Distinct().Count() > 1);
        var again = await Rewrite(input);
        Assert.Equal(after, Turns(again, turnsKey, roleKey, textKey, user));
        if (format == "llava")
        {
            // meta.templates names the template the question is now in.
            var byId = VqaShort.Templates.ToDictionary(t => t.Id);
            var (was, now) = (TemplateIds(input), TemplateIds(output));
            Assert.All(was, id => Assert.Contains("brief", byId[id].Tags));
            Assert.All(now, id => Assert.Empty(byId[id].Tags));
            for (var i = 0; i < after.Count; i++)
            {
                var asked = Reworded(before[i].Question)!;
                Assert.Equal(asked[VqaShort.Templates.Where(t => QuestionOnly(t) && t.Tags.Count == 0).Select(t => t.Id).ToList().IndexOf(now[i])], after[i].Question);
            }
        }
    }

    [Fact]
    public async Task Keep_A_Suffix_That_Asks_For_A_Sentence()
    {
        // vqa-long asks for one complete sentence: the rewrite gives one, and the question stays as built, to the byte.
        var (input, output) = await BuildAndRewrite("llava", "--templates", "vqa-long");
        var before = Turns(input, "conversations", "from", "value", "human");
        var after = Turns(output, "conversations", "from", "value", "human");
        Assert.Contains(before, t => t.Question.EndsWith("\nAnswer with one complete sentence.", StringComparison.Ordinal));
        Assert.Equal(before.Select(t => t.Question), after.Select(t => t.Question));
        Assert.NotEqual(before.Select(t => t.Answer), after.Select(t => t.Answer));
    }

    [Fact]
    public async Task Leave_A_Question_That_Is_Only_A_Suffix_As_It_Is_And_Ask_Nothing_About_It()
    {
        // Nothing is asked but the format: no question to answer in a sentence, and taking the line off would leave none.
        var rows = Path.Combine(TestPaths.NewTempDir(), "rows.jsonl");
        File.WriteAllText(rows, $$"""
            {"id": "a", "image": "a.jpg", "conversations": [{"from": "human", "value": "<image>\n{{Brief}}"}, {"from": "gpt", "value": "cat"}]}
            {"id": "b", "image": "b.jpg", "conversations": [{"from": "human", "value": "<image>\nWhat is it?\n{{Brief}}"}, {"from": "gpt", "value": "dog"}]}

            """);
        var input = TestPaths.NewTempDir();
        var build = await CliRunner.RunAsync("build", "--adapter", "instructions", "--input", $"file={rows}", "--format", "llava", "--out", input);
        Assert.True(build.ExitCode == 0, build.Error);
        var asked = -1;
        var output = await Rewrite(input, n => asked = n);
        Assert.Equal(1, asked);
        var after = Turns(output, "conversations", "from", "value", "human");
        Assert.Equal([($"<image>\n{Brief}", "cat"), ("<image>\nWhat is it?", after[1].Answer)], after);
        Assert.NotEqual("dog", after[1].Answer);
    }

    private const string OwnBrief = "Say it in a single word, nothing more.";

    /// <summary>A pack file of the user's own (not in the library), with a suffix that asks for a bare answer.</summary>
    private static string OwnPack()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "my-vqa.yaml");
        File.WriteAllText(file, $"""
            id: my-vqa
            task: vqa
            placeholders: [question]
            default_suffix: single
            templates:
              - id: my-vqa-01
                text: "Here is my question for you: {"{question}"}"
            suffixes:
              - id: single
                text: "{OwnBrief}"
                tags: [brief]
            """);
        return file;
    }

    private sealed class Collected : Serilog.Core.ILogEventSink
    {
        public List<string> Warnings { get; } = [];

        public void Emit(Serilog.Events.LogEvent logEvent)
        {
            if (logEvent.Level == Serilog.Events.LogEventLevel.Warning)
            {
                Warnings.Add(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    [Fact]
    public async Task Lose_The_Brief_Suffix_Of_The_Builds_Own_Pack_File_When_It_Is_Named_And_Say_So_When_It_Is_Not()
    {
        var pack = OwnPack();
        var (input, _) = await BuildAndRewrite("llava", "--templates", pack);
        var before = Turns(input, "conversations", "from", "value", "human");
        Assert.All(before, t => Assert.EndsWith("\n" + OwnBrief, t.Question, StringComparison.Ordinal));

        // Not named: the line cannot be told from the question and stays, and the run says why.
        var sink = new Collected();
        using (var log = new Serilog.LoggerConfiguration().WriteTo.Sink(sink).CreateLogger())
        {
            var kept = Turns(await Rewrite(input, log: log), "conversations", "from", "value", "human");
            Assert.Equal(before.Select(t => t.Question), kept.Select(t => t.Question));
        }

        var warning = Assert.Single(sink.Warnings, w => w.Contains("no pack here knows", StringComparison.Ordinal));
        Assert.Contains($"{before.Count} records", warning, StringComparison.Ordinal);
        Assert.Contains("'my-vqa-01'", warning, StringComparison.Ordinal);
        Assert.Contains("--templates FILE", warning, StringComparison.Ordinal);

        // Named: the question loses its own pack's brief line, and only that line; nothing is said.
        var quiet = new Collected();
        using (var log = new Serilog.LoggerConfiguration().WriteTo.Sink(quiet).CreateLogger())
        {
            var after = Turns(await Rewrite(input, packs: [pack], log: log), "conversations", "from", "value", "human");
            Assert.Equal(before.Select(t => t.Question[..^(OwnBrief.Length + 1)]), after.Select(t => t.Question));
            Assert.All(after, t => Assert.StartsWith("<image>\nHere is my question for you: ", t.Question, StringComparison.Ordinal));
        }

        Assert.Empty(quiet.Warnings);
    }

    [Fact]
    public void A_Pack_Named_For_The_Rewrite_That_Is_Neither_A_File_Nor_A_Pack_Is_A_Usage_Error()
    {
        var library = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        var ex = Assert.Throws<MllmData.UsageException>(() => RewriteRunner.Prepare(new MllmData.Recipes.RewriteSettings { TemplatePacks = ["nowhere/mine.yaml"] }, library, Serilog.Core.Logger.None, out _));
        Assert.Contains("nowhere/mine.yaml", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lose_Only_Whole_Lines_In_Every_Format_That_Rewrite_Reads()
    {
        var drop = new HashSet<string>(StringComparer.Ordinal) { Brief };
        var options = new MllmData.Formats.ExchangeOptions();

        // OpenAI: a text part of the user message loses the line; the image part stays.
        var openai = System.Text.Json.Nodes.JsonNode.Parse($$$"""{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}, {"type": "text", "text": "What is it?\n{{{Brief}}}"}]}, {"role": "assistant", "content": "a cat"}]}""")!.AsObject();
        var exchange = MllmData.Formats.FormatRegistry.Get("openai").Exchanges(openai, options).Single();
        exchange.DropQuestionLines(drop);
        Assert.Equal("What is it?", (string)openai["messages"]![0]!["content"]![1]!["text"]!);
        Assert.Equal("image_url", (string)openai["messages"]![0]!["content"]![0]!["type"]!);

        // M3IT: instruction and inputs each lose it; a line that only holds the words among others stays.
        var m3it = System.Text.Json.Nodes.JsonNode.Parse($$$"""{"instruction": "Look.\n  {{{Brief}}}  ", "inputs": "What is it? {{{Brief}}}\n{{{Brief}}}", "outputs": "a cat", "image_base64_str": ["AA"]}""")!.AsObject();
        MllmData.Formats.FormatRegistry.Get("m3it").Exchanges(m3it, options).Single().DropQuestionLines(drop);
        Assert.Equal(("Look.", $"What is it? {Brief}"), ((string)m3it["instruction"]!, (string)m3it["inputs"]!));

        // A question without the line is left as it was, to the byte.
        var llava = System.Text.Json.Nodes.JsonNode.Parse("""{"conversations": [{"from": "human", "value": "<image>\n What is it? "}, {"from": "gpt", "value": "a cat"}]}""")!.AsObject();
        MllmData.Formats.FormatRegistry.Get("llava").Exchanges(llava, options).Single().DropQuestionLines(drop);
        Assert.Equal("<image>\n What is it? ", (string)llava["conversations"]![0]!["value"]!);
    }
}
