using System.Text;

namespace MllmData.Tests.Hostile;

/// <summary>Broken CSV rows are rejects naming their line, and the rows around them still build.</summary>
public class TheCsvInputs
{
    private static async Task<string> Build(string file)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "csv", "--input", $"file={file}", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Error);
        return outDir;
    }

    [Fact]
    public async Task Should_Reject_Rows_With_Extra_Or_Missing_Fields_Or_Broken_Quotes_Naming_The_Line()
    {
        var file = HostileFile.Write("rows.csv", HostileFile.Bytes(
            "q,a\n" +
            "good one?,yes\n" +
            "extra?,yes,surplus\n" +
            "missing?\n" +
            "\"after\"quote?,no\n" +
            "stray 5\" screen?,yes\n" +
            "\"multi\nline?\",yes\n" +
            "bad <FF> bytes?,no\n" +
            "last good?,no\n"));
        var outDir = await Build(file);

        Assert.Equal(["csv-r1", "csv-r3", "csv-r4", "csv-r6"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        Assert.Equal(
            [
                ("line 3", "malformed-row", "the row has a different number of fields from the header"),
                ("line 4", "malformed-row", "the row has a different number of fields from the header"),
                ("line 5", "malformed-row", "text follows the closing quote of a field"),
                ("line 9", "invalid-utf8", "a field is not valid UTF-8 text"),
            ],
            HostileFile.Rejects(outDir).Select(x => (x.Str("position"), x.Str("reason"), x.Str("detail"))));
    }

    [Fact]
    public async Task Should_Stop_When_A_Mapped_Column_Is_Named_Twice_And_Not_When_Another_Is()
    {
        // A reader takes the first of two same-named columns silently; which one the author meant cannot be told.
        var doubled = HostileFile.Write("rows.csv", Encoding.UTF8.GetBytes("q,a,a\nfirst?,yes,no\n"));
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync("build", "--adapter", "csv", "--input", $"file={doubled}", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", outDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{doubled}: line 1: duplicate-key: the column 'a' (mapped to answer) is named 2 times in the header", r.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));

        var cased = HostileFile.Write("rows.csv", Encoding.UTF8.GetBytes("Q,a,QUESTION\nfirst?,yes,no\n"));
        var c = await CliRunner.RunAsync("build", "--adapter", "csv", "--input", $"file={cased}", "--map", "question=question", "--map", "answer=a", "--format", "llava", "--out", Path.Combine(TestPaths.NewTempDir(), "out"));
        Assert.True(c.ExitCode == 0, c.Error);

        var twoCases = HostileFile.Write("rows.csv", Encoding.UTF8.GetBytes("Question,a,QUESTION\nfirst?,yes,no\n"));
        var t = await CliRunner.RunAsync("build", "--adapter", "csv", "--input", $"file={twoCases}", "--map", "question=question", "--map", "answer=a", "--format", "llava", "--out", Path.Combine(TestPaths.NewTempDir(), "out"));
        Assert.Equal(2, t.ExitCode);
        Assert.Contains("the column 'question' (mapped to question) is named 2 times in the header", t.Error, StringComparison.Ordinal);

        var unread = HostileFile.Write("rows.csv", Encoding.UTF8.GetBytes("q,a,note,note\nfirst?,yes,x,y\n"));
        Assert.Equal(["csv-r1"], HostileFile.Records(await Build(unread)).Select(x => x.Str("id")));
    }

    [Fact]
    public async Task Should_Reject_A_Quote_That_Is_Never_Closed()
    {
        var file = HostileFile.Write("rows.csv", Encoding.UTF8.GetBytes("q,a\nfirst?,yes\n\"open,no\nnever,closed\n"));
        var outDir = await Build(file);
        Assert.Equal(["csv-r1"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        var reject = Assert.Single(HostileFile.Rejects(outDir));
        Assert.Equal(("line 3", "malformed-row", "a quoted field is never closed"), (reject.Str("position"), reject.Str("reason"), reject.Str("detail")));
    }

    [Fact]
    public async Task Should_Skip_A_Line_Over_16_MiB_With_A_Reject_And_Read_The_Next_Rows()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "rows.csv");
        using (var w = new FileStream(path, FileMode.Create))
        {
            w.Write("q,a\nbefore?,yes\n"u8);
            w.Write(new byte[(16 << 20) + 10].AsSpan().Fill2('x'));
            w.Write(",no\nafter?,no\n\"quoted\n"u8);
            w.Write(new byte[(16 << 20) + 10].AsSpan().Fill2('y'));
            w.Write("\nend\",yes\nlast?,yes\n"u8);
        }

        var outDir = await Build(path);
        Assert.Equal(["csv-r1", "csv-r2", "csv-r4"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        Assert.Equal([("line 3", "line-too-long"), ("line 5", "line-too-long")], HostileFile.Rejects(outDir).Select(x => (x.Str("position"), x.Str("reason"))));

        // The second long line sits inside the quoted field of the row that starts on line 5: that whole row is the reject.
        Assert.StartsWith("line 6 of the row: the line is 16777226 bytes long", HostileFile.Rejects(outDir)[1].Str("detail"), StringComparison.Ordinal);
    }
}

internal static class SpanFill
{
    public static ReadOnlySpan<byte> Fill2(this Span<byte> span, char c)
    {
        span.Fill((byte)c);
        return span;
    }
}
