using System.Text.Json.Nodes;
using MllmData.Stats;

namespace MllmData.Tests.Stats;

/// <summary>The pieces of <c>stats</c>: percentile rule, bounded counters, answer kinds, the HTML report's escaping, comparison and errors.</summary>
public sealed class StatsPiecesTests
{
    [Fact]
    public void PercentilesAreNearestRank()
    {
        var v = new ValueCounts();
        foreach (var x in new[] { 4, 1, 3, 2 })
        {
            v.Add(x);
        }

        Assert.Equal(1, v.Percentile(25));
        Assert.Equal(2, v.Percentile(26));
        Assert.Equal(2, v.Percentile(50));
        Assert.Equal(3, v.Percentile(51));
        Assert.Equal(4, v.Percentile(100));
        Assert.Equal(1, v.Percentile(0));
        Assert.Equal(2.5, v.Mean);
        Assert.Equal([("0", 0L), ("1", 1L), ("2", 1L), ("3", 1L), ("4", 1L)], v.Buckets());
        v.Add(9);
        v.Add(8193);
        Assert.Equal(("9-16", 1L), v.Buckets()[6]);
        Assert.Equal(("8193+", 1L), v.Buckets()[^1]);
        Assert.Equal(0, new ValueCounts().Percentile(50));
    }

    [Fact]
    public void TopCountsAreExactUntilTheCapacityIsPassed()
    {
        var top = new TopCounts(3);
        foreach (var s in new[] { "b", "a", "b", "c", "b", "a" })
        {
            top.Add(s);
        }

        Assert.True(top.Exact);
        Assert.Equal([("b", 3L), ("a", 2L), ("c", 1L)], top.Top(5));
        top.Add("d");
        Assert.False(top.Exact);
        Assert.Equal(3, top.Distinct);

        // Space-Saving: the new key takes the smallest counter (c, 1) and over-counts by it.
        Assert.Equal([("b", 3L), ("a", 2L), ("d", 2L)], top.Top(5));
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(3, 11)]
    [InlineData(8, 5)]
    [InlineData(8, 23)]
    public void TopCountsEvictAsSpaceSavingDoesBeforeAndAfterTheFirstEviction(int capacity, int seed)
    {
        // A plain Space-Saving beside it: the smallest (count, key) counter goes to a new key; checked after every add.
        var top = new TopCounts(capacity);
        var reference = new Dictionary<string, long>(StringComparer.Ordinal);
        var random = new Random(seed);
        for (var i = 0; i < 600; i++)
        {
            var key = "k" + (random.Next(4) == 0 ? random.Next(40) : random.Next(6)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            top.Add(key);
            if (reference.TryGetValue(key, out var n))
            {
                reference[key] = n + 1;
            }
            else if (reference.Count < capacity)
            {
                reference[key] = 1;
            }
            else
            {
                var min = reference.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).First();
                reference.Remove(min.Key);
                reference[key] = min.Value + 1;
            }

            var expected = reference.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).ToList();
            Assert.Equal(expected, top.Top(capacity));
            Assert.Equal(i + 1, top.Total);
        }

        Assert.False(top.Exact);
    }

    [Theory]
    [InlineData("Yes", "yes")]
    [InlineData(" no. ", "no")]
    [InlineData("No!", "no")]
    [InlineData("yes, it is", "other")]
    [InlineData("12", "number")]
    [InlineData("-3.5", "number")]
    [InlineData("1,200", "number")]
    [InlineData("1,20", "other")]
    [InlineData("Seven", "number")]
    [InlineData("twenty-one", "other")]
    [InlineData("B", "letter")]
    [InlineData("(c)", "letter")]
    [InlineData("d)", "letter")]
    [InlineData("AB", "other")]
    [InlineData("", "other")]
    public void AnswerKindsFollowTheDocumentedRule(string answer, string kind) => Assert.Equal(kind, AnswerKind.Of(answer));

    [Fact]
    public async Task HtmlReportEscapesRecordTextAndHasNoScriptOrNetwork()
    {
        var dir = HostileBuild();
        var html = Path.Combine(TestPaths.NewTempDir(), "report.html");
        var r = await CliRunner.RunAsync("stats", dir, "--html", html);
        Assert.Equal(0, r.ExitCode);
        var text = File.ReadAllText(html);
        Assert.DoesNotContain("<script", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img src=x", text, StringComparison.OrdinalIgnoreCase);
        // Nothing is loaded from anywhere: every src is a data URL, there are no links, and the page's policy forbids the rest.
        Assert.Equal(0, System.Text.RegularExpressions.Regex.Count(text, "(src|href)\\s*=\\s*\"(?!data:)", System.Text.RegularExpressions.RegexOptions.IgnoreCase));
        Assert.Contains("default-src 'none'", text, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", text, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(2)&gt;", text, StringComparison.Ordinal);
        Assert.Contains("<svg", text, StringComparison.Ordinal);
        Assert.Contains("image not reachable: http://example.invalid/a.jpg", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HtmlReportEmbedsThumbnailsOfReachableImages()
    {
        var dir = TestPaths.NewTempDir();
        var outDir = Path.Combine(dir, "out");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", outDir)).ExitCode);
        var html = Path.Combine(dir, "r.html");
        Assert.Equal(0, (await CliRunner.RunAsync("stats", outDir, "--html", html, "--image-root", Path.Combine(TestPaths.RepoRoot, "samples", "images"))).ExitCode);
        var text = File.ReadAllText(html);
        Assert.Equal(6, System.Text.RegularExpressions.Regex.Count(text, "<img alt=\"[^\"]+\" src=\"data:image/jpeg;base64,"));
        Assert.DoesNotContain("image not reachable", text, StringComparison.Ordinal);

        // Without the image root the paths are not found, and the report says so instead of linking them.
        Assert.Equal(0, (await CliRunner.RunAsync("stats", outDir, "--html", html)).ExitCode);
        Assert.Contains("image not reachable: COCO_train2014_000000000101.jpg", File.ReadAllText(html), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoBuildsSideBySideShowTheAnswerLengthShift()
    {
        var a = HostileBuild();
        var b = HostileBuild(longAnswers: true);
        var json = Path.Combine(TestPaths.NewTempDir(), "ab.json");
        var r = await CliRunner.RunAsync("stats", a, b, "--json", json);
        Assert.Equal(0, r.ExitCode);
        var both = JsonNode.Parse(File.ReadAllText(json))!;
        var (ma, mb) = ((double)both["a"]!["overall"]!["answer_tokens"]!["mean"]!, (double)both["b"]!["overall"]!["answer_tokens"]!["mean"]!);
        Assert.True(mb > ma);
        var row = r.Output.Split('\n').Single(l => l.StartsWith("answer tokens mean", StringComparison.Ordinal));
        Assert.EndsWith((mb - ma).ToString("+0.##;-0.##;0", System.Globalization.CultureInfo.InvariantCulture), row.TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("answers <=3 words %", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFolderWithoutManifestIsADataErrorNamingTheFile()
    {
        var dir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("stats", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(Path.Combine(dir, "manifest.json"), r.Error, StringComparison.Ordinal);
        Assert.Contains("manifest.json is missing", r.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await CliRunner.RunAsync("stats", dir, "--html", Path.Combine(dir, "no", "such", "r.html"))).ExitCode);
    }

    /// <summary>A hand-written LLaVA build whose records carry markup, and an image URL that must never be fetched.</summary>
    private static string HostileBuild(bool longAnswers = false)
    {
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        var lines = new[]
        {
            """{"id":"x1","image":"http://example.invalid/a.jpg","conversations":[{"from":"human","value":"<image>\nWhat is <script>alert(1)</script>?"},{"from":"gpt","value":"<img src=x onerror=alert(2)>"}],"meta":{"source":"evil<b>","task":"vqa","templates":[null]}}""",
            """{"id":"x2","image":"b.jpg","conversations":[{"from":"human","value":"<image>\nIs it?"},{"from":"gpt","value":"yes"}],"meta":{"source":"plain","task":"vqa","templates":[null]}}""",
        };
        if (longAnswers)
        {
            lines = [.. lines.Select(l => l.Replace("\"value\":\"yes\"", "\"value\":\"Yes, it is, as the picture shows quite clearly.\"", StringComparison.Ordinal))];
        }

        File.WriteAllText(Path.Combine(dir, "data", "d-00000-of-00001.jsonl"), string.Join("\n", lines) + "\n");
        File.WriteAllText(Path.Combine(dir, "manifest.json"), """{"name":"d","format":"llava","tool_version":"0.1.0","seed":1,"records":2,"container":"jsonl","shards":[{"path":"data/d-00000-of-00001.jsonl","records":2}],"rejects":0,"rejects_by_reason":{}}""");
        return dir;
    }
}
