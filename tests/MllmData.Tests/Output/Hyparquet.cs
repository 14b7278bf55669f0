using System.Diagnostics;
using System.Text.Json.Nodes;

namespace MllmData.Tests.Output;

/// <summary>
/// hyparquet 1.31.5 (npm), a JavaScript Parquet reader that shares no code with Parquet.Net: installed into .ci/node by
/// .ci/run, or here the same way when it is missing. Reads a file through tests/MllmData.Tests/Fixtures/parquet-read.mjs.
/// </summary>
internal static class Hyparquet
{
    private const string Package = "hyparquet@1.31.5";

    private static readonly Lazy<string> Dir = new(Install);

    private static string Install()
    {
        var prefix = Path.Combine(TestPaths.RepoRoot, ".ci", "node");
        var dir = Path.Combine(prefix, "node_modules", "hyparquet");
        if (!File.Exists(Path.Combine(dir, "src", "node.js")))
        {
            Run("npm", ["install", "--no-audit", "--no-fund", "--prefix", prefix, Package], TimeSpan.FromMinutes(3));
        }

        return File.Exists(Path.Combine(dir, "src", "node.js"))
            ? dir
            : throw new InvalidOperationException($"{Package} is not installed under {prefix} and npm could not install it");
    }

    /// <summary>What the reader saw: created_by, the rows of each row group, the key/value metadata, and every row.</summary>
    public sealed record ParquetFile(string? CreatedBy, IReadOnlyList<long> RowGroups, JsonObject Metadata, IReadOnlyList<JsonObject> Rows);

    public static ParquetFile Read(string path)
    {
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", "parquet-read.mjs");
        var output = Run("node", [script, Dir.Value, path], TimeSpan.FromMinutes(2));
        var o = JsonNode.Parse(output)!.AsObject();
        return new ParquetFile(
            (string?)o["created_by"],
            [.. o["row_groups"]!.AsArray().Select(n => (long)n!)],
            o["key_value_metadata"]!.AsObject(),
            [.. o["rows"]!.AsArray().Select(r => r!.AsObject())]);
    }

    private static string Run(string file, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} did not finish in {timeout}");
        }

        return p.ExitCode == 0 ? stdout.Result : throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
    }
}
