using System.Text;
using System.Text.Json;
using MllmData.Formats;
using MllmData.Stats;

namespace MllmData.Tests.Stats;

/// <summary>
/// The card's one-pass reader of written lines gives exactly the view the document way gives (a parsed line through the
/// format's reader, <see cref="StatsReader.View"/>) on every line it takes, and leaves every line it cannot vouch for to
/// the document way.
/// </summary>
public class TheWrittenLineView
{
    private static readonly string[] Formats = ["llava", "sharegpt", "swift"];

    private static ConversationFormat Format(string name) => (ConversationFormat)FormatRegistry.Get(name);

    /// <summary>A view in words, every field of it, so two views compare by content.</summary>
    private static string Describe(RecordView v) =>
        $"{v.Id}|{v.Source}|{v.Task}|{v.Rewritten}|{v.TurnsKnown}|{v.HasMeta}|{v.ImagesKnown}|"
        + string.Join(";", v.Images.Select(i => $"{i.Path},{i.Width},{i.Height},{(i.Bytes is null ? "-" : Convert.ToBase64String(i.Bytes))},{i.MediaType}"))
        + "|" + string.Join(";", v.Turns.Select(t => $"[{t.Instruction}]<{t.Input}>({t.Answer}){{{t.TemplateId}}}"));

    private static string DocumentWay(string line, IOutputFormat format, RenderOptions options, LineOrigin origin)
    {
        using var doc = JsonDocument.Parse(line);
        return Describe(StatsReader.View(doc.RootElement, format, origin, options, "shard"));
    }

    private static void AssertSame(string line, string formatName, string token = "<image>")
    {
        var format = Format(formatName);
        var options = new RenderOptions { ImageToken = token };
        var origin = new LineOrigin("shard 0", 42);
        var fast = new WrittenLineView(format, options).Read(Encoding.UTF8.GetBytes(line), origin.Line);
        Assert.NotNull(fast);
        Assert.Equal(DocumentWay(line, format, options, origin), Describe(fast));
    }

    private static RecordView? Fast(string line, string formatName = "sharegpt") =>
        new WrittenLineView(Format(formatName), new RenderOptions()).Read(Encoding.UTF8.GetBytes(line), 1);

    public static TheoryData<string, bool> Builds => new() { { "llava", false }, { "sharegpt", false }, { "swift", false }, { "llava", true }, { "sharegpt", true } };

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Every_Line_Of_A_Sample_Build_Reads_As_The_Document_Way_Reads_It(string format, bool noMeta)
    {
        foreach (var recipe in new[] { "recipe.yaml", "recipe-mix665k.yaml" })
        {
            var dir = Path.Combine(TestPaths.NewTempDir(), "out");
            string[] args = ["build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", recipe), "--format", format, "--out", dir];
            var r = await CliRunner.RunAsync(noMeta ? [.. args, "--no-meta"] : args);
            Assert.True(r.ExitCode == 0, r.Error);
            var lines = TestPaths.Shards(dir).SelectMany(File.ReadLines).ToList();
            Assert.NotEmpty(lines);
            foreach (var line in lines)
            {
                AssertSame(line, format);
            }
        }
    }

    [Theory]
    [InlineData("""{"id":"a","image":"x.jpg","conversations":[{"from":"human","value":"<image>\nQ?"},{"from":"gpt","value":"A"}],"meta":{"source":"s","task":"vqa","templates":["t1"],"images":[{"path":"x.jpg","width":640,"height":480}]}}""", "llava")]
    [InlineData("""{"id":7,"conversations":[{"from":"human","value":"Q1?"},{"from":"gpt","value":"A1"},{"from":"human","value":"Q2?"},{"from":"gpt","value":"A2"}]}""", "llava")]
    [InlineData("""{"id":1.5e3,"conversations":[{"from":"human","value":"Q?"}]}""", "llava")]
    [InlineData("""{"conversations":[{"from":"human","value":"Q?"},{"from":"gpt","value":"A"}],"meta":"not an object"}""", "llava")]
    [InlineData("""{"messages":[{"role":"system","content":"S"},{"role":"user","content":"<image><image>Two?"},{"role":"assistant","content":"B"}],"images":["a.jpg","b.png"],"meta":{"templates":[null,"t"],"images":[7,{"width":null,"height":{}}],"rewrite":{"model":"m"}}}""", "sharegpt")]
    [InlineData("""{"messages":[{"role":"user","content":"Q?","extra":[1,{"a":2}]},{"role":"assistant","content":"A"}],"images":[],"meta":{"source":null,"task":[1],"templates":"no list","images":"no list","rewrite":true,"extra":{"answers":["x","y"]}}}""", "swift")]
    [InlineData("""{"messages":[{"role":"user","content":"\u00e9\"\\ esc\u0007aped"},{"role":"assistant","content":"\ud83d\ude00"}],"images":"one.jpg"}""", "sharegpt")]
    [InlineData("""{"messages":[{"role":"user","content":"Q?"},{"role":"other","content":"?"},{"role":"user","content":"Q2"}],"images":null}""", "sharegpt")]
    [InlineData("""{"messages":[{"role":"user","content":"<image>\nQ?"},{"role":"assistant","content":"A"}],"images":["data:image/png;base64,iVBORw0KGgo="]}""", "sharegpt")]
    [InlineData("""{"id":"x","image":["a.jpg"],"conversations":[],"meta":{"templates":["t"],"source":"s"}}""", "llava")]
    [InlineData("""{"id":{"n":[1,{"id":"no"}]},"other":{"conversations":[],"x":[1]},"image":{"a":"b"},"conversations":[{"from":"human","value":"Q?"},{"from":"gpt","value":"A"}],"meta":[{"source":"no"}],"more":"end"}""", "llava")]
    [InlineData("""{"image":["a.jpg","b.jpg"],"conversations":[{"from":"human","value":"<image><image>Q?"},{"from":"gpt","value":"A"}],"meta":{"rewrite":{"templates":["no"]},"source":{"task":"no"},"task":["no"],"extra":{"images":[1]},"templates":["t"],"images":[[{"width":1}],{"path":{"width":9},"width":{"height":8},"height":4}]}}""", "llava")]
    [InlineData("""{"image":["a.jpg","b.jpg","c.jpg"],"conversations":[{"from":"human","value":"Q?"},{"from":"gpt","value":"A"}],"meta":{"images":[7,{"width":3,"height":4},{"width":5}],"source":"s","task":"t"}}""", "llava")]
    public void Lines_Of_Every_Written_Shape_Read_As_The_Document_Way_Reads_Them(string line, string format)
    {
        AssertSame(line, format);
    }

    [Fact]
    public void One_Reader_Carries_Nothing_From_One_Line_To_The_Next()
    {
        // The reader keeps scratch (messages, images, meta's members, characters) between lines: every line of a mixed
        // run, read by one reader, must still read as the document way reads that line alone.
        var longQuestion = string.Concat(Enumerable.Repeat("word \\\"quoted\\\" \u00e9\\n ", 60));
        string[] lines =
        [
            """{"id":"a","image":["x.jpg","y.jpg"],"conversations":[{"from":"human","value":"<image><image>\nQ?"},{"from":"gpt","value":"yes"}],"meta":{"source":"s1","task":"vqa","templates":["t1"],"images":[{"width":640,"height":480},{"width":3,"height":4}],"rewrite":{"model":"m"}}}""",
            """{"id":"b","conversations":[{"from":"human","value":"Plain?"},{"from":"gpt","value":"no"}]}""",
            "{\"id\":\"c\",\"image\":\"z.jpg\",\"conversations\":[{\"from\":\"human\",\"value\":\"<image>\\n" + longQuestion + "\"},{\"from\":\"gpt\",\"value\":\"yes\"}],\"meta\":{\"source\":\"s2\",\"task\":\"caption\"}}",
            """{"id":"d","image":"data:image/png;base64,iVBORw0KGgo=","conversations":[{"value":"<image>\nContent first?","from":"human"},{"value":"A longer answer than the table keeps, as it is written here","from":"gpt"}],"meta":{"templates":[null]}}""",
            """{"id":"e","image":"w.jpg","conversations":[{"from":"human","value":"\u003cimage>\nEscaped token?"},{"from":"gpt","value":"\u0079es"},{"from":"human","value":"Again?"},{"from":"gpt","value":"yes"}],"meta":{"source":"s1","templates":["t2","t3"]}}""",
            """{"id":"f","conversations":[{"from":"human","value":"Q?"},{"from":"gpt","value":"A"}],"meta":{"source":"s1","task":"vqa"}}""",
        ];
        var format = Format("llava");
        var options = new RenderOptions();
        var reader = new WrittenLineView(format, options);
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < lines.Length; i++)
            {
                var origin = new LineOrigin("shard 0", i + 1);
                var view = reader.Read(Encoding.UTF8.GetBytes(lines[i]), origin.Line);
                Assert.NotNull(view);
                Assert.Equal(DocumentWay(lines[i], format, options, origin), Describe(view));
            }
        }

        var last = reader.Read(Encoding.UTF8.GetBytes(lines[2]), 3)!;
        Assert.Equal(("s2", "caption", false), (last.Source, last.Task, last.Rewritten));
        Assert.Null(last.Turns[0].TemplateId);
        Assert.StartsWith("word \"quoted\" \u00e9\n", last.Turns[0].Instruction, StringComparison.Ordinal);
        Assert.Equal((null, null), (last.Images[0].Width, last.Images[0].Height));
    }

    [Fact]
    public void The_Image_Token_Of_The_Build_Is_The_One_Taken_Out()
    {
        AssertSame("""{"id":"a","image":"x.jpg","conversations":[{"from":"human","value":"<img>\nQ?"},{"from":"gpt","value":"A"}]}""", "llava", "<img>");
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"Q"}],"messages":[]}""")] // a key twice
    [InlineData("""{"images":["a.jpg"],"images":[],"messages":[]}""")]
    [InlineData("""{"id":"a","id":"b","messages":[]}""")]
    [InlineData("""{"messages":[{"role":"user","content":"Q","content":"R"}]}""")]
    [InlineData("""{"messages":[],"meta":{"task":"a","task":"b"}}""")]
    [InlineData("""{"messages":[],"meta":{"templates":[],"templates":[]}}""")]
    [InlineData("""{"messages":[],"meta":{"images":[],"images":[]}}""")]
    [InlineData("""{"messages":[],"meta":{"rewrite":{},"rewrite":null}}""")]
    [InlineData("""{"messages":[],"meta":{"images":[{"width":1,"width":2}]}}""")]
    [InlineData("""{"messages":[],"meta":{"images":[{"height":1,"height":2}]}}""")]
    [InlineData("""{"messages":[],"meta":{"images":[{"height":true}]}}""")]
    [InlineData("""{"messages":[{"role":null,"content":"Q"}]}""")] // a role that is not a string
    [InlineData("""{"messages":[{"role":"user","content":3}]}""")]
    [InlineData("""{"messages":[{"role":"user"}]}""")] // no content
    [InlineData("""{"messages":[{"role":"user","content":"Q","role":"user"}]}""")]
    [InlineData("""{"messages":["Q"]}""")]
    [InlineData("""{"messages":{}}""")]
    [InlineData("""{"images":["a.jpg"]}""")] // no turns
    [InlineData("""{"messages":[],"images":[null]}""")]
    [InlineData("""{"messages":[],"images":[3]}""")]
    [InlineData("""{"messages":[],"meta":{"source":3}}""")] // a source that is not text
    [InlineData("""{"messages":[],"meta":{"task":true}}""")]
    [InlineData("""{"messages":[],"meta":{"templates":[1]}}""")]
    [InlineData("""{"messages":[],"meta":{"images":[{"width":"640"}]}}""")]
    [InlineData("""{"messages":[],"meta":{"images":[{"width":1.5}]}}""")]
    [InlineData("""{"messages":[],"meta":{"images":[{"width":3000000000}]}}""")]
    [InlineData("""{"messages":[],"meta":{"source":"a","source":"b"}}""")]
    [InlineData("""{"messages":[],"meta":{},"meta":{}}""")]
    [InlineData("""{"messages":[],"images":["data:image/png;base64,@@@"]}""")] // not base64
    [InlineData("""{"messages":[""")] // cut short
    [InlineData("""[1,2]""")]
    public void Lines_It_Cannot_Vouch_For_Are_Left_To_The_Document_Way(string line)
    {
        Assert.Null(Fast(line));
    }

    [Fact]
    public void A_Worker_Counts_The_Same_Card_Whichever_Way_Each_Line_Went()
    {
        // Lines the one-pass reader takes and lines it leaves (a null role is read by the document way) in one worker:
        // the figures are those of reading every line the document way.
        var finder = new QuestionFinder(null);
        string[] lines =
        [
            """{"messages":[{"role":"user","content":"What is it?"},{"role":"assistant","content":"A cat"}],"images":["a.jpg"],"meta":{"source":"s","task":"vqa"}}""",
            """{"messages":[{"role":null,"content":"Who?"},{"role":"user","content":"Why?"},{"role":"assistant","content":"Because"}],"images":[],"meta":{"source":"t","task":"text"}}""",
        ];
        using var worker = new StatsWorker("sharegpt", finder, "<image>");
        var expected = StatsReader.Empty(FormatRegistry.Get("sharegpt"), finder, ".", []);
        for (var i = 0; i < lines.Length; i++)
        {
            worker.Add(Encoding.UTF8.GetBytes(lines[i]), 0, i + 1);
            StatsReader.AddLine(expected, Encoding.UTF8.GetBytes(lines[i]), FormatRegistry.Get("sharegpt"), new LineOrigin("shard 0", i + 1), new RenderOptions(), "shard 0");
        }

        var got = worker.Complete();
        Assert.Null(Fast(lines[1]));
        Assert.NotNull(Fast(lines[0]));
        Assert.Equal(2, got.Overall.Records);
        Assert.Equal(StatsReport.Json(expected.Finish()), StatsReport.Json(got));
    }
}
