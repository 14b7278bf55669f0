using System.Diagnostics;
using System.Text;

namespace MllmData.Tests.Models;

/// <summary>Runs mllmdata in its own process: its own environment (keys), its own stderr, and killable.</summary>
internal static class ChildCli
{
    public sealed record Result(int ExitCode, string Output, string Error, bool Killed);

    private static readonly string[] ModelVariables = ["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "MLLMDATA_CACHE"];

    /// <summary>Runs with the given environment; <c>killWhen</c> is polled every 20 ms and kills the process the first time it is true.</summary>
    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string> env, string[] args, Func<bool>? killWhen = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mllmdata.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var v in ModelVariables)
        {
            psi.Environment.Remove(v);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var killed = false;
        var limit = Stopwatch.StartNew();
        while (!p.HasExited)
        {
            if (killWhen is not null && killWhen())
            {
                p.Kill(entireProcessTree: true);
                killed = true;
                break;
            }

            if (limit.Elapsed > (timeout ?? TimeSpan.FromMinutes(2)))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"mllmdata {string.Join(' ', args)} did not finish in time; stderr: {stderr}");
            }

            await Task.Delay(20);
        }

        await p.WaitForExitAsync();
        return new Result(killed ? -1 : p.ExitCode, stdout.ToString(), stderr.ToString(), killed);
    }
}
