using System.Text;
using System.Text.Json;
using MllmData.Tests.Hostile;

namespace MllmData.Tests.Survey;

/// <summary>A mixture streams: its peak memory does not grow with the size of its sources.</summary>
public class TheMixtureMemory
{
    /// <summary>A recipe mixing a generated Alpaca source of <paramref name="lines"/> lines with the sample chats, 500 records in all.</summary>
    private static string Recipe(int lines)
    {
        var dir = TestPaths.NewTempDir();
        using (var w = new StreamWriter(Path.Combine(dir, "big.jsonl"), false, new UTF8Encoding(false)))
        {
            for (var i = 1; i <= lines; i++)
            {
                w.Write("{\"instruction\":\"Write the number ");
                w.Write(i);
                w.Write(" in words, then say whether it is even or odd.\",\"input\":\"\",\"output\":\"The number ");
                w.Write(i);
                w.Write(" is written out in full here, and it is ");
                w.Write(i % 2 == 0 ? "even" : "odd");
                w.Write(".\"}\n");
            }
        }

        var chats = Path.Combine(TestPaths.RepoRoot, "samples", "text", "sharegpt-12.jsonl");
        var recipe = Path.Combine(dir, "recipe.yaml");
        File.WriteAllText(recipe, $"name: big\nseed: 7\nmixture:\n  sampling: sqrt\n  total: 500\nsources:\n  - name: big\n    adapter: instructions\n    inputs: {{file: big.jsonl}}\n  - name: chats\n    adapter: instructions\n    inputs: {{file: {chats}}}\n    repeat: 3\n");
        return recipe;
    }

    [Fact]
    public async Task Keeps_Peak_Memory_Flat_From_2k_To_200k_Source_Lines()
    {
        var smallOut = TestPaths.NewTempDir();
        var bigOut = TestPaths.NewTempDir();
        var small = await PeakMemory.RunAsync("build", "--recipe", Recipe(2_000), "--out", smallOut);
        var big = await PeakMemory.RunAsync("build", "--recipe", Recipe(200_000), "--out", bigOut);

        Assert.True(small.ExitCode == 0, small.Error);
        Assert.True(big.ExitCode == 0, big.Error);

        // Both passes read all 200,000 lines (about 25 MB); holding them would cost hundreds of megabytes.
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(bigOut, "manifest.json")));
        var sources = manifest.RootElement.GetProperty("mixture").GetProperty("sources");
        Assert.Equal(200_000, sources[0].GetProperty("available").GetInt64());
        Assert.Equal(500, manifest.RootElement.GetProperty("records").GetInt64());
        Assert.True(big.PeakMegabytes - small.PeakMegabytes < 30, $"peak {small.PeakMegabytes} MB for 2k lines, {big.PeakMegabytes} MB for 200k lines");
    }
}
