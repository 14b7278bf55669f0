using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace MllmData.Tests.Stats;

/// <summary>
/// <c>mllmdata stats</c> against figures this test computes itself from the shards (its own JSON parsing, its own o200k
/// tokenizer instance, its own nearest-rank percentiles), and questions from the benchmark's own question file.
/// </summary>
public sealed class StatsFiguresTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    /// <summary>What the test reads from a shard line by itself.</summary>
    private sealed record Expected(string Source, string Task, int Images, List<(string User, string? Answer, string? Template)> Turns, JsonObject? Meta);

    [Fact]
    public async Task SampleBuildFiguresMatchAnIndependentCount()
    {
        var dir = TestPaths.NewTempDir();
        var outDir = Path.Combine(dir, "out");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", outDir)).ExitCode);
        var jsonPath = Path.Combine(dir, "stats.json");
        var r = await CliRunner.RunAsync("stats", outDir, "--json", jsonPath);
        Assert.Equal(0, r.ExitCode);
        var stats = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject();
        var records = ReadShards(outDir);
        Assert.Equal(8, records.Count);
        CheckOverall(stats, records);

        // Questions: the VQAv2 question file's own text for each question id the records list.
        var questionFile = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "samples", "vqav2", "v2_OpenEnded_mscoco_train2014_questions.json")))!;
        var byId = questionFile["questions"]!.AsArray().ToDictionary(q => q!["question_id"]!.ToString(), q => (string)q!["question"]!);
        var questions = records.Where(x => x.Meta?["extra"]?["question_ids"] is JsonArray)
            .SelectMany(x => x.Meta!["extra"]!["question_ids"]!.AsArray().Select(id => O200k.CountTokens(byId[id!.ToString()]))).ToList();
        Assert.Equal(7, questions.Count);
        CheckDistribution(stats["overall"]!["question_tokens"]!, questions);
        Assert.Equal(0, (long)stats["overall"]!["questions_unrecovered"]!);

        // Text output carries the same figures.
        Assert.Contains("records 8, turns 12, images 8, rejects 0", r.Output, StringComparison.Ordinal);
        var answers = records.SelectMany(x => x.Turns).Where(t => t.Answer is not null).Select(t => O200k.CountTokens(t.Answer!)).ToList();
        Assert.Contains($"answer tokens (o200k): mean {Math.Round((double)answers.Sum() / answers.Count, 2).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)}, p50 {NearestRank(answers, 50)}, p90 {NearestRank(answers, 90)}", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RealFixtureBuildFiguresMatchAnIndependentCount()
    {
        // LLaMA-Factory's own multi-turn demo data, built as ShareGPT with meta, and real COCO captions with their image sizes.
        var dir = TestPaths.NewTempDir();
        var demo = Path.Combine(dir, "demo");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "instructions", "--input", $"file={TestPaths.RealFile("reference-outputs", "llama-factory", "mllm_demo.json")}", "--format", "sharegpt", "--meta", "--out", demo)).ExitCode);
        var coco = Path.Combine(dir, "coco");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json")}", "--image-root", TestPaths.RealFile("coco-mini", "val2017"), "--images", "reference", "--format", "llava", "--out", coco)).ExitCode);
        foreach (var outDir in new[] { demo, coco })
        {
            var jsonPath = Path.Combine(dir, Path.GetFileName(outDir) + ".json");
            Assert.Equal(0, (await CliRunner.RunAsync("stats", outDir, "--json", jsonPath)).ExitCode);
            var stats = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject();
            var records = ReadShards(outDir);
            Assert.True(records.Count > 0);
            CheckOverall(stats, records);
        }

        // Image sizes come from the records' meta, which the image stage filled from the files themselves.
        var cocoStats = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "coco.json")))!;
        var sides = ReadShards(coco).SelectMany(x => x.Meta!["images"]!.AsArray().Select(i => Math.Max((int)i!["width"]!, (int)i["height"]!))).ToList();
        CheckDistribution(cocoStats["images"]!["long_side_px"]!, sides);
        Assert.Equal((long)JsonNode.Parse(File.ReadAllText(Path.Combine(coco, "manifest.json")))!["images"]!["checked"]!, (long)cocoStats["images"]!["build"]!["checked"]!);
    }

    private static void CheckOverall(JsonObject stats, List<Expected> records)
    {
        var overall = stats["overall"]!;
        Assert.Equal(records.Count, (long)stats["records"]!);
        Assert.Equal(records.Count, (long)overall["records"]!);
        Assert.Equal(records.Sum(x => x.Turns.Count), (long)overall["turns"]!);
        Assert.Equal(records.Sum(x => x.Images), (long)overall["images"]!);
        CheckDistribution(overall["turns_per_record"]!, [.. records.Select(x => x.Turns.Count)]);
        CheckDistribution(overall["images_per_record"]!, [.. records.Select(x => x.Images)]);
        var turns = records.SelectMany(x => x.Turns).ToList();
        CheckDistribution(overall["instruction_tokens"]!, [.. turns.Select(t => O200k.CountTokens(t.User))]);
        var answers = turns.Where(t => t.Answer is not null).Select(t => t.Answer!).ToList();
        CheckDistribution(overall["answer_tokens"]!, [.. answers.Select(a => O200k.CountTokens(a))]);
        var shortAnswers = answers.Count(a => a.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).Length <= 3);
        Assert.Equal(shortAnswers, (long)overall["short_answers"]!);
        Assert.Equal(Math.Round((double)shortAnswers / answers.Count, 4), (double)overall["short_answer_share"]!);
        // The documented rule: whitespace runs made one space, lower case, one trailing '.' or '!' off, cut at 200 characters.
        var lowered = answers.Select(a =>
        {
            var n = string.Join(' ', a.Split([' ', '\n', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
            n = n.EndsWith('.') || n.EndsWith('!') ? n[..^1].TrimEnd() : n;
            return n.Length > 200 ? n[..200] : n;
        }).ToList();
        var yes = lowered.Count(a => a == "yes");
        var no = lowered.Count(a => a == "no");
        Assert.Equal(yes, (long)overall["answer_kinds"]!["yes"]!);
        Assert.Equal(no, (long)overall["answer_kinds"]!["no"]!);
        string[] words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"];
        Assert.Equal(lowered.Count(a => (a.Length > 0 && a.All(char.IsAsciiDigit)) || words.Contains(a)), (long)overall["answer_kinds"]!["number"]!);
        Assert.Equal(lowered.Count(a => a.Length == 1 && char.IsAsciiLetter(a[0])), (long)overall["answer_kinds"]!["letter"]!);
        // A share of no yes/no answers is null, not 0.
        Assert.Equal(yes + no == 0 ? null : Math.Round((double)yes / (yes + no), 4), (double?)overall["yes_share"]);

        // Top answers: counts of the normalised answers, ties by text.
        var top = lowered.GroupBy(a => a).Select(g => (g.Key, Count: g.Count())).OrderByDescending(g => g.Count).ThenBy(g => g.Key, StringComparer.Ordinal).Take(5).ToList();
        var reported = stats["top_answers"]!["items"]!.AsArray().Take(5).Select(i => ((string)i!["value"]!, (int)i["count"]!)).ToList();
        Assert.Equal(top, reported);
        Assert.True((bool)stats["top_answers"]!["exact"]!);

        // Templates: every turn's template id from meta.templates.
        var templates = turns.Where(t => t.Template is not null).GroupBy(t => t.Template!).ToDictionary(g => g.Key, g => (long)g.Count());
        var reportedTemplates = stats["templates"]!["items"]!.AsArray().ToDictionary(i => (string)i!["value"]!, i => (long)i!["count"]!);
        Assert.Equal(templates.OrderBy(kv => kv.Key).ToList(), reportedTemplates.OrderBy(kv => kv.Key).ToList());

        // Per source and per task.
        foreach (var g in records.GroupBy(x => x.Source))
        {
            Assert.Equal(g.Count(), (long)stats["sources"]![g.Key]!["records"]!);
            Assert.Equal(g.Sum(x => x.Turns.Count), (long)stats["sources"]![g.Key]!["turns"]!);
        }

        foreach (var g in records.GroupBy(x => x.Task))
        {
            Assert.Equal(g.Count(), (long)stats["tasks"]![g.Key]!["records"]!);
        }
    }

    private static void CheckDistribution(JsonNode reported, List<int> values)
    {
        Assert.Equal(values.Count, (long)reported["n"]!);
        Assert.Equal(values.Sum(), (long)reported["sum"]!);
        Assert.Equal(values.Min(), (int)reported["min"]!);
        Assert.Equal(values.Max(), (int)reported["max"]!);
        Assert.Equal(NearestRank(values, 50), (int)reported["p50"]!);
        Assert.Equal(NearestRank(values, 90), (int)reported["p90"]!);
        Assert.Equal(NearestRank(values, 99), (int)reported["p99"]!);
        Assert.Equal(Math.Round((double)values.Sum() / values.Count, 2), (double)reported["mean"]!);
        Assert.Equal(values.Count, reported["histogram"]!.AsArray().Sum(b => (long)b!["count"]!));
    }

    /// <summary>Sorted values, the one at rank ceil(p/100·n) (1-based).</summary>
    private static int NearestRank(List<int> values, double p)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Max(rank, 1) - 1];
    }

    /// <summary>Every shard line listed by the manifest, parsed here: the conversation list, user and assistant messages.</summary>
    private static List<Expected> ReadShards(string outDir)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "manifest.json")))!;
        var result = new List<Expected>();
        foreach (var shard in manifest["shards"]!.AsArray())
        {
            foreach (var text in File.ReadLines(Path.Combine(outDir, (string)shard!["path"]!)).Where(l => l.Length > 0))
            {
                var line = JsonNode.Parse(text)!.AsObject();
                var meta = line["meta"] as JsonObject;
                var messages = (line["conversations"] ?? line["messages"])!.AsArray();
                var templates = meta?["templates"] as JsonArray;
                var turns = new List<(string, string?, string?)>();
                for (var k = 0; k < messages.Count; k++)
                {
                    var role = (string)(messages[k]!["from"] ?? messages[k]!["role"])!;
                    if (role is not ("human" or "user"))
                    {
                        continue;
                    }

                    var user = (string)(messages[k]!["value"] ?? messages[k]!["content"])!;
                    user = user.Replace("<image>\n", string.Empty).Replace("\n<image>", string.Empty).Replace("<image>", string.Empty).Trim();
                    string? answer = k + 1 < messages.Count && (string)(messages[k + 1]!["from"] ?? messages[k + 1]!["role"])! is "gpt" or "assistant"
                        ? (string)(messages[k + 1]!["value"] ?? messages[k + 1]!["content"])! : null;
                    turns.Add((user, answer, templates is not null && turns.Count < templates.Count ? (string?)templates[turns.Count] : null));
                }

                var images = line["image"] is JsonValue ? 1 : (line["images"] as JsonArray)?.Count ?? 0;
                result.Add(new Expected((string?)meta?["source"] ?? "(no meta)", (string?)meta?["task"] ?? "(no meta)", images, turns, meta));
            }
        }

        return result;
    }
}
