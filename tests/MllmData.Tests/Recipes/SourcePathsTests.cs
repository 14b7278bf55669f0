using MllmData.Recipes;

namespace MllmData.Tests.Recipes;

/// <summary>A path is shown the same whatever was shown before it: the last two answers are kept, never a stale one.</summary>
public class TheSourcePathsShown
{
    [Fact]
    public void Alternating_Paths_Are_Each_Shown_As_Alone()
    {
        var folder = TestPaths.NewTempDir();
        var inside = Path.Combine(folder, "data", "questions.json");
        var other = Path.Combine(folder, "data", "annotations.json");
        var outside = Path.Combine(Path.GetTempPath(), "elsewhere", "images.json");
        string[] paths = [inside, other, outside];
        var alone = paths.ToDictionary(p => p, p => SourcePaths.ForInputs(folder, paths).Show(p));
        Assert.Equal(Path.Combine("data", "questions.json"), alone[inside]);
        Assert.Equal(Path.Combine("data", "annotations.json"), alone[other]);

        var shown = SourcePaths.ForInputs(folder, paths);
        var rnd = new Random(3);
        string[] order = [inside, other, inside, other, other, inside, outside, inside, outside, other, .. Enumerable.Range(0, 200).Select(_ => paths[rnd.Next(3)])];
        foreach (var p in order)
        {
            Assert.Equal(alone[p], shown.Show(p));
        }

        // A path shown as given (standard input) comes back as the very string given, the record holding it not copied,
        // also when it is one of the last two asked for.
        var stdin = new string('-', 1);
        Assert.Same(stdin, shown.Show(stdin));
        Assert.Equal(alone[other], shown.Show(other));
        Assert.Same(stdin, shown.Show(stdin));
    }
}
