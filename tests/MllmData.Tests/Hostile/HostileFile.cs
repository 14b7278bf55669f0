using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MllmData.Tests.Hostile;

/// <summary>Writes crafted bad inputs into a scratch folder and reads back what a build wrote.</summary>
internal static class HostileFile
{
    /// <summary>Text whose <c>&lt;XX&gt;</c> marks are raw bytes in hex (to write bytes that are not UTF-8).</summary>
    public static byte[] Bytes(string text)
    {
        var result = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '<' && i + 3 < text.Length && text[i + 3] == '>' && Uri.IsHexDigit(text[i + 1]) && Uri.IsHexDigit(text[i + 2]))
            {
                result.Add(byte.Parse(text.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 3;
            }
            else
            {
                result.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }

        return [.. result];
    }

    public static string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Writes text into a new scratch folder.</summary>
    public static string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    /// <summary>A LLaVA build in process: its exit code, error text, records (none when no shard was written) and rejects.</summary>
    public static async Task<(int Exit, string Error, List<JsonElement> Records, List<JsonElement> Rejects)> BuildLlava(params string[] args)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync([.. args, "--format", "llava", "--out", outDir]);
        return (r.ExitCode, r.Error, Directory.Exists(Path.Combine(outDir, "data")) ? Records(outDir) : [], Rejects(outDir));
    }

    public static List<JsonElement> Records(string dir) =>
        [.. TestPaths.Shards(dir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    public static List<JsonElement> Rejects(string dir)
    {
        var path = Path.Combine(dir, "rejects.jsonl");
        return File.Exists(path) ? [.. File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone())] : [];
    }

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;

    /// <summary>Runs the CLI in process, failing the test instead of hanging when it does not finish in time.</summary>
    public static async Task<CliRunner.Result> RunWithin(TimeSpan limit, params string[] args)
    {
        var run = Task.Run(() => CliRunner.RunAsync(args));
        var finished = await Task.WhenAny(run, Task.Delay(limit));
        Assert.True(finished == run, $"mllmdata {string.Join(' ', args)} did not finish within {limit.TotalSeconds} s");
        return await run;
    }
}
