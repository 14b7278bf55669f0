using System.CommandLine;
using MllmData.Cli;

namespace MllmData.Tests;

/// <summary>Locations of the repository, the shared real fixtures and scratch folders.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The real benchmark files, read in place from ../shared/fixtures/real (never copied here).</summary>
    public static string Real { get; } = Environment.GetEnvironmentVariable("MLLMDATA_FIXTURES")
        ?? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures", "real"));

    public static string RealFile(params string[] parts) => Path.Combine([Real, .. parts]);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MllmData.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("MllmData.sln not found above the test binaries");
    }

    /// <summary>The shard files of a build's output folder (they live in its data/ folder), in name order.</summary>
    public static string[] Shards(string outDir) =>
        Directory.Exists(Path.Combine(outDir, "data"))
            ? [.. Directory.GetFiles(Path.Combine(outDir, "data"), "*-of-*.*").Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".parquet", StringComparison.Ordinal)).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// This test run's scratch folder (one per process): every <see cref="NewTempDir"/> lies in it, and it is removed when
    /// the run ends, so runs do not pile up gigabytes of builds in the temp folder.
    /// </summary>
    public static string RunRoot { get; } = CreateRunRoot();

    public static string NewTempDir()
    {
        var dir = Path.Combine(RunRoot, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string CreateRunRoot()
    {
        var all = Path.Combine(Path.GetTempPath(), "mllmdata-tests");
        var root = Path.Combine(all, $"run-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);

        // The test host is not always let finish (the runner may end it), so a run also clears what ended runs left:
        // run-PID-* folders whose process is gone. A folder of a run still going (its process alive) is never touched.
        foreach (var old in Directory.Exists("/proc/self") ? Directory.EnumerateDirectories(all, "run-*") : [])
        {
            var parts = Path.GetFileName(old).Split('-');
            if (parts.Length == 3 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                RemoveRunRoot(old);
            }
        }

        if (Environment.GetEnvironmentVariable("MLLMDATA_KEEP_TEST_FILES") is not "1")
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveRunRoot(root);
        }

        return root;
    }

    private static void RemoveRunRoot(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A folder something still holds (a mount, a file another process has open) stays; the rest is gone.
            Console.Error.WriteLine($"test scratch folder not fully removed: {root}: {ex.Message}");
        }
    }
}

/// <summary>Runs the command line in process, capturing what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error });
        var printed = error.ToString();

        // The parser's own handler turns an exception the tool does not map into exit 1, the code of a usage error; a test
        // expecting 0 or 1 would then see only the number. Such a crash is never what a test wants: it fails here, with its trace.
        if (printed.Contains("Unhandled exception", StringComparison.Ordinal))
        {
            throw new Xunit.Sdk.XunitException($"mllmdata {string.Join(' ', args)} crashed (exit {code}):\n{printed}");
        }

        return new Result(code, output.ToString(), printed);
    }
}
