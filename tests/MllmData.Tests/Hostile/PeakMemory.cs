using System.Diagnostics;
using System.Globalization;

namespace MllmData.Tests.Hostile;

/// <summary>Runs mllmdata in a child process under /usr/bin/time and reports its peak resident memory.</summary>
internal static class PeakMemory
{
    public sealed record Result(int ExitCode, long PeakMegabytes, string Error);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/time") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-f", "peak-kb %M", "dotnet", Path.Combine(AppContext.BaseDirectory, "mllmdata.dll") }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(limit.Token);
        var line = stderr.Split('\n').Single(l => l.StartsWith("peak-kb ", StringComparison.Ordinal));
        return new Result(p.ExitCode, long.Parse(line["peak-kb ".Length..], CultureInfo.InvariantCulture) / 1024, stderr);
    }
}
