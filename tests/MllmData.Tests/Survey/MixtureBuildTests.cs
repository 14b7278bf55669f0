using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using MllmData.Recipes;

namespace MllmData.Tests.Survey;

/// <summary>Recipe mixtures built end to end: the seeded interleaving, selection, repeats, the manifest section, the sample mix.</summary>
public class TheMixtureBuild
{
    /// <summary>A text-only Alpaca file of <paramref name="count"/> lines in a new folder.</summary>
    private static string AlpacaFile(string dir, string name, int count)
    {
        var path = Path.Combine(dir, name + ".jsonl");
        File.WriteAllLines(path, Enumerable.Range(1, count).Select(i => JsonSerializer.Serialize(new { instruction = $"Task {i} of {name}.", input = "", output = $"Answer {i}." })));
        return path;
    }

    /// <summary>A recipe mixing Alpaca files (name, lines, extra source keys) under the given mixture lines.</summary>
    private static string Recipe(long seed, string mixture, params (string Name, int Lines, string Keys)[] sources)
    {
        var dir = TestPaths.NewTempDir();
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"name: mix\nseed: {seed}\nformat: llava\nmeta: false\nmixture:\n{mixture}\nsources:\n");
        foreach (var (name, lines, keys) in sources)
        {
            AlpacaFile(dir, name, lines);
            text.Append(CultureInfo.InvariantCulture, $"  - name: {name}\n    adapter: instructions\n    inputs:\n      file: {name}.jsonl\n");
            foreach (var key in keys.Split(';', StringSplitOptions.RemoveEmptyEntries))
            {
                text.Append(CultureInfo.InvariantCulture, $"    {key.Trim()}\n");
            }
        }

        var path = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    private static async Task<string> Build(string recipe)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--recipe", recipe, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Error);
        return outDir;
    }

    private static List<string> Ids(string outDir) =>
        [.. TestPaths.Shards(outDir).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!)];

    // The schedule as docs/recipes.md states it, written again here from the text, not from the code.
    private static double U(long seed, string source, string purpose, long index) =>
        (XxHash3.HashToUInt64(Encoding.UTF8.GetBytes($"{seed.ToString(CultureInfo.InvariantCulture)}\u001f{source}\u001f{purpose}\u001f{index.ToString(CultureInfo.InvariantCulture)}")) >> 11)
        / 9007199254740992.0;

    /// <summary>The record ids of a mixture of Alpaca sources (name, lines, repeat, target) in documented order.</summary>
    private static List<string> Expected(long seed, params (string Name, int Lines, int Repeat, long Target)[] sources)
    {
        var keyed = new List<(double Key, int Source, string Id)>();
        for (var s = 0; s < sources.Length; s++)
        {
            var (name, lines, repeat, target) = sources[s];
            long pool = lines * repeat, taken = 0;
            for (long k = 0; k < pool; k++)
            {
                if (U(seed, name, "take", k) * (pool - k) < target - taken)
                {
                    var epoch = k / lines;
                    var id = $"{name}-l{(k % lines) + 1}" + (epoch == 0 ? string.Empty : $"-r{epoch + 1}");
                    keyed.Add(((taken + U(seed, name, "order", taken)) / target, s, id));
                    taken++;
                }
            }

            Assert.Equal(target, taken);
        }

        return [.. keyed.OrderBy(x => x.Key).ThenBy(x => x.Source).Select(x => x.Id)];
    }

    [Fact]
    public async Task Interleaves_A_Small_Mixture_In_The_Documented_Seeded_Order()
    {
        var outDir = await Build(Recipe(7, "  sampling: uniform\n  total: 9", ("aa", 10, ""), ("bb", 6, ""), ("cc", 4, "")));

        var ids = Ids(outDir);
        Assert.Equal(Expected(7, ("aa", 10, 1, 3), ("bb", 6, 1, 3), ("cc", 4, 1, 3)), ids);

        // Interleaved, not concatenated: the first three records are not all of one source.
        Assert.True(ids.Take(3).Select(id => id[..2]).Distinct().Count() > 1, string.Join(", ", ids));
    }

    [Fact]
    public async Task Takes_Every_Record_Once_Without_A_Total_Still_Interleaved()
    {
        var outDir = await Build(Recipe(3, "  sampling: sqrt", ("aa", 8, ""), ("bb", 5, "")));

        var ids = Ids(outDir);
        Assert.Equal(Expected(3, ("aa", 8, 1, 8), ("bb", 5, 1, 5)), ids);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"aa-l{i}"), ids.Where(id => id.StartsWith("aa", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Same_Seed_Gives_The_Same_Bytes_And_Another_Seed_Another_Order()
    {
        var sources = new[] { ("aa", 12, ""), ("bb", 12, "") };
        var first = await Build(Recipe(7, "  sampling: proportional", sources));
        var again = await Build(Recipe(7, "  sampling: proportional", sources));
        var other = await Build(Recipe(8, "  sampling: proportional", sources));

        Assert.Equal(File.ReadAllBytes(TestPaths.Shards(first)[0]), File.ReadAllBytes(TestPaths.Shards(again)[0]));
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "manifest.json")), File.ReadAllBytes(Path.Combine(again, "manifest.json")));
        Assert.NotEqual(Ids(first), Ids(other));
        Assert.Equal(Ids(first).Order(StringComparer.Ordinal), Ids(other).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Repeats_A_Source_With_Distinct_Ids()
    {
        var outDir = await Build(Recipe(5, "  sampling: proportional", ("aa", 3, "repeat: 2"), ("bb", 2, "")));

        var ids = Ids(outDir);
        Assert.Equal(Expected(5, ("aa", 3, 2, 6), ("bb", 2, 1, 2)), ids);
        Assert.Equal(["aa-l1", "aa-l1-r2", "aa-l2", "aa-l2-r2", "aa-l3", "aa-l3-r2", "bb-l1", "bb-l2"], ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Reports_Available_Taken_And_Share_Per_Source_In_The_Manifest()
    {
        var outDir = await Build(Recipe(1, "  sampling: proportional", ("aa", 10, "max_samples: 4; weight: 2.5"), ("bb", 6, "")));

        Assert.Equal(Expected(1, ("aa", 10, 1, 4), ("bb", 6, 1, 6)), Ids(outDir));
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        var mixture = manifest.RootElement.GetProperty("mixture");
        Assert.Equal(
            """{"sampling":"proportional","total":10,"sources":[{"name":"aa","available":10,"repeat":1,"max_samples":4,"weight":2.5,"target":4,"taken":4,"share":0.4},{"name":"bb","available":6,"repeat":1,"weight":1,"target":6,"taken":6,"share":0.6}]}""",
            JsonSerializer.Serialize(mixture));
    }

    [Fact]
    public async Task Builds_The_Mix665k_Sample_With_Shares_Within_One_Record_Of_The_Target()
    {
        var path = Path.Combine(TestPaths.RepoRoot, "samples", "recipe-mix665k.yaml");
        var recipe = RecipeLoader.Load(path);
        var outDir = await Build(path);

        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "manifest.json")));
        var mixture = manifest.RootElement.GetProperty("mixture");
        var total = recipe.Mixture!.Total!.Value;
        Assert.Equal(total, mixture.GetProperty("total").GetInt64());
        var weights = recipe.Sources.Sum(s => s.Weight ?? 1);
        var reported = mixture.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal(recipe.Sources.Select(s => s.Name), reported.Select(s => s.GetProperty("name").GetString()));
        foreach (var (source, row) in recipe.Sources.Zip(reported))
        {
            // The table's share: uniform sampling makes it the weight over all weights.
            var target = total * (source.Weight ?? 1) / weights;
            var taken = row.GetProperty("taken").GetInt64();
            Assert.True(Math.Abs(taken - target) <= 1, $"{source.Name}: {taken} taken, target {target}");
            Assert.Equal(Math.Round((double)taken / total, 6), row.GetProperty("share").GetDouble());
        }

        // The text-only part is there, with no image key and no placeholder.
        var lines = TestPaths.Shards(outDir).SelectMany(File.ReadLines).ToList();
        Assert.Equal(total, lines.Count);
        var text = lines.Where(l => l.Contains("\"id\":\"sharegpt-text-", StringComparison.Ordinal) || l.Contains("\"id\":\"alpaca-text-", StringComparison.Ordinal)).ToList();
        Assert.Equal(reported.Where(r => r.GetProperty("name").GetString()!.EndsWith("-text", StringComparison.Ordinal)).Sum(r => r.GetProperty("taken").GetInt64()), text.Count);
        Assert.All(text, l => Assert.DoesNotContain("\"image\"", l, StringComparison.Ordinal));
        Assert.All(text, l => Assert.DoesNotContain("<image>", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Documents_Every_Mixture_Key_In_The_Recipe_Docs()
    {
        var docs = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "recipes.md"));
        var keys = typeof(MixtureSettings).GetProperties().Concat(typeof(SourceSpec).GetProperties())
            .Select(p => p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), false).OfType<System.Text.Json.Serialization.JsonPropertyNameAttribute>().FirstOrDefault()?.Name)
            .OfType<string>()
            .Where(k => k is "sampling" or "total" or "weight" or "max_samples" or "repeat" || typeof(MixtureSettings).GetProperties().Any(p => p.Name.Equals(k, StringComparison.OrdinalIgnoreCase)))
            .ToList();

        Assert.Equal(5, keys.Count);
        var section = docs[docs.IndexOf("## Mixture section", StringComparison.Ordinal)..];
        Assert.All(keys.Append("mixture"), k => Assert.Contains($"{k}:", section, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refuses_Mixture_Keys_Without_A_Mixture_Section()
    {
        var dir = TestPaths.NewTempDir();
        AlpacaFile(dir, "aa", 2);
        var recipe = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(recipe, "sources:\n  - name: aa\n    adapter: instructions\n    inputs: {file: aa.jsonl}\n    repeat: 2\n");

        var r = await CliRunner.RunAsync("build", "--recipe", recipe, "--out", Path.Combine(dir, "out"));

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("sources[].repeat (source 'aa') needs a mixture: section in the recipe", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Theory]
    [InlineData("  sampling: log", "mixture.sampling must be one of proportional, sqrt, uniform, got 'log'")]
    [InlineData("  total: 0", "mixture.total must be 1 or more, got 0")]
    public async Task Refuses_A_Bad_Mixture_Setting(string mixture, string message)
    {
        var r = await CliRunner.RunAsync("build", "--recipe", Recipe(1, mixture, ("aa", 2, "")), "--out", TestPaths.NewTempDir());

        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("weight: 0", "sources[].weight (source 'aa') must be a number above 0 and at most 1000000, got 0")]
    [InlineData("weight: 1e308", "sources[].weight (source 'aa') must be a number above 0 and at most 1000000, got 1E+308")]
    [InlineData("weight: 1000000.5", "sources[].weight (source 'aa') must be a number above 0 and at most 1000000, got 1000000.5")]
    [InlineData("max_samples: 0", "sources[].max_samples (source 'aa') must be 1 or more, got 0")]
    [InlineData("repeat: 0", "sources[].repeat (source 'aa') must be from 1 to 1000, got 0")]
    public async Task Refuses_A_Bad_Source_Key(string key, string message)
    {
        var r = await CliRunner.RunAsync("build", "--recipe", Recipe(1, "  sampling: uniform", ("aa", 2, key)), "--out", TestPaths.NewTempDir());

        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Error, StringComparison.Ordinal);
    }
}
