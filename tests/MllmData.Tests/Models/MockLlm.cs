using System.Diagnostics;
using System.Net.Sockets;

namespace MllmData.Tests.Models;

/// <summary>
/// @dwmkerr/mock-llm 0.1.29 on 127.0.0.1 with our rules file: the URL in MOCK_LLM_URL when .ci/run started it,
/// otherwise started here (installed into .ci/node first if needed, from the npm registry).
/// </summary>
public sealed class MockLlm : IDisposable
{
    private readonly Process? _process;

    public MockLlm()
    {
        if (Environment.GetEnvironmentVariable("MOCK_LLM_URL") is { Length: > 0 } url)
        {
            BaseUrl = url.TrimEnd('/');
            return;
        }

        var prefix = Path.Combine(TestPaths.RepoRoot, ".ci", "node");
        var main = Path.Combine(prefix, "node_modules", "@dwmkerr", "mock-llm", "dist", "main.js");
        if (!File.Exists(main))
        {
            Run("npm", ["install", "--no-audit", "--no-fund", "--prefix", prefix, "@dwmkerr/mock-llm@0.1.29"], TimeSpan.FromMinutes(3));
        }

        var port = FreePort();
        var psi = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(main);
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "tests", "MllmData.Tests", "Fixtures", "mock-llm.yaml"));
        psi.Environment["HOST"] = "127.0.0.1";
        psi.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _process = Process.Start(psi)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        BaseUrl = $"http://127.0.0.1:{port}/v1";
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var probe = new TcpClient("127.0.0.1", port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        throw new InvalidOperationException("mock-llm did not start listening within 20 s");
    }

    public string BaseUrl { get; }

    private static int FreePort()
    {
        using var probe = new TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static void Run(string file, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout) || p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {stderr.Result}");
        }
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
        }

        _process?.Dispose();
    }
}

public class TheRewriterAgainstMockLlm(MockLlm mock) : IClassFixture<MockLlm>
{
    [Fact]
    public async Task Should_Round_Trip_Real_Http_On_The_OpenAi_Route_And_Rerun_From_The_Cache()
    {
        var build = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", build)).ExitCode);
        var env = new Dictionary<string, string> { ["OPENAI_BASE_URL"] = mock.BaseUrl, ["OPENAI_API_KEY"] = "sk-mock" };
        var cache = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var output = TestPaths.NewTempDir();
        var run = await ChildCli.RunAsync(env, ["rewrite", "--in", build, "--out", output, "--cache", cache]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Empty(File.ReadAllText(Path.Combine(output, "rejects.jsonl")));
        var text = File.ReadAllText(TestPaths.Shards(output).Single());
        foreach (var sentence in new[] { "The box in the picture is red.", "Yes, the sky is blue.", "There is 1 box in the picture.", "No, it is not night time.", "The moon is shining in the dark sky." })
        {
            Assert.Contains(sentence, text, StringComparison.Ordinal);
        }

        // Image parts go over the wire too (the rules file answers content-part requests).
        var withImage = TestPaths.NewTempDir();
        var imageRun = await ChildCli.RunAsync(env, ["rewrite", "--in", build, "--out", withImage, "--cache", cache, "--prompt", "with-image", "--image-root", Path.Combine(TestPaths.RepoRoot, "samples", "images")]);
        Assert.Equal(0, imageRun.ExitCode);
        Assert.Empty(File.ReadAllText(Path.Combine(withImage, "rejects.jsonl")));

        var again = TestPaths.NewTempDir();
        var rerun = await ChildCli.RunAsync(env, ["rewrite", "--in", build, "--out", again, "--cache", cache]);
        Assert.Equal(0, rerun.ExitCode);
        Assert.Contains("0 requests, 7 cache hits", rerun.Error, StringComparison.Ordinal);
        Assert.Equal(text, File.ReadAllText(TestPaths.Shards(again).Single()));
    }
}
