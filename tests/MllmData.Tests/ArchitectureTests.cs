using System.Text.RegularExpressions;

namespace MllmData.Tests;

/// <summary>The code's shape as docs/architecture.md describes it.</summary>
public partial class TheArchitecture
{
    [GeneratedRegex(@"^namespace (MllmData(?:\.\w+)?)", RegexOptions.Multiline)]
    private static partial Regex Namespace();

    [GeneratedRegex(@"^using (MllmData\.\w+)", RegexOptions.Multiline)]
    private static partial Regex Using();

    [GeneratedRegex(@"(?<![\w.])(?:MllmData\.)?(Adapters|Formats|Generation|Images|Inputs|Json|ModelCalls|Output|Pipeline|Recipes|Records|Templates)\.[A-Z]\w*")]
    private static partial Regex Qualified();

    /// <summary>Which top-level namespaces each one uses, read from the sources of MllmData.Core.</summary>
    private static Dictionary<string, HashSet<string>> Dependencies()
    {
        var deps = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "src", "MllmData.Core"), "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(file);
            if (Namespace().Match(text) is not { Success: true } m || m.Groups[1].Value == "MllmData")
            {
                continue;
            }

            var own = m.Groups[1].Value["MllmData.".Length..];
            var set = deps.TryGetValue(own, out var s) ? s : deps[own] = [];
            foreach (Match u in Using().Matches(text))
            {
                set.Add(u.Groups[1].Value["MllmData.".Length..]);
            }

            foreach (Match q in Qualified().Matches(text))
            {
                set.Add(q.Groups[1].Value);
            }

            set.Remove(own);
        }

        return deps;
    }

    [Fact]
    public void No_Namespace_Of_The_Core_Depends_On_One_That_Depends_On_It()
    {
        var deps = Dependencies();
        bool Reaches(string from, string to, HashSet<string> seen) =>
            deps.TryGetValue(from, out var next) && next.Any(n => n == to || (seen.Add(n) && Reaches(n, to, seen)));

        var cycles = deps.SelectMany(kv => kv.Value.Where(b => Reaches(b, kv.Key, [])).Select(b => $"{kv.Key} -> {b}")).ToList();
        Assert.Empty(cycles);
        Assert.Contains("Formats", deps["Pipeline"]);
        Assert.DoesNotContain("Pipeline", deps["Formats"]);
    }

    [Fact]
    public void Every_Registered_Format_Lives_In_A_File_Of_Its_Own_Under_Formats()
    {
        var folder = Path.Combine(TestPaths.RepoRoot, "src", "MllmData.Core", "Formats");
        foreach (var format in MllmData.Formats.FormatRegistry.All)
        {
            var file = Path.Combine(folder, format.GetType().Name + ".cs");
            Assert.True(File.Exists(file), file);
        }
    }
}
