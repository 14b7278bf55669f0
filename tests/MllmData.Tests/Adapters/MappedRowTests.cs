using System.Text.Json;

namespace MllmData.Tests.Adapters;

/// <summary>CSV and JSONL rows through the field mapping: blank and missing questions, and ids used twice.</summary>
public class TheMappedRows
{
    private static readonly string[] IdMap = ["--map", "id=id"];

    /// <summary>Builds the JSONL lines and the CSV text (same mapping; the id column when asked) into two LLaVA folders.</summary>
    private static async Task<(string Jsonl, string Csv)> Build(string[] jsonlLines, string csvText, bool csvId)
    {
        var dir = TestPaths.NewTempDir();
        var jsonl = Path.Combine(dir, "rows.jsonl");
        var csv = Path.Combine(dir, "rows.csv");
        File.WriteAllLines(jsonl, jsonlLines);
        File.WriteAllText(csv, csvText);
        string[] map = ["--map", "image=img", "--map", "question=q", "--map", "answer=a"];
        var (j, c) = (Path.Combine(dir, "j"), Path.Combine(dir, "c"));
        var jr = await CliRunner.RunAsync(["build", "--adapter", "jsonl", "--input", $"file={jsonl}", .. map, .. IdMap, "--format", "llava", "--out", j]);
        var cr = await CliRunner.RunAsync(["build", "--adapter", "csv", "--input", $"file={csv}", .. map, .. csvId ? IdMap : [], "--format", "llava", "--out", c]);
        Assert.True(jr.ExitCode == 0, jr.Error);
        Assert.True(cr.ExitCode == 0, cr.Error);
        return (j, c);
    }

    private static List<(string? Position, string? Reason, string? Detail)> Rejects(string outDir) =>
        [.. File.ReadLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).Select(x => (x.GetProperty("position").GetString(), x.GetProperty("reason").GetString(), x.GetProperty("detail").GetString()))];

    private static List<string> Ids(string outDir) =>
        [.. File.ReadLines(TestPaths.Shards(outDir).Single()).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!)];

    [Fact]
    public async Task A_Blank_Question_Is_An_Empty_Question_And_A_Missing_One_A_Missing_Field()
    {
        var (j, c) = await Build(
        [
            """{"img":"a.jpg","q":"","a":"yes"}""",
            """{"img":"a.jpg","q":"\u200b","a":"yes"}""",
            """{"img":"a.jpg","a":"yes"}""",
            """{"img":"a.jpg","q":"Is it red?","a":"\u200b"}""",
            """{"img":"a.jpg","q":"Is it red?","a":"yes","id":""}""",
        ], "img,q,a\na.jpg,,yes\na.jpg,\"  \",yes\na.jpg,Is it red?,yes\n", csvId: false);

        Assert.Equal(
            [
                ("line 1", "empty-question", "the question (column 'q') is empty"),
                ("line 2", "empty-question", "the question (column 'q') is only invisible characters (U+200B first)"),
                ("line 3", "missing-field", "no value in question column 'q'"),
                ("line 4", "empty-answer", "the answer (column 'a') is only invisible characters (U+200B first)"),
            ],
            Rejects(j));
        Assert.Equal([("line 2", "empty-question", "the question (column 'q') is empty"), ("line 3", "empty-question", "the question (column 'q') is only white space")], Rejects(c));

        // A blank id is no id: the row's own position names the record.
        Assert.EndsWith("5", Ids(j).Single(), StringComparison.Ordinal);
        Assert.Single(Ids(c));
    }

    [Fact]
    public async Task A_Mapped_Id_Used_Twice_Is_A_Duplicate_Id_Reject()
    {
        var (j, c) = await Build(
        [
            """{"img":"a.jpg","q":"One?","a":"1","id":7}""",
            """{"img":"a.jpg","q":"Two?","a":"2","id":"7"}""",
            """{"img":"a.jpg","q":"Three?","a":"3","id":"x-1"}""",
            """{"img":"a.jpg","q":"Four?","a":"4","id":"x-1"}""",
            """{"img":"a.jpg","q":"Five?","a":"5"}""",
            """{"img":"a.jpg","q":"Six?","a":"6","id":"l5"}""",
            """{"img":"a.jpg","q":"","a":"7","id":"r"}""",
            """{"img":"a.jpg","q":"Eight?","a":"8","id":"r"}""",
        ], "img,q,a,id\na.jpg,One?,1,10\na.jpg,Two?,2,10\na.jpg,Three?,3,11\n", csvId: true);

        Assert.Equal(
            [
                ("line 2", "duplicate-id", "id '7' (column 'id') is already the id of an earlier record"),
                ("line 4", "duplicate-id", "id 'x-1' (column 'id') is already the id of an earlier record"),
                ("line 6", "duplicate-id", "id 'l5' (column 'id') is already the id of an earlier record"),
                ("line 7", "empty-question", "the question (column 'q') is empty"),
            ],
            Rejects(j));
        Assert.Equal([("line 3", "duplicate-id", "id '10' (column 'id') is already the id of an earlier record")], Rejects(c));

        // The first of each id is kept, and an id whose first row was rejected is free for a later row.
        var ids = Ids(j);
        Assert.Equal(4, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.EndsWith("-r", ids[^1], StringComparison.Ordinal);
        Assert.Equal(2, Ids(c).Count);
    }
}
