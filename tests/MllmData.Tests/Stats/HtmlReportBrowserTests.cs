using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

using Xunit.Abstractions;

namespace MllmData.Tests.Stats;

/// <summary>
/// The HTML report in a real browser: Debian's chromium, headless, takes a screenshot and logs the page's console to stderr.
/// .ci/run installs chromium and sets MLLMDATA_REQUIRE_CHROMIUM=1 when it did, so there a missing browser fails the test;
/// on a machine without chromium and without that variable the test says so and checks nothing else.
/// </summary>
public sealed class HtmlReportBrowserTests(ITestOutputHelper output)
{
    private static string? Chromium() =>
        new[] { Environment.GetEnvironmentVariable("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(p => p is { Length: > 0 } && File.Exists(p));

    [Fact]
    public async Task TheSampleReportRendersWithContentAndNoConsoleErrors()
    {
        if (Chromium() is not { } chromium)
        {
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("MLLMDATA_REQUIRE_CHROMIUM"));
            output.WriteLine("chromium is not installed here (.ci/run installs it): the browser check did not run");
            return;
        }

        var dir = TestPaths.NewTempDir();
        var outDir = Path.Combine(dir, "samples");
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--out", outDir)).ExitCode);
        var html = Path.Combine(dir, "report.html");
        Assert.Equal(0, (await CliRunner.RunAsync("stats", outDir, "--html", html, "--image-root", Path.Combine(TestPaths.RepoRoot, "samples", "images"))).ExitCode);

        var (shot, console) = await Render(chromium, html, dir);
        Assert.Empty(console);
        var (inked, blue, colours) = Measure(shot);
        Assert.True(inked > 0.02, $"only {inked:P2} of the screenshot is not white");
        Assert.True(blue > 2000, $"{blue} pixels of the bar colour: the charts did not render");
        Assert.True(colours > 50, $"{colours} colours: no thumbnails or text rendered");

        // The checks can fail: an empty page is blank, and a page that breaks its own policy logs to the console.
        var empty = Path.Combine(dir, "empty.html");
        File.WriteAllText(empty, "<!DOCTYPE html><html><body></body></html>");
        Assert.Equal(0, Measure((await Render(chromium, empty, dir)).Shot).Inked);
        var broken = Path.Combine(dir, "broken.html");
        File.WriteAllText(broken, "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:\"></head><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>");
        Assert.NotEmpty((await Render(chromium, broken, dir)).Console);
    }

    private static async Task<(string Shot, List<string> Console)> Render(string chromium, string html, string dir)
    {
        var shot = Path.Combine(dir, Path.GetFileNameWithoutExtension(html) + ".png");
        var psi = new ProcessStartInfo(chromium)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--window-size=1280,1600",
            $"--user-data-dir={Path.Combine(dir, "profile")}", $"--screenshot={shot}", "--enable-logging=stderr", "--log-level=0",
            new Uri(html).AbsoluteUri,
        })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        _ = await stdout;
        var console = (await stderr).Split('\n').Where(l => l.Contains(":CONSOLE", StringComparison.Ordinal)).ToList();
        Assert.True(File.Exists(shot), $"chromium wrote no screenshot (exit {process.ExitCode})");
        return (shot, console);
    }

    /// <summary>Share of pixels that are not near-white, pixels of the bar colour, and distinct colours.</summary>
    private static (double Inked, long Blue, int Colours) Measure(string png)
    {
        using var image = Image.Load<Rgb24>(png);
        long inked = 0, blue = 0;
        var colours = new HashSet<Rgb24>();
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                foreach (var p in rows.GetRowSpan(y))
                {
                    inked += p.R < 240 || p.G < 240 || p.B < 240 ? 1 : 0;
                    blue += Math.Abs(p.R - 0x3d) < 12 && Math.Abs(p.G - 0x6f) < 12 && Math.Abs(p.B - 0xc4) < 12 ? 1 : 0;
                    colours.Add(p);
                }
            }
        });
        return ((double)inked / (image.Width * image.Height), blue, colours.Count);
    }
}
