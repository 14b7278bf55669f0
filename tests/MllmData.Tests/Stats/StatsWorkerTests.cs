using System.Text;
using MllmData.Formats;
using MllmData.Json;
using MllmData.Stats;
using MllmData.Templates;

namespace MllmData.Tests.Stats;

/// <summary>
/// The figures a build gathers on its second thread from the lines it writes equal what <c>mllmdata stats</c> reads back
/// from the finished shards, whatever the chunking (many lines per chunk, a line longer than a chunk).
/// </summary>
public sealed class StatsWorkerTests
{
    private static string Samples(params string[] parts) => Path.Combine([TestPaths.RepoRoot, "samples", .. parts]);

    [Theory]
    [InlineData("llava", "jsonl")]
    [InlineData("llava", "json")]
    [InlineData("sharegpt", "jsonl")]
    public async Task TheBuildsCardFiguresAreTheFiguresReadBackFromItsShards(string format, string container)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(
            "build", "--adapter", "vqav2", "--format", format, "--container", container, "--shard-records", "3", "--out", outDir,
            "--input", $"questions={Samples("vqav2", "v2_OpenEnded_mscoco_train2014_questions.json")}",
            "--input", $"annotations={Samples("vqav2", "v2_mscoco_train2014_annotations.json")}");
        Assert.True(r.ExitCode == 0, r.Error);
        var finder = new QuestionFinder(TemplateLibrary.Load(TemplateLibrary.LocateRoot(null)));
        var readBack = StatsReader.Read(outDir, finder);
        Assert.True(readBack.Overall.Records >= 6, "several shards of three records");

        // The same lines through the worker, as the sink hands them over (shard index and line number within the shard).
        using var worker = new StatsWorker(format, finder, "<image>");
        var shards = Directory.GetFiles(Path.Combine(outDir, "data")).Order(StringComparer.Ordinal).ToList();
        for (var s = 0; s < shards.Count; s++)
        {
            long number = 0;
            foreach (var (line, _) in MllmData.Formats.ShardReader.Records(shards[s]))
            {
                worker.Add(Encoding.UTF8.GetBytes(line.ToJsonString()), s, ++number);
            }
        }

        var gathered = worker.Complete();
        gathered.Manifest = readBack.Manifest;
        gathered.Folder = readBack.Folder;
        Assert.Equal(StatsReport.Json(readBack), StatsReport.Json(gathered));

        // And the card the build wrote is the one made from the figures read back.
        var card = File.ReadAllText(Path.Combine(outDir, "README.md"));
        Assert.Contains($"| records | {readBack.Overall.Records} |", card, StringComparison.Ordinal);
    }

    [Fact]
    public void LinesLongerThanAChunkAndManyChunksGiveTheFiguresOfOneSequentialPass()
    {
        var finder = new QuestionFinder(null);
        var lines = new List<byte[]>();
        for (var i = 0; i < 9000; i++)
        {
            // Answers of growing length; every 3000th line is longer than a pooled chunk.
            var answer = i % 3000 == 1 ? string.Join(' ', Enumerable.Repeat("word", (StatsWorker.ChunkBytes / 5) + 10)) : $"answer {i % 17} {new string('y', i % 30)}";
            lines.Add(Encoding.UTF8.GetBytes(
                $$$"""{"id":"r{{{i}}}","image":"a{{{i % 5}}}.jpg","conversations":[{"from":"human","value":"<image>\nWhat is it {{{i}}}?"},{"from":"gpt","value":"{{{answer}}}"}],"meta":{"source":"s{{{i % 3}}}","task":"vqa"}}"""));
        }

        var format = FormatRegistry.All.First(f => f.Name == "llava");
        var sequential = StatsReader.Empty(format, finder, ".", []);
        using var worker = new StatsWorker("llava", finder, "<image>");
        for (var i = 0; i < lines.Count; i++)
        {
            StatsReader.AddLine(sequential, lines[i], format, new LineOrigin("s", i + 1), new RenderOptions(), "s");
            worker.Add(lines[i], 0, i + 1);
        }

        var gathered = worker.Complete();
        Assert.Equal(9000, gathered.Overall.Records);
        Assert.Equal(StatsReport.Json(sequential.Finish()), StatsReport.Json(gathered));
    }

    [Fact]
    public void A_Sealed_Worker_Finishes_The_Figures_Itself_And_They_Are_Those_Of_One_Sequential_Pass()
    {
        // More records than the token sample holds: the figures are finished past the full collection and the tokenizer's load.
        var finder = new QuestionFinder(TemplateLibrary.Load(TemplateLibrary.LocateRoot(null)));
        var format = FormatRegistry.All.First(f => f.Name == "llava");
        var sequential = StatsReader.Empty(format, finder, ".", []);
        using var worker = new StatsWorker("llava", finder, "<image>");
        var records = DatasetStats.DefaultTokenSample + 1500;
        for (var i = 0; i < records; i++)
        {
            var line = Encoding.UTF8.GetBytes(
                $$$"""{"id":"r{{{i}}}","image":"a{{{i % 7}}}.jpg","conversations":[{"from":"human","value":"<image>\nWhat is on the table {{{i % 900}}}?\nReply with one word or a short phrase."},{"from":"gpt","value":"thing {{{i % 13}}}"}],"meta":{"source":"s{{{i % 2}}}","task":"vqa","templates":["vqa-short-01"]}}""");
            StatsReader.AddLine(sequential, line, format, new LineOrigin("s", i + 1), new RenderOptions(), "s");
            worker.Add(line, 0, i + 1);
        }

        worker.Seal();
        worker.Seal();
        Assert.Throws<InvalidOperationException>(() => worker.Add("{}"u8, 0, records + 1));
        var gathered = worker.Complete();
        Assert.Equal(records, gathered.Overall.Records);
        Assert.Equal(DatasetStats.DefaultTokenSample, gathered.TokenRecords);
        Assert.True(gathered.Overall.QuestionTokens.N > 0);
        Assert.Equal(StatsReport.Json(sequential.Finish()), StatsReport.Json(gathered));
        Assert.Same(gathered, worker.Complete());
        Assert.True(worker.FinishedHere);
    }

    [Fact]
    public void Complete_Seals_A_Worker_Not_Sealed_And_One_Disposed_Early_Finishes_Nothing()
    {
        var lines = Enumerable.Range(0, 50).Select(i => Encoding.UTF8.GetBytes($$$"""{"id":"r{{{i}}}","conversations":[{"from":"human","value":"what is {{{i}}}?"},{"from":"gpt","value":"x"}]}""")).ToList();
        using (var worker = new StatsWorker("llava", new QuestionFinder(null), "<image>"))
        {
            for (var i = 0; i < lines.Count; i++)
            {
                worker.Add(lines[i], 0, i + 1);
            }

            var gathered = worker.Complete();
            Assert.Equal((50L, 50L), (gathered.Overall.Records, gathered.TokenRecords));
            Assert.True(worker.FinishedHere);
        }

        var dropped = new StatsWorker("llava", new QuestionFinder(null), "<image>");
        dropped.Add(lines[0], 0, 1);
        dropped.Dispose();
        Assert.False(dropped.FinishedHere);
    }

    [Fact]
    public void A_Bad_Line_Before_The_Seal_Is_Still_Reported_When_The_Figures_Are_Asked_For()
    {
        using var worker = new StatsWorker("llava", new QuestionFinder(null), "<image>");
        worker.Add("""{"id":"r0","conversations":[{"from":"human","value":"what?"},{"from":"gpt","value":"x"}]}"""u8, 0, 1);
        worker.Add("{not json"u8, 0, 2);
        worker.Seal();
        var ex = Assert.Throws<InputDataException>(() => worker.Complete());
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadLineIsReportedWhenTheFiguresAreAskedForAndTheWriterNeverWaits()
    {
        using var worker = new StatsWorker("llava", new QuestionFinder(null), "<image>");
        worker.Add("{not json"u8, 0, 1);
        for (var i = 0; i < 20_000; i++)
        {
            // Far more than the pool holds: a dead worker would block the writer here.
            worker.Add(Encoding.UTF8.GetBytes($$$"""{"id":"r{{{i}}}","conversations":[{"from":"human","value":"what is {{{i}}}?"}]}"""), 0, i + 2);
        }

        var ex = Assert.Throws<InputDataException>(() => worker.Complete());
        Assert.Contains("line 1", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A LLaVA build of the bundled VQAv2 samples, and a question finder over the bundled templates.</summary>
    private static async Task<(string OutDir, QuestionFinder Finder)> SampleBuild()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(
            "build", "--adapter", "vqav2", "--format", "llava", "--out", outDir,
            "--input", $"questions={Samples("vqav2", "v2_OpenEnded_mscoco_train2014_questions.json")}",
            "--input", $"annotations={Samples("vqav2", "v2_mscoco_train2014_annotations.json")}");
        Assert.True(r.ExitCode == 0, r.Error);
        return (outDir, new QuestionFinder(TemplateLibrary.Load(TemplateLibrary.LocateRoot(null))));
    }

    [Fact]
    public async Task A_Cancelled_Worker_Only_Drains_Its_Lines_And_Complete_Reports_The_Cancellation()
    {
        var (outDir, finder) = await SampleBuild();
        var lines = TestPaths.Shards(outDir).SelectMany(File.ReadLines).ToList();

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        using var worker = new StatsWorker("llava", finder, "<image>", cancel.Token);
        for (var i = 0; i < lines.Count; i++)
        {
            worker.Add(Encoding.UTF8.GetBytes(lines[i]), 0, i + 1);
        }

        Assert.Throws<OperationCanceledException>(() => worker.Complete());

        // Not cancelled, the same lines give figures.
        using var plain = new StatsWorker("llava", finder, "<image>", CancellationToken.None);
        for (var i = 0; i < lines.Count; i++)
        {
            plain.Add(Encoding.UTF8.GetBytes(lines[i]), 0, i + 1);
        }

        Assert.Equal(lines.Count, plain.Complete().Overall.Records);
    }

    [Fact]
    public async Task Reading_A_Build_Back_Stops_On_Cancellation()
    {
        var (outDir, finder) = await SampleBuild();

        Assert.Throws<OperationCanceledException>(() => StatsReader.Read(outDir, finder, cancel: new CancellationToken(canceled: true)));
        Assert.True(StatsReader.Read(outDir, finder, cancel: CancellationToken.None).Overall.Records > 0);

        // The card's token count stops between two records too.
        var stats = StatsReader.Read(outDir, finder);
        Assert.True(stats.Overall.Records > 0);
        var fresh = new DatasetStats(finder);
        Assert.Same(fresh, fresh.Finish(CancellationToken.None));
    }
}
