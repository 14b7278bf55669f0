using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using MllmData.Formats;
using MllmData.Stats;
using Microsoft.ML.Tokenizers;

namespace MllmData.Tests.Stats;

/// <summary>
/// Token figures cover a bounded sample: every record up to the bound, else the records with the smallest XxHash64 of their
/// id. The sample depends on the records alone (not on their order), and every figure other than tokens counts all records.
/// </summary>
public sealed class TokenSampleTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    private static readonly IOutputFormat Llava = FormatRegistry.All.First(f => f.Name == "llava");

    private static readonly string[] VqaShort02 = ["vqa-short-02"];

    /// <summary>300 LLaVA lines whose questions and answers differ in length, over two sources.</summary>
    private static List<(string Id, string Question, string Answer, byte[] Line)> Lines(int count = 300)
    {
        var lines = new List<(string, string, string, byte[])>();
        for (var i = 0; i < count; i++)
        {
            var id = $"rec-{i * 7919 % 1000:D4}";
            var question = $"What is shown in picture {i}{new string('?', i % 5)}";
            var answer = i % 4 == 0 ? "yes" : string.Join(' ', Enumerable.Repeat("tall", 1 + (i % 9)));
            var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
            {
                id,
                image = $"a{i % 5}.jpg",
                conversations = new[] { new { from = "human", value = "<image>\n" + question }, new { from = "gpt", value = answer } },
                meta = new { source = $"s{i % 2}", task = "vqa" },
            }));
            lines.Add((id, question, answer, line));
        }

        return lines;
    }

    private static DatasetStats Gather(IEnumerable<byte[]> lines, int sample)
    {
        var stats = StatsReader.Empty(Llava, new QuestionFinder(null), ".", [], sample);
        var n = 0;
        foreach (var line in lines)
        {
            StatsReader.AddLine(stats, line, Llava, new LineOrigin("s", ++n), new RenderOptions(), "s");
        }

        return stats.Finish();
    }

    private static ulong Hash(string id) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(id));

    [Fact]
    public void TokenFiguresCoverTheRecordsWithTheSmallestIdHashesAndEveryOtherFigureCoversAll()
    {
        var lines = Lines();
        var stats = Gather(lines.Select(l => l.Line), sample: 40);

        // Worked out here from the lines: the 40 smallest hashes, their answers and instructions through the library tokenizer.
        var chosen = lines.OrderBy(l => Hash(l.Id)).Take(40).ToList();
        Assert.Equal(40, stats.TokenRecords);
        Assert.True(stats.TokensSampled);
        Assert.Equal(40, stats.Overall.AnswerTokens.N);
        Assert.Equal(chosen.Sum(l => (long)O200k.CountTokens(l.Answer)), stats.Overall.AnswerTokens.Sum);
        Assert.Equal(chosen.Sum(l => (long)O200k.CountTokens(l.Question)), stats.Overall.InstructionTokens.Sum);
        Assert.Equal(40, stats.Overall.InstructionTokens.N);
        Assert.Equal(chosen.Max(l => O200k.CountTokens(l.Answer)), stats.Overall.AnswerTokens.Max);

        // Per source too: each source's token figures are its own records within the sample.
        var s0 = chosen.Where(l => lines.IndexOf(l) % 2 == 0).ToList();
        Assert.Equal(s0.Count, stats.BySource["s0"].AnswerTokens.N);
        Assert.Equal(s0.Sum(l => (long)O200k.CountTokens(l.Answer)), stats.BySource["s0"].AnswerTokens.Sum);

        // Counts, answers, short answers and kinds are exact over all 300 (and their images, none with a size in meta).
        Assert.Equal(300, stats.Overall.Records);
        Assert.Equal(300, stats.ImagesWithoutSize);
        Assert.Equal(0, stats.ImageLongSide.N);
        Assert.Equal(300, stats.Overall.Answers);
        Assert.Equal(lines.Count(l => l.Answer.Split(' ').Length <= 3), stats.Overall.ShortAnswers);
        Assert.Equal(lines.Count(l => l.Answer == "yes"), stats.Overall.AnswerKinds[AnswerKind.Yes]);
    }

    [Fact]
    public void TheSampleDoesNotDependOnTheOrderOfTheRecords()
    {
        var lines = Lines();
        var forward = Gather(lines.Select(l => l.Line), sample: 25);
        var backward = Gather(Enumerable.Reverse(lines).Select(l => l.Line), sample: 25);
        var shuffled = Gather(lines.OrderBy(l => l.Question.Length).ThenByDescending(l => l.Id, StringComparer.Ordinal).Select(l => l.Line), sample: 25);
        foreach (var other in new[] { backward, shuffled })
        {
            Assert.Equal(forward.Overall.AnswerTokens.Sum, other.Overall.AnswerTokens.Sum);
            Assert.Equal(forward.Overall.InstructionTokens.Sum, other.Overall.InstructionTokens.Sum);
            Assert.Equal(forward.Overall.AnswerTokens.Percentile(50), other.Overall.AnswerTokens.Percentile(50));
            Assert.Equal(forward.BySource["s1"].AnswerTokens.Sum, other.BySource["s1"].AnswerTokens.Sum);
        }
    }

    [Theory]
    [InlineData(300, 300, false)]
    [InlineData(301, 300, false)]
    [InlineData(299, 299, true)]
    [InlineData(1, 1, true)]
    [InlineData(0, 300, false)]
    public void TheBoundIsInclusiveAndZeroCountsEveryRecord(int sample, int covered, bool sampled)
    {
        var stats = Gather(Lines().Select(l => l.Line), sample);
        Assert.Equal(covered, stats.TokenRecords);
        Assert.Equal(covered, stats.Overall.AnswerTokens.N);
        Assert.Equal(sampled, stats.TokensSampled);
        Assert.Equal(sampled, StatsReport.TokenSampleLine(stats).Contains($"the {covered} of 300 records", StringComparison.Ordinal));
    }

    [Fact]
    public void NoRecordIsTakenOnceTheFiguresAreFinished()
    {
        var lines = Lines(3);
        var stats = Gather(lines.Select(l => l.Line), sample: 2);
        Assert.Same(stats, stats.Finish());
        Assert.Equal(2, stats.Overall.AnswerTokens.N);
        var ex = Assert.Throws<InvalidOperationException>(() => StatsReader.AddLine(stats, lines[0].Line, Llava, new LineOrigin("s", 9), new RenderOptions(), "s"));
        Assert.Equal("the figures are finished; no record can be added", ex.Message);
    }

    /// <summary>A question its template cannot be matched against is unrecovered; one it matches is counted; a sampled-out record counts neither.</summary>
    [Fact]
    public void QuestionsAreRecoveredThroughTheirTemplateOnlyForSampledRecords()
    {
        var library = MllmData.Templates.TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        string Line(string id, string text) => JsonSerializer.Serialize(new
        {
            id,
            image = "a.jpg",
            conversations = new[] { new { from = "human", value = "<image>\n" + text }, new { from = "gpt", value = "red" } },
            meta = new { source = "s", task = "vqa", templates = VqaShort02 },
        });
        byte[][] lines =
        [
            Encoding.UTF8.GetBytes(Line("m1", "Look at the picture and respond to this: What colour is the bus?")),
            Encoding.UTF8.GetBytes(Line("u1", "Some other wording of a question?")),
        ];
        foreach (var sample in new[] { 0, 2 })
        {
            var stats = StatsReader.Empty(Llava, new QuestionFinder(library), ".", [], sample);
            var n = 0;
            foreach (var line in lines)
            {
                StatsReader.AddLine(stats, line, Llava, new LineOrigin("s", ++n), new RenderOptions(), "s");
            }

            stats.Finish();
            Assert.Equal(1, stats.Overall.QuestionsUnrecovered);
            Assert.Equal(1, stats.Overall.QuestionTokens.N);
            Assert.Equal(O200k.CountTokens("What colour is the bus?"), stats.Overall.QuestionTokens.Sum);
        }

        // With a sample of one, only the record with the smaller id hash is looked at.
        var one = StatsReader.Empty(Llava, new QuestionFinder(library), ".", [], 1);
        StatsReader.AddLine(one, lines[0], Llava, new LineOrigin("s", 1), new RenderOptions(), "s");
        StatsReader.AddLine(one, lines[1], Llava, new LineOrigin("s", 2), new RenderOptions(), "s");
        one.Finish();
        var matchedFirst = Hash("m1") < Hash("u1");
        Assert.Equal(matchedFirst ? 0 : 1, one.Overall.QuestionsUnrecovered);
        Assert.Equal(matchedFirst ? 1 : 0, one.Overall.QuestionTokens.N);
    }

    /// <summary>Past 200 sources the rest share one group, and their sample records are kept under it; long texts are cut with an ellipsis.</summary>
    [Fact]
    public void SourcesPastTheLimitShareOneGroupAndSampleTextsAreCut()
    {
        var lines = Enumerable.Range(0, DatasetStats.MaxGroups + 5).Select(i => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            id = $"r{i}",
            image = "a.jpg",
            conversations = new[] { new { from = "human", value = "<image>\nWhat is it?" }, new { from = "gpt", value = new string('w', DatasetStats.SampleChars + 50) } },
            meta = new { source = $"src{i:D3}", task = "vqa" },
        }))).ToList();
        var stats = Gather(lines, sample: 0);
        Assert.Equal(DatasetStats.MaxGroups + 1, stats.BySource.Count);
        Assert.Equal(5, stats.BySource[DatasetStats.OtherGroup].Records);
        Assert.False(stats.BySource.ContainsKey("src200"));
        Assert.Equal(DatasetStats.SamplesPerSource, stats.Samples[DatasetStats.OtherGroup].Count);
        Assert.Equal(new string('w', DatasetStats.SampleChars) + "…", stats.Samples["src000"][0].Turns[0].Answer);
        Assert.Equal("What is it?", stats.Samples["src000"][0].Turns[0].Instruction);
    }

    [Theory]
    [InlineData("rec-0001")]
    [InlineData("")]
    [InlineData("vqav2-q\u00e9\u4e2d\ud83d\ude00")]
    [InlineData("lone \ud800 surrogate")]
    public void AnIdIsHashedByTheUtf8BytesOfItsText(string id)
    {
        Assert.Equal(Hash(id), DatasetStats.IdHash(id));
        var longId = string.Concat(Enumerable.Repeat(id + "-x\u00e9", 200)); // past the stack's bound
        Assert.Equal(Hash(longId), DatasetStats.IdHash(longId));
    }

    [Fact]
    public void RecordsOfSourcesAndTasksInTurnsCountInTheirOwnGroupsOnly()
    {
        // Runs of one source and task share their groups; a change of either starts new ones, and a sampled record's
        // tokens go to the groups it was read under, whichever came after it.
        string[] order = ["a/vqa", "a/vqa", "b/vqa", "b/caption", "a/vqa", "a/caption", "b/caption", "b/caption"];
        var lines = order.Select((g, i) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            id = $"r{i}",
            conversations = new[] { new { from = "human", value = $"Question number {i}?" }, new { from = "gpt", value = string.Join(' ', Enumerable.Repeat("w", i + 1)) } },
            meta = new { source = g.Split('/')[0], task = g.Split('/')[1] },
        })));
        var stats = Gather(lines, sample: 0);
        Assert.Equal((4L, 4L), (stats.BySource["a"].Records, stats.BySource["b"].Records));
        Assert.Equal((4L, 4L), (stats.ByTask["vqa"].Records, stats.ByTask["caption"].Records));
        Assert.Equal((4L, 4L, 8L), (stats.BySource["a"].AnswerTokens.N, stats.ByTask["caption"].AnswerTokens.N, stats.Overall.AnswerTokens.N));

        // Answers of i+1 words: "a" holds records 0, 1, 4 and 5; "caption" holds 3, 5, 6 and 7.
        int Tokens(params int[] records) => records.Sum(i => O200k.CountTokens(string.Join(' ', Enumerable.Repeat("w", i + 1))));
        Assert.Equal(Tokens(0, 1, 4, 5), stats.BySource["a"].AnswerTokens.Sum);
        Assert.Equal(Tokens(3, 5, 6, 7), stats.ByTask["caption"].AnswerTokens.Sum);
        Assert.Equal(Tokens(2, 3, 6, 7), stats.BySource["b"].AnswerTokens.Sum);
    }

    [Fact]
    public void TheJsonFiguresNameTheSample()
    {
        var stats = Gather(Lines().Select(l => l.Line), sample: 12);
        var sample = JsonDocument.Parse(StatsReport.Json(stats)).RootElement.GetProperty("token_sample");
        Assert.Equal(12, sample.GetProperty("records").GetInt64());
        Assert.Equal(300, sample.GetProperty("of").GetInt64());
        Assert.Equal(12, sample.GetProperty("limit").GetInt32());
    }

    [Theory]
    [InlineData(12, true)]
    [InlineData(0, false)]
    public void TheCardSaysWhenItsTokenLengthsComeFromASample(int sample, bool said)
    {
        var stats = Gather(Lines().Select(l => l.Line), sample);
        var manifest = new System.Text.Json.Nodes.JsonObject { ["format"] = "llava", ["tool_version"] = "0.1.0", ["rejects"] = 0 };
        var card = MllmData.Pipeline.DatasetCard.Render(new MllmData.Recipes.Recipe { Name = "t" }, manifest, stats, [], evaluation: false);
        Assert.Equal(said, card.Contains("Token lengths are counted on 12 of the 300 records, those with the smallest hash of their id", StringComparison.Ordinal));
        Assert.Contains($"| answer tokens | mean {stats.Overall.AnswerTokens.Mean.ToString(System.Globalization.CultureInfo.InvariantCulture)},", card, StringComparison.Ordinal);
        Assert.Contains("| answers of ≤3 words | " + stats.Overall.ShortAnswers + " of 300 ", card, StringComparison.Ordinal);
    }

    private static string Dist(ValueCounts v) => v.N == 0 ? "-" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"mean {v.Mean:0.##}, p50 {v.Percentile(50)}, p90 {v.Percentile(90)}, max {v.Max}");

    /// <summary>The build card, rendered in process from known figures: front matter, sources, every statistics row, the recipe.</summary>
    [Fact]
    public void TheBuildCardWritesEveryFigureAndItsFrontMatter()
    {
        var stats = Gather(Lines().Select(l => l.Line), sample: 0);
        var o = stats.Overall;
        var manifest = new System.Text.Json.Nodes.JsonObject
        {
            ["format"] = "llava", ["container"] = "parquet", ["tool_version"] = "9.9.9", ["recipe_sha256"] = "abc123", ["rejects"] = 4,
            ["rejects_by_reason"] = new System.Text.Json.Nodes.JsonObject { ["empty-answer"] = 3, ["wrong-type"] = 1 },
        };
        var recipe = new MllmData.Recipes.Recipe { Name = "cardtest", Seed = 17, License = "cc-by-4.0", TaskCategories = ["visual-question-answering"] };
        recipe.Sources.Add(new MllmData.Recipes.SourceSpec { Name = "s0", Adapter = "vqav2", License = "cc-by-4.0 (VQA)" });
        MllmData.Pipeline.SourceOutcome Outcome(string name, long n) => new(name, "vqav2", new Dictionary<string, string>(), n, new Dictionary<string, (long, MllmData.Records.Reject)>());
        var card = MllmData.Pipeline.DatasetCard.Render(recipe, manifest, stats, [Outcome("s0", 150), Outcome("s1", 150)], evaluation: true, canonical: """{"name":"cardtest","note":"a `tick` and ```three```"}"""u8.ToArray());

        var expected = string.Join('\n',
            "---",
            "configs:",
            "- config_name: default",
            "  data_files:",
            "  - split: test",
            "    path: \"data/cardtest-*.parquet\"",
            "license: \"cc-by-4.0\"",
            "task_categories:",
            "- \"visual-question-answering\"",
            "size_categories:",
            "- \"n<1K\"",
            "pretty_name: \"cardtest\"",
            "tags:",
            "- \"mllmdata\"",
            "- \"multimodal\"",
            "---",
            "",
            "# cardtest",
            "",
            "Built by mllmdata 9.9.9 in the `llava` format (parquet shards under `data/`), seed 17, recipe sha256 `abc123`. 300 records, 4 rejects (`rejects.jsonl`); `manifest.json` lists every shard with its sha256.",
            "",
            "## Sources",
            "",
            "| source | adapter | records | licence |",
            "|---|---|---:|---|",
            "| s0 | vqav2 | 150 | cc-by-4.0 (VQA) |",
            "| s1 | vqav2 | 150 | not stated in the recipe |",
            "",
            "Check each source's own terms before you use or share this data.",
            "",
            "## Statistics",
            "",
            "Lengths in o200k tokens; percentiles by nearest rank. `mllmdata stats` on this folder gives the full figures.",
            "",
            "No turn names the template that wrote it (`meta.templates`), so the question cannot be told apart from the rest of the instruction: question tokens are left out (-).",
            "",
            "| figure | value |",
            "|---|---|",
            "| records | 300 |",
            $"| turns per record | {Dist(o.TurnsPerRecord)} |",
            $"| images per record | {Dist(o.ImagesPerRecord)} |",
            $"| instruction tokens | {Dist(o.InstructionTokens)} |",
            "| question tokens | - |",
            $"| answer tokens | {Dist(o.AnswerTokens)} |",
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"| answers of ≤3 words | {o.ShortAnswers} of 300 ({o.ShortAnswerShare * 100:0.##}%) |"),
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"| answer kinds | letter 0, no 0, number 0, other {o.AnswerKinds[AnswerKind.Other]}, yes {o.AnswerKinds[AnswerKind.Yes]} |"),
            "| yes share of yes/no answers | 100% |",
            "| rejects by reason | empty-answer 3, wrong-type 1 |",
            "",
            "| task | records | answer tokens p50 | answers of ≤3 words |",
            "|---|---:|---:|---:|",
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"| vqa | 300 | {o.AnswerTokens.Percentile(50)} | {o.ShortAnswerShare * 100:0.##}% |"),
            "",
            "## Recipe",
            "",
            "The canonical recipe (paths relative to the recipe's folder); its sha256 is the manifest's `recipe_sha256`.",
            "",
            "````json",
            "{",
            "  \"name\": \"cardtest\",",
            "  \"note\": \"a `tick` and ```three```\"",
            "}",
            "````",
            "");
        Assert.Equal(expected, card);
    }

    /// <summary>The card of a rewrite, rendered in process from a manifest: its settings rows, in the manifest's order.</summary>
    [Theory]
    [InlineData("rewrite", "rewrite", "Made by `mllmdata rewrite` 1.0 with the model `m\\_1`", "The records are an earlier build's")]
    [InlineData("self-instruct", "self_instruct", "Made by `mllmdata self-instruct` 1.0 with the model `m\\_1`", "The records were written by the model")]
    public void TheDerivedCardTakesItsSettingsFromTheManifest(string kind, string section, string made, string origin)
    {
        var stats = Gather(Lines(5).Select(l => l.Line), sample: 0);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse($$$"""{"name":"out","format":"sharegpt","tool_version":"1.0","recipe_sha256":"f00","rejects":0,"{{{section}}}":{"model":"m_1","capped":true,"cap":"max-cost","rewritten_answers":3,"by":{"a":1}},"usage":{"requests":9}}""")!.AsObject();
        var card = MllmData.Pipeline.DatasetCard.RenderDerived(manifest, stats, kind);
        Assert.StartsWith("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: \"data/out-*.jsonl\"\nlicense: \"unknown\"\nsize_categories:\n- \"n<1K\"\npretty_name: \"out\"\n", card, StringComparison.Ordinal);
        Assert.Contains($"# out\n\n{made} in the `sharegpt` format (jsonl shards under `data/`), settings sha256 `f00`. 5 records, 0 rejects", card, StringComparison.Ordinal);
        Assert.Contains("\n\n" + origin, card, StringComparison.Ordinal);
        Assert.EndsWith("## Settings\n\nAs the manifest gives them.\n\n| setting | value |\n|---|---|\n| model | \"m\\_1\" |\n| capped | true |\n| cap | \"max-cost\" |\n| rewritten\\_answers | 3 |\n| by | {\"a\":1} |\n\nModel usage and estimated cost: `usage` in `manifest.json`.\n", card, StringComparison.Ordinal);
        Assert.DoesNotContain("requests", card, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatsTakesTheBoundFromTheCommandLine()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", outDir)).ExitCode);
        var all = await CliRunner.RunAsync("stats", outDir);
        Assert.Equal(0, all.ExitCode);
        Assert.Contains("token figures: every record (", all.Output, StringComparison.Ordinal);

        var two = await CliRunner.RunAsync("stats", outDir, "--token-sample", "2");
        Assert.Equal(0, two.ExitCode);
        Assert.Matches(@"token figures: the 2 of \d+ records with the smallest id hash \(token sample 2\)", two.Output);

        var bad = await CliRunner.RunAsync("stats", outDir, "--token-sample", "-1");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--token-sample must be 0 (every record) or more", bad.Error, StringComparison.Ordinal);

        // The card the build wrote counted every record of this small build, and says nothing of a sample.
        Assert.DoesNotContain("smallest hash of their id", File.ReadAllText(Path.Combine(outDir, "README.md")), StringComparison.Ordinal);
    }
}
