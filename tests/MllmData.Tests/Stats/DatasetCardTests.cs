using System.Security.Cryptography;
using System.Text.Json.Nodes;
using MllmData.Pipeline;
using YamlDotNet.RepresentationModel;

namespace MllmData.Tests.Stats;

/// <summary>The README.md dataset card every build writes: front matter a Hub reader parses, sources, figures, recipe.</summary>
public sealed class DatasetCardTests
{
    private static string Samples(params string[] parts) => Path.Combine([TestPaths.RepoRoot, "samples", .. parts]);

    private static string Recipe(string dir, string license = "cc-by-4.0") =>
        WriteRecipe(dir, $$"""
            name: cardtest
            seed: 3
            license: {{license}}
            task_categories: [visual-question-answering, image-to-text]
            sources:
              - name: vqa
                adapter: vqav2
                license: "CC BY 4.0 | <b>annotations</b>"
                inputs:
                  questions: {{Samples("vqav2", "v2_OpenEnded_mscoco_train2014_questions.json")}}
                  annotations: {{Samples("vqav2", "v2_mscoco_train2014_annotations.json")}}
              - name: captions
                adapter: coco-captions
                inputs:
                  captions: {{Samples("coco", "captions_train2017.json")}}
            """);

    private static string WriteRecipe(string dir, string text)
    {
        var path = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task EveryBuildWritesAHubCardListedInTheManifest()
    {
        var dir = TestPaths.NewTempDir();
        var outDir = Path.Combine(dir, "out");
        var r = await CliRunner.RunAsync("build", "--recipe", Recipe(dir), "--out", outDir);
        Assert.Equal(0, r.ExitCode);
        var bytes = File.ReadAllBytes(Path.Combine(outDir, "README.md"));
        var text = File.ReadAllText(Path.Combine(outDir, "README.md"));

        // The manifest lists the card with its size and sha256.
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "manifest.json")))!;
        Assert.Equal("README.md", (string)manifest["card"]!["path"]!);
        Assert.Equal(bytes.LongLength, (long)manifest["card"]!["bytes"]!);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), (string)manifest["card"]!["sha256"]!);

        // Front matter, parsed as YAML.
        Assert.StartsWith("---\n", text, StringComparison.Ordinal);
        var end = text.IndexOf("\n---\n", 4, StringComparison.Ordinal);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text[4..end]));
        var front = (YamlMappingNode)yaml.Documents[0].RootNode;
        var files = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)front["configs"])[0])["data_files"])[0];
        Assert.Equal("train", files["split"].ToString());
        var glob = files["path"].ToString();
        Assert.Equal("data/cardtest-*.jsonl", glob);
        var shards = manifest["shards"]!.AsArray().Select(s => (string)s!["path"]!).ToList();
        Assert.Equal(shards, Directory.GetFiles(Path.Combine(outDir, "data"), glob["data/".Length..]).Select(f => "data/" + Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList());
        Assert.Equal("cc-by-4.0", front["license"].ToString());
        Assert.Equal(["visual-question-answering", "image-to-text"], ((YamlSequenceNode)front["task_categories"]).Select(n => n.ToString()));
        Assert.Equal(["n<1K"], ((YamlSequenceNode)front["size_categories"]).Select(n => n.ToString()));

        // Sources with their counts (as the shards hold them) and licences, escaped for Markdown.
        Assert.Contains("| vqa | vqav2 | 7 | CC BY 4.0 \\| &lt;b&gt;annotations&lt;/b&gt; |", text, StringComparison.Ordinal);
        Assert.Contains("| captions | coco-captions | 5 | not stated in the recipe |", text, StringComparison.Ordinal);
        Assert.Contains("| records | 12 |", text, StringComparison.Ordinal);
        Assert.Contains("| answers of ≤3 words | 7 of 12 (58.33%) |", text, StringComparison.Ordinal);
        Assert.Contains("seed 3", text, StringComparison.Ordinal);
        Assert.Contains($"recipe sha256 `{manifest["recipe_sha256"]}`", text, StringComparison.Ordinal);
        Assert.Contains("\"license\": \"CC BY 4.0 | <b>annotations</b>\"", text, StringComparison.Ordinal);

        // Deterministic: a second build elsewhere writes the same bytes.
        var again = Path.Combine(dir, "again");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Recipe(dir), "--out", again)).ExitCode);
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(again, "README.md")));
    }

    [Fact]
    public async Task ABadLicenceIdIsAUsageErrorBeforeAnyFileIsWritten()
    {
        var dir = TestPaths.NewTempDir();
        var outDir = Path.Combine(dir, "out");
        var r = await CliRunner.RunAsync("build", "--recipe", Recipe(dir, license: "\"mit\\nextra: 1\""), "--out", outDir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("license must be a licence id", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Theory]
    [InlineData(0, "n<1K")]
    [InlineData(999, "n<1K")]
    [InlineData(1000, "1K<n<10K")]
    [InlineData(9999, "1K<n<10K")]
    [InlineData(10_000, "10K<n<100K")]
    [InlineData(999_999, "100K<n<1M")]
    [InlineData(1_000_000, "1M<n<10M")]
    [InlineData(999_999_999_999, "100B<n<1T")]
    [InlineData(1_000_000_000_000, "n>1T")]
    public void SizeCategoriesAreTheHubBuckets(long n, string bucket) => Assert.Equal(bucket, DatasetCard.SizeCategory(n));
}
