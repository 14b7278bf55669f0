using System.Text.RegularExpressions;
using MllmData.Output;

namespace MllmData.Tests.Output;

/// <summary><c>build --resume</c> over a journal damaged since the kill: the damaged lines' work is done again, never a crash.</summary>
public partial class ResumingABuild
{
    [Fact]
    public async Task Journal_Lines_Damaged_Since_The_Kill_Are_Done_Again_And_Said_So()
    {
        var root = TestPaths.NewTempDir();
        var expected = await UninterruptedAsync(root);
        var outDir = Path.Combine(root, "out");
        await KillAsync(outDir, "shard-closed-1");
        var journal = Path.Combine(outDir, OutputFolder.StagingFolder, ResumeJournal.FileName);
        var lines = File.ReadAllLines(journal);
        var images = Enumerable.Range(0, lines.Length).Where(i => lines[i].StartsWith("{\"image\":", StringComparison.Ordinal)).ToList();
        var shard0 = Array.FindIndex(lines, l => l.StartsWith("{\"shard\":0,", StringComparison.Ordinal));
        Assert.True(images.Count > 2 && shard0 > 0);

        // Values of the wrong kind (a size as text, a perceptual hash that is not hex), a shard file named outside the
        // staging folder, and a line that is JSON but no object.
        lines[images[0]] = Regex.Replace(lines[images[0]], "\"size\":\\d+", "\"size\":\"big\"");
        lines[images[1]] = Regex.Replace(lines[images[1]], "\"phash\":\"[0-9a-f]+\"", "\"phash\":\"zz\"");
        lines[shard0] = Regex.Replace(lines[shard0], "\"file\":\"[^\"]+\"", "\"file\":\"../../elsewhere.jsonl\"");
        File.WriteAllLines(journal, [.. lines, "[1]"]);

        var log = await ResumeToAsync(outDir, expected, Build(outDir, extra: "--resume"));

        Assert.Contains("resume: 4 lines of the journal are not as this tool writes them (damaged since); the work they stand for is done again", log, StringComparison.Ordinal);
        Assert.Equal(1, ReusedOf(log).Shards);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
    }
}
