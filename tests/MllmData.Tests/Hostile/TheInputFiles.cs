using System.Diagnostics;

namespace MllmData.Tests.Hostile;

/// <summary>Inputs that are not regular files, or whose names no file system holds: exit 2 naming the file, never a hang.</summary>
public class TheInputFiles
{
    private static string[] Jsonl(string file, string outDir) =>
        ["build", "--adapter", "jsonl", "--input", $"file={file}", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", outDir];

    [Theory]
    [InlineData("/dev/zero", "a character device")]
    [InlineData("/dev/null", "a character device")]
    public async Task Should_Refuse_A_Device_As_Input_With_Exit_2_Naming_It(string device, string kind)
    {
        var r = await HostileFile.RunWithin(TimeSpan.FromSeconds(30), Jsonl(device, TestPaths.NewTempDir()));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{device}: -: not-a-file: is {kind}, not a regular file", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Refuse_A_Fifo_As_Input_Without_Waiting_For_A_Writer()
    {
        var fifo = Path.Combine(TestPaths.NewTempDir(), "rows.jsonl");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var r = await HostileFile.RunWithin(TimeSpan.FromSeconds(30), Jsonl(fifo, TestPaths.NewTempDir()));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{fifo}: -: not-a-file: is a FIFO (named pipe), not a regular file", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Refuse_An_Input_Name_With_A_Nul_Character()
    {
        var file = HostileFile.Write("rows.jsonl", "{\"q\":\"a?\",\"a\":\"b\"}\n"u8.ToArray());
        var r = await CliRunner.RunAsync(Jsonl(file + "\0.txt", TestPaths.NewTempDir()));
        Assert.True(r.ExitCode == 2, r.Error);
        Assert.Contains($"{file}\\0.txt: -: bad-file-name: the file name contains a NUL character", r.Error, StringComparison.Ordinal);
    }
}
