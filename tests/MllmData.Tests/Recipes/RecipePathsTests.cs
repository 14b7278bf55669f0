using System.Diagnostics;
using System.Text.Json;

namespace MllmData.Tests.Recipes;

/// <summary>The same recipe gives the same bytes from any working directory, with no local path in the output.</summary>
public class TheRecipePaths
{
    /// <summary>Runs mllmdata in its own process, in <paramref name="workingDirectory"/>: the working directory is the point.</summary>
    private static async Task<(int ExitCode, string Error)> RunIn(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mllmdata.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        _ = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await error);
    }

    [Fact]
    public async Task Builds_The_Same_Bytes_From_Two_Working_Directories_With_Paths_Relative_To_The_Recipe()
    {
        var root = TestPaths.NewTempDir();
        var project = Path.Combine(root, "project");
        Directory.CreateDirectory(Path.Combine(project, "data"));
        Directory.CreateDirectory(Path.Combine(root, "elsewhere"));

        // Caption 11 names an image the file does not list: a reject, so rejects.jsonl carries a file too.
        File.WriteAllText(
            Path.Combine(project, "data", "captions.json"),
            """{"images":[{"id":1,"file_name":"a.jpg"}],"annotations":[{"id":10,"image_id":1,"caption":"A cat on a mat."},{"id":11,"image_id":2,"caption":"No such image."}]}""");
        File.WriteAllText(Path.Combine(project, "recipe.yaml"), "name: cwd\nsources:\n  - adapter: coco-captions\n    inputs: {captions: data/captions.json}\n");
        var outA = Path.Combine(root, "out-a");
        var outB = Path.Combine(root, "out-b");

        var a = await RunIn(project, "build", "--recipe", "recipe.yaml", "--out", outA);
        var b = await RunIn(Path.Combine(root, "elsewhere"), "build", "--recipe", Path.Combine("..", "project", "recipe.yaml"), "--out", outB);

        Assert.True(a.ExitCode == 0, a.Error);
        Assert.True(b.ExitCode == 0, b.Error);
        var files = Directory.GetFiles(outA, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(outA, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["README.md", "data/cwd-00000-of-00001.jsonl", "manifest.json", "rejects.jsonl"], files);
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(outA, f!));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(outB, f!)));
            Assert.DoesNotContain(root, System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        }

        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(outA, "manifest.json"))).RootElement;
        Assert.Equal("data/captions.json", manifest.GetProperty("inputs")[0].GetProperty("path").GetString());
        var record = JsonDocument.Parse(File.ReadAllLines(Path.Combine(outA, "data", "cwd-00000-of-00001.jsonl")).Single()).RootElement;
        Assert.Equal("data/captions.json", record.GetProperty("meta").GetProperty("file").GetString());
        var reject = JsonDocument.Parse(File.ReadAllLines(Path.Combine(outA, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal("data/captions.json", reject.GetProperty("file").GetString());
    }
}
