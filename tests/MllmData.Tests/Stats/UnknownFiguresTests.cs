using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MllmData.Formats;
using MllmData.Stats;

namespace MllmData.Tests.Stats;

/// <summary>
/// Every report form (`stats` text and JSON, the HTML report, `stats A B`) says "-" (null in JSON), or says in words why,
/// where a figure is not known: a template build's texts, the templates and questions of records without meta, the sizes
/// of images no record gives. A figure that is known to be zero stays 0.
/// </summary>
public sealed partial class UnknownFiguresTests
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    private static async Task<(string Dir, int Records)> Build(params string[] args)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["build", "--adapter", "coco-captions", "--input", $"captions={Captions}", "--out", outDir, .. args]);
        Assert.True(r.ExitCode == 0, r.Error);
        return (outDir, TestPaths.Shards(outDir).SelectMany(File.ReadLines).Count());
    }

    private static async Task<(string Text, string Html, JsonNode Json)> Stats(string dir)
    {
        var (html, json) = (Path.Combine(TestPaths.NewTempDir(), "r.html"), Path.Combine(TestPaths.NewTempDir(), "r.json"));
        var r = await CliRunner.RunAsync("stats", dir, "--html", html, "--json", json);
        Assert.True(r.ExitCode == 0, r.Error);
        return (r.Output, File.ReadAllText(html), JsonNode.Parse(File.ReadAllText(json))!);
    }

    private static string Row(string name, params string[] cells) =>
        $"<tr><td class=\"l\">{name}</td>" + string.Concat(cells.Select(c => $"<td>{c}</td>")) + "</tr>";

    private static string Summary(string name, string value) => $"<tr><td class=\"l\">{name}</td><td class=\"l\">{value}</td></tr>";

    private static readonly string[] Dashes = ["-", "-", "-", "-", "-", "-", "-"];

    [Fact]
    public async Task A_Template_Build_Says_Its_Text_Figures_Are_Not_Known()
    {
        var (dir, n) = await Build("--format", "template");
        var (text, html, json) = await Stats(dir);
        var count = n.ToString(CultureInfo.InvariantCulture);

        // HTML: the length rows of texts are "-" in every cell (they were rows of 0), and the report says why.
        foreach (var name in new[] { "instruction", "question", "answer", "turns per record" })
        {
            Assert.Contains(Row(name, Dashes), html, StringComparison.Ordinal);
        }

        Assert.Contains(Row("images per record", count, "1", "1", "1", "1", "1", "1"), html, StringComparison.Ordinal);
        Assert.Contains("<p>Instruction, question, answer, turns: template lines cannot be read back into turns: turns, answers, answer kinds and text lengths are not known.</p>", html, StringComparison.Ordinal);
        Assert.Contains(Summary("answers of &#x2264;3 words", "-"), html, StringComparison.Ordinal);
        Assert.Contains(Summary("yes share of yes/no answers", "-"), html, StringComparison.Ordinal);
        Assert.Contains(Summary("questions not recovered from their template", "-"), html, StringComparison.Ordinal);

        // Answer kinds per source and task are "-", not 0; no chart of zero answer kinds, top answers or templates.
        Assert.Contains(Row("coco-captions", count, "-", "1", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"), html, StringComparison.Ordinal);
        Assert.Contains(Row("caption", count, "-", "1", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"), html, StringComparison.Ordinal);
        Assert.DoesNotContain(">answer kinds</text>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(">top answers</text>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(">templates</text>", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Most frequent answers</h2><p>Answers and templates: template lines cannot be read back into turns: turns, answers, answer kinds and text lengths are not known.</p>", html, StringComparison.Ordinal);
        Assert.Contains("<div class=\"small\">template lines cannot be read back into turns: the text is not shown.</div>", html, StringComparison.Ordinal);

        // Text report.
        Assert.Contains("question tokens (o200k): -; unrecovered -\n", text, StringComparison.Ordinal);
        Assert.Contains("answer tokens histogram: -\n", text, StringComparison.Ordinal);
        Assert.Contains("top answers: -\n", text, StringComparison.Ordinal);
        Assert.Contains("templates: -\n", text, StringComparison.Ordinal);

        // JSON: unknown counts are null, known ones stay numbers.
        var o = json["overall"]!;
        foreach (var key in new[] { "turns", "answers", "short_answers", "short_answer_share", "yes_share", "questions_unrecovered", "questions_without_template" })
        {
            Assert.True(o[key] is null, key);
        }

        Assert.All(AnswerKind.All, k => Assert.Null(o["answer_kinds"]![k]));
        Assert.True(o["answer_kinds"]!.AsObject().ContainsKey("yes"));
        foreach (var key in new[] { "turns_per_record", "instruction_tokens", "question_tokens", "answer_tokens" })
        {
            Assert.Null(o[key]!["n"]);
            Assert.Null(o[key]!["mean"]);
            Assert.Null(o[key]!["p50"]);
        }

        Assert.Equal(n, (long)o["images_per_record"]!["n"]!);
        Assert.Equal(n, (long)o["images"]!);
        Assert.Equal(0, (long)o["rewritten_records"]!); // meta is there: no record is marked as rewritten
        Assert.Null(json["top_answers"]!["total"]);
        Assert.Null(json["templates"]!["distinct"]);
        Assert.Equal(n, (long)json["images"]!["long_side_px"]!["n"]!); // COCO gives every image's size

        // Side by side with a LLaVA build of the same captions: the template side of the histogram is "-", not 0.
        var (llava, _) = await Build("--format", "llava");
        var cmpHtml = Path.Combine(TestPaths.NewTempDir(), "cmp.html");
        var compare = await CliRunner.RunAsync("stats", dir, llava, "--html", cmpHtml);
        Assert.True(compare.ExitCode == 0, compare.Error);
        var histogram = compare.Output.Split('\n').Single(l => l.StartsWith("answer tokens histogram (A | B): ", StringComparison.Ordinal));
        Assert.Matches(@"^answer tokens histogram \(A \| B\): 0: - \| 0, 1: - \| 0, ", histogram);
        Assert.DoesNotMatch(@": 0 \| ", histogram);
        var page = File.ReadAllText(cmpHtml);
        Assert.Contains("<p>A: template lines cannot be read back into turns: turns, answers, answer kinds and text lengths are not known; its side of the answer-token chart says -.</p>", page, StringComparison.Ordinal);
        Assert.Contains("fill=\"#3d6fc4\"/><text x=\"84\" y=\"34\" font-size=\"9\">-</text>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Build_Without_Meta_Says_Its_Templates_Questions_Sizes_And_Rewrites_Are_Not_Known()
    {
        var (dir, n) = await Build("--format", "llava", "--no-meta");
        var (text, html, json) = await Stats(dir);
        var count = n.ToString(CultureInfo.InvariantCulture);

        // HTML: no image size is known (was a row of 0); no question can be told apart (was n 0, then 0s).
        Assert.Contains(Row("image long side (px)", Dashes), html, StringComparison.Ordinal);
        Assert.Contains($"<p>Image long side: none of the {count} images has a size in its record&#x27;s meta (sizes come from the source&#x27;s annotations or the image stage, --images reference, copy or embed, and are written with meta).</p>", html, StringComparison.Ordinal);
        Assert.Contains(Row("question", Dashes), html, StringComparison.Ordinal);
        Assert.Contains("<p>Question: no turn names the template that wrote it (meta.templates), so the question cannot be told apart from the rest of the instruction.</p>", html, StringComparison.Ordinal);
        Assert.Contains(Summary("questions not recovered from their template", "-"), html, StringComparison.Ordinal);
        Assert.Contains(Summary("records rewritten by a model", "-"), html, StringComparison.Ordinal);
        Assert.Contains("<p>Templates: no record carries meta (built with --no-meta, or a format that leaves it out), so the templates are not known.</p>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(">templates</text>", html, StringComparison.Ordinal);

        var card = File.ReadAllText(Path.Combine(dir, "README.md"));
        Assert.Contains("No turn names the template that wrote it (`meta.templates`), so the question cannot be told apart from the rest of the instruction: question tokens are left out (-).\n\n| figure | value |", card, StringComparison.Ordinal);
        Assert.Contains("| question tokens | - |\n", card, StringComparison.Ordinal);

        // Text: every question was counted as unrecovered before.
        Assert.Contains("question tokens (o200k): -; unrecovered -\n", text, StringComparison.Ordinal);
        Assert.Contains("templates: - (no record carries meta)\n", text, StringComparison.Ordinal);
        Assert.Contains($"image long side (px): -; images without a size in meta: {count}\n", text, StringComparison.Ordinal);

        // JSON.
        var o = json["overall"]!;
        Assert.Null(o["questions_unrecovered"]);
        Assert.Equal(n, (long)o["questions_without_template"]!);
        Assert.Null(o["question_tokens"]!["n"]);
        Assert.Null(o["rewritten_records"]);
        Assert.Null(json["templates"]!["total"]);
        Assert.Equal(0, (long)json["images"]!["with_size"]!);
        Assert.Equal(n, (long)json["images"]!["without_size"]!);
        Assert.Equal(0, (long)json["images"]!["long_side_px"]!["n"]!);
        Assert.Null(json["images"]!["long_side_px"]!["mean"]);
        Assert.Null(json["images"]!["long_side_px"]!["max"]);

        // Beside a build with meta: its source's records and its rewrite marks are not 0 in the build without meta.
        var (withMeta, _) = await Build("--format", "llava");
        var compare = await CliRunner.RunAsync("stats", withMeta, dir);
        Assert.True(compare.ExitCode == 0, compare.Error);
        var rows = compare.Output.Split('\n').Select(l => Spaces().Split(l.Trim())).Where(c => c.Length == 4).ToDictionary(c => c[0], c => (c[1], c[2], c[3]));
        Assert.Equal((count, "-", "-"), rows["source coco-captions: records"]);
        Assert.Equal(("0", count, $"+{count}"), rows["source (no meta): records"]); // every record of A names its source
        Assert.Equal(("0", "-", "-"), rows["rewritten records"]);
    }

    [Fact]
    public async Task Known_Zeros_Stay_Zero()
    {
        // Captions with meta: no yes/no answer (a known 0, its share "-"), no question slot (0 unrecovered, no question values).
        var (dir, n) = await Build("--format", "llava");
        var (text, html, json) = await Stats(dir);
        var count = n.ToString(CultureInfo.InvariantCulture);
        Assert.Contains(Summary("questions not recovered from their template", "0"), html, StringComparison.Ordinal);
        Assert.Contains(Summary("records rewritten by a model", "0"), html, StringComparison.Ordinal);
        Assert.Contains(Row("question", "0", "-", "-", "-", "-", "-", "-"), html, StringComparison.Ordinal);
        Assert.Matches($"<tr><td class=\"l\">coco-captions</td><td>{count}</td><td>1</td><td>1</td><td>\\d+</td><td>[0-9.]+</td><td>\\d+</td><td>[0-9.]+%</td><td>-</td><td>0</td><td>0</td><td>\\d+</td><td>0</td><td>\\d+</td></tr>", html);
        Assert.Contains(">answer kinds</text>", html, StringComparison.Ordinal);
        Assert.Contains(">templates</text>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<p>Image long side:", html, StringComparison.Ordinal);
        Assert.Contains("question tokens (o200k): -; unrecovered 0\n", text, StringComparison.Ordinal);
        Assert.Matches(@"answer kinds: letter 0, no 0, number \d+, other \d+, yes 0; yes share of yes/no -\n", text);

        var o = json["overall"]!;
        Assert.Equal(0, (long)o["answer_kinds"]!["yes"]!);
        Assert.Null(o["yes_share"]);
        Assert.Equal(0, (long)o["questions_unrecovered"]!);
        Assert.Equal(0, (long)o["question_tokens"]!["n"]!);
        Assert.Null(o["question_tokens"]!["sum"]);
        Assert.Equal(0, (long)o["rewritten_records"]!);
        Assert.Equal(n, (long)json["templates"]!["total"]!);
    }

    [Fact]
    public async Task Records_Kept_As_Written_Name_No_Template_And_Say_So()
    {
        // LLaMA-Factory's demo data with meta: no turn names a template, which is a known "none", and the questions are not known.
        var dir = Path.Combine(TestPaths.NewTempDir(), "demo");
        var build = await CliRunner.RunAsync("build", "--adapter", "instructions", "--input", $"file={TestPaths.RealFile("reference-outputs", "llama-factory", "mllm_demo.json")}", "--format", "sharegpt", "--meta", "--out", dir);
        Assert.True(build.ExitCode == 0, build.Error);
        var (text, html, json) = await Stats(dir);
        Assert.Contains("templates: none\n", text, StringComparison.Ordinal);
        Assert.Contains("question tokens (o200k): -; unrecovered -\n", text, StringComparison.Ordinal);
        Assert.Contains("<p>Templates: no turn names a template (the records were kept as written).</p>", html, StringComparison.Ordinal);
        Assert.Equal(0, (long)json["templates"]!["total"]!);
        Assert.Null(json["overall"]!["questions_unrecovered"]);
    }

    [Fact]
    public async Task A_Manifest_Without_Its_Counts_Says_They_Are_Not_Known()
    {
        // A manifest reduced to what reading needs (an older or hand-made one): rejects, seed and tool were "0", "none" or blank.
        var (dir, n) = await Build("--format", "llava");
        var path = Path.Combine(dir, "manifest.json");
        var manifest = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var key in new[] { "rejects", "rejects_by_reason", "seed", "tool_version", "records", "name" })
        {
            manifest.Remove(key);
        }

        File.WriteAllText(path, manifest.ToJsonString());
        var (text, html, json) = await Stats(dir);
        Assert.Contains($"build - (llava, jsonl), tool -, seed -: ", text, StringComparison.Ordinal);
        Assert.Contains($"records {n}, turns {n}, images {n}, rejects -\n", text, StringComparison.Ordinal);
        Assert.Contains("rejects by reason: -\n", text, StringComparison.Ordinal);
        Assert.Contains(Summary("rejects", "-"), html, StringComparison.Ordinal);
        Assert.Contains(Summary("rejects by reason", "-"), html, StringComparison.Ordinal);
        Assert.Contains(" &#xB7; format llava &#xB7; container jsonl &#xB7; tool - &#xB7; seed -</p>", html, StringComparison.Ordinal);
        Assert.Null(json["rejects"]!["total"]);
        Assert.Null(json["rejects"]!["by_reason"]);
        Assert.Null(json["manifest_records"]);
        Assert.Equal(n, (long)json["records"]!);
    }

    [Fact]
    public async Task A_Template_Build_Claims_No_Token_Sample()
    {
        // With fewer records in the token sample than in the build, the reports told of token lengths a template build has none of.
        var (dir, n) = await Build("--format", "template");
        var html = Path.Combine(TestPaths.NewTempDir(), "r.html");
        var r = await CliRunner.RunAsync("stats", dir, "--token-sample", "10", "--html", html);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("\ntoken figures: none (the texts are not read back)\n", r.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Token lengths of", File.ReadAllText(html), StringComparison.Ordinal);

        var stats = StatsReader.Read(dir, new QuestionFinder(null), tokenSample: 10);
        Assert.True(stats.TokensSampled);
        var card = MllmData.Pipeline.DatasetCard.RenderDerived(stats.Manifest, stats, "rewrite");
        Assert.Contains("`mllmdata stats` on this folder gives the full figures.\n\ntemplate lines cannot be read back into turns", card, StringComparison.Ordinal);
        Assert.DoesNotContain("Token lengths are counted on", card, StringComparison.Ordinal);

        // A readable build sampled the same way still says so.
        var (llava, _) = await Build("--format", "llava");
        var sampled = StatsReader.Read(llava, new QuestionFinder(null), tokenSample: 10);
        Assert.Contains($"token figures: the 10 of {n} records with the smallest id hash (token sample 10); other figures: every record", StatsReport.TokenSampleLine(sampled), StringComparison.Ordinal);
        Assert.Contains($"Token lengths are counted on 10 of the {n} records", MllmData.Pipeline.DatasetCard.RenderDerived(sampled.Manifest, sampled, "rewrite"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_Evaluation_Set_Counts_Its_Images_And_Says_Its_Texts_Are_Not_Read()
    {
        // Question lines (llava-question) were read as lines of no format: 0 images, and no word on why the texts were "-".
        var (dir, n) = await Build("--split-role", "eval");
        var (text, html, json) = await Stats(dir);
        Assert.Contains($"records {n}, turns -, images {n}, rejects 0\n", text, StringComparison.Ordinal);
        Assert.Contains("images/record: mean 1, p50 1, p90 1, p99 1, max 1 (n " + n + ")\n", text, StringComparison.Ordinal);
        Assert.Contains("note: llava-question lines cannot be read back into turns; text figures are left out\n", text, StringComparison.Ordinal);
        Assert.Contains("<p>llava-question lines cannot be read back into turns; text figures are left out.</p>", html, StringComparison.Ordinal);
        Assert.Equal(n, (long)json["overall"]!["images"]!);
        var card = File.ReadAllText(Path.Combine(dir, "README.md"));
        Assert.Contains("llava-question lines cannot be read back into turns: the turn and text figures are left out (-).\n", card, StringComparison.Ordinal);
        Assert.Contains("| images per record | mean 1, p50 1, p90 1, max 1 |\n", card, StringComparison.Ordinal);

        // A manifest naming a format this tool does not know: lines no format recognises have unknown images, not 0.
        var path = Path.Combine(dir, "manifest.json");
        var manifest = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        manifest["format"] = "someone-elses";
        File.WriteAllText(path, manifest.ToJsonString());
        (text, html, json) = await Stats(dir);
        Assert.Contains($"records {n}, turns -, images -, rejects 0\n", text, StringComparison.Ordinal);
        Assert.Contains("images/record: -\n", text, StringComparison.Ordinal);
        Assert.Contains("note: someone-elses lines cannot be read back into turns; text figures are left out\n", text, StringComparison.Ordinal);
        Assert.Contains(Summary("images", "-"), html, StringComparison.Ordinal);
        Assert.Contains(Row("images per record", Dashes), html, StringComparison.Ordinal);
        Assert.Contains(Row("image long side (px)", Dashes), html, StringComparison.Ordinal);
        Assert.Contains("<p>Image long side: no format this tool knows reads someone-elses lines, so their images are not known.</p>", html, StringComparison.Ordinal);
        Assert.Null(json["overall"]!["images"]);
        Assert.Null(json["overall"]!["images_per_record"]!["n"]);
        Assert.Contains("image long side (px): -; images without a size in meta: -\n", text, StringComparison.Ordinal);
        Assert.Null(json["images"]!["without_size"]);
        Assert.Null(json["images"]!["long_side_px"]!["n"]);
    }

    [Fact]
    public async Task An_Empty_Build_Says_It_Has_No_Records_And_Keeps_Its_Zeros()
    {
        var dir = TestPaths.NewTempDir();
        var captions = Path.Combine(dir, "captions.json");
        File.WriteAllText(captions, """{"images":[],"annotations":[]}""");
        var outDir = Path.Combine(dir, "out");
        var build = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={captions}", "--allow-empty", "--format", "llava", "--out", outDir);
        Assert.True(build.ExitCode == 0, build.Error);
        var (text, html, json) = await Stats(outDir);

        // Empty tables and charts (no rows, no word why) and a reason that did not apply ("kept as written") before.
        Assert.Contains("<h2>Per source</h2><p>The build has no records.</p><h2>Per task</h2><p>The build has no records.</p>", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Most frequent answers</h2><p>The build has no records.</p>", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Sample records</h2><p>The build has no records.</p>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(">records per source</text>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(">answer kinds</text>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("kept as written", html, StringComparison.Ordinal);
        Assert.EndsWith("| rejects by reason | none |\n\nNo records: the build is empty.\n", File.ReadAllText(Path.Combine(outDir, "README.md")).Split("\n## Recipe")[0], StringComparison.Ordinal);

        // Known zeros: no records means 0 turns, 0 answers of each kind, 0 unrecovered.
        Assert.Contains("records 0, turns 0, images 0, rejects 0\n", text, StringComparison.Ordinal);
        Assert.Contains("answer kinds: letter 0, no 0, number 0, other 0, yes 0; yes share of yes/no -\n", text, StringComparison.Ordinal);
        Assert.Contains(Summary("turns", "0"), html, StringComparison.Ordinal);
        Assert.Contains(Row("answer", "0", "-", "-", "-", "-", "-", "-"), html, StringComparison.Ordinal);
        var o = json["overall"]!;
        Assert.Equal(0, (long)o["turns"]!);
        Assert.Equal(0, (long)o["answer_kinds"]!["yes"]!);
        Assert.Equal(0, (long)o["questions_unrecovered"]!);
        Assert.Equal(0, (long)o["answer_tokens"]!["n"]!);
        Assert.Null(o["answer_tokens"]!["mean"]);
        Assert.Null(o["short_answer_share"]);
    }

    [Fact]
    public async Task The_Html_Says_How_Many_Images_The_Long_Side_Leaves_Out()
    {
        // The sample build: COCO captions give their images' sizes, the VQAv2 questions do not (no image stage).
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var build = await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", outDir);
        Assert.True(build.ExitCode == 0, build.Error);
        var (text, html, _) = await Stats(outDir);
        Assert.Contains("image long side (px): mean 480, p50 480, p90 480, p99 480, max 480 (n 5); images without a size in meta: 3\n", text, StringComparison.Ordinal);
        Assert.Contains(Row("image long side (px)", "5", "480", "480", "480", "480", "480", "480"), html, StringComparison.Ordinal);
        Assert.Contains("<p>Image long side: 5 of the 8 images have a size in their record&#x27;s meta; the other 3 are not counted in it.</p>", html, StringComparison.Ordinal);
    }

    /// <summary>Some turns name a template and some do not: the count is of those that do, and says how many do not.</summary>
    [Fact]
    public void Unrecovered_Questions_Count_Only_Turns_That_Name_A_Template()
    {
        var library = MllmData.Templates.TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        var llava = FormatRegistry.All.First(f => f.Name == "llava");
        byte[] Line(string id, string text, string? template) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            id,
            image = "a.jpg",
            conversations = new[] { new { from = "human", value = "<image>\n" + text }, new { from = "gpt", value = "red" } },
            meta = new { source = "s", task = "vqa", templates = new[] { template } },
        }));
        string Unrecovered(params byte[][] lines)
        {
            var stats = StatsReader.Empty(llava, new QuestionFinder(library), ".", []);
            var k = 0;
            foreach (var line in lines)
            {
                StatsReader.AddLine(stats, line, llava, new LineOrigin("s", ++k), new RenderOptions(), "s");
            }

            return StatsReport.Lines(stats.Finish()).Single(l => l.StartsWith("question tokens", StringComparison.Ordinal));
        }

        var matched = Line("m1", "Look at the picture and respond to this: What colour is the bus?", "vqa-short-02");
        var unmatched = Line("u1", "Some other wording of a question?", "vqa-short-02");
        var none = Line("n1", "What colour is the bus?", null);
        var none2 = Line("n2", "What colour is the car?", null);
        Assert.EndsWith("; unrecovered 1 (2 turns name no template)", Unrecovered(matched, unmatched, none, none2), StringComparison.Ordinal);
        Assert.EndsWith("; unrecovered 1 (1 turn names no template)", Unrecovered(matched, unmatched, none), StringComparison.Ordinal);
        Assert.EndsWith("; unrecovered 1", Unrecovered(matched, unmatched), StringComparison.Ordinal);
        Assert.Equal("question tokens (o200k): -; unrecovered -", Unrecovered(none, none2));
    }

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex Spaces();
}
