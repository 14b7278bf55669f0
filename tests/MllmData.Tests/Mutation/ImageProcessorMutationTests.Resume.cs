using System.Text.Json.Nodes;
using MllmData.Images;
using MllmData.Output;
using MllmData.Records;
using Serilog.Core;

namespace MllmData.Tests.Mutation;

/// <summary>The image processor with a resume journal: what it notes of each image, and what a resumed run takes from it or does again.</summary>
public partial class ImageProcessorMutationTests
{
    /// <summary>One run over <paramref name="names"/> with a journal in the output folder's staging (kept, as a killed run leaves it).</summary>
    private async Task<Journalled> WithJournal(ImageSettings settings, bool resume, params string[] names)
    {
        using var folder = OutputFolder.Open(_out, [], keepStaging: true);
        folder.KeepStaging = true;
        var journal = folder.Journal = ResumeJournal.Start(folder, "k", resume, "t", ".jsonl", Logger.None);
        var processor = new ImageProcessor(settings, _root, _out, journal);
        var outcomes = new List<ImageOutcome>();
        foreach (var name in names)
        {
            outcomes.Add(await processor.ProcessAsync(new ImageRef(name)));
        }

        var entries = names.Select(n => journal.Image(Full(n), new FileInfo(Full(n)).Length, File.GetLastWriteTimeUtc(Full(n)).Ticks)).ToList();
        return new Journalled(outcomes, journal.ImagesReused, [.. journal.PlacedImages.Order(StringComparer.Ordinal)], entries, journal.KeptImages);
    }

    private sealed record Journalled(List<ImageOutcome> Outcomes, long Reused, string[] Placed, List<ImageEntry?> Entries, string KeptImages)
    {
        public ImageOutcome Outcome => Outcomes.Single();

        public ImageEntry Entry => Entries.Single()!;
    }

    private string Full(string name) => RealPath.Of(Path.Combine(_root, name));

    private string JournalFile => Path.Combine(_out, OutputFolder.StagingFolder, ResumeJournal.FileName);

    /// <summary>The journal's image lines, in order.</summary>
    private List<JsonObject> ImageLines() =>
        [.. File.ReadAllLines(JournalFile).Skip(1).Select(l => JsonNode.Parse(l)!.AsObject()).Where(o => o.ContainsKey("image"))];

    /// <summary>Rewrites the journal's only image line after <paramref name="edit"/>.</summary>
    private void EditImageLine(Action<JsonObject> edit)
    {
        var lines = File.ReadAllLines(JournalFile);
        var at = Array.FindIndex(lines, l => l.StartsWith("{\"image\":", StringComparison.Ordinal));
        var line = JsonNode.Parse(lines[at])!.AsObject();
        edit(line);
        lines[at] = line.ToJsonString();
        File.WriteAllLines(JournalFile, lines);
    }

    /// <summary>Overwrites a file with other bytes of the same length and gives it back its time, so the journal still takes it as unchanged.</summary>
    private static void TamperKeepingSizeAndTime(string path)
    {
        var time = File.GetLastWriteTimeUtc(path);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, time);
    }

    private static void SameOutcome(ImageOutcome expected, ImageOutcome actual)
    {
        Assert.Equal(
            (expected.Reason, expected.Detail, expected.SourceSha256, expected.PerceptualHash),
            (actual.Reason, actual.Detail, actual.SourceSha256, actual.PerceptualHash));
        Assert.Equal(
            (expected.Image?.Path, expected.Image?.Width, expected.Image?.Height, expected.Image?.Format, expected.Image?.Sha256, expected.Image?.MediaType),
            (actual.Image?.Path, actual.Image?.Width, actual.Image?.Height, actual.Image?.Format, actual.Image?.Sha256, actual.Image?.MediaType));
        Assert.Equal(expected.Image?.Bytes, actual.Image?.Bytes);
    }

    [Fact]
    public async Task Reference_Notes_What_It_Found_And_A_Resumed_Run_Takes_Every_Field_From_The_Journal()
    {
        var bytes = Jpeg(40, 30);
        var name = Put("r.jpg", bytes);
        var first = await WithJournal(Mode("reference"), resume: false, name);
        Assert.Equal(0, first.Reused);
        Assert.Equal(
            new ImageEntry(null, null, Sha(bytes), first.Outcome.PerceptualHash, 40, 30, "jpeg", Sha(bytes), null, null, null),
            first.Entry);
        Assert.Single(ImageLines());

        // Taken from the journal, not made again: each field is the journal's, even where it is not what the file would give.
        EditImageLine(o =>
        {
            o["width"] = 111;
            o["height"] = 222;
            o["format"] = "fmt";
            o["sha256"] = "journal-sha";
            o["source_sha256"] = "journal-source";
            o["phash"] = "00000000000000ff";
        });
        var resumed = await WithJournal(Mode("reference"), resume: true, name);
        Assert.Equal(1, resumed.Reused);
        Assert.Equal(("r.jpg", 111, 222, "fmt", "journal-sha"), (resumed.Outcome.Image!.Path, resumed.Outcome.Image.Width, resumed.Outcome.Image.Height, resumed.Outcome.Image.Format, resumed.Outcome.Image.Sha256));
        Assert.Equal(("journal-source", (ulong?)0xFF, null, null), (resumed.Outcome.SourceSha256, resumed.Outcome.PerceptualHash, resumed.Outcome.Reason, resumed.Outcome.Image.Bytes));
        Assert.Single(ImageLines());
        Assert.Empty(resumed.Placed);

        // A file changed since (another time) is processed again and noted again.
        File.SetLastWriteTimeUtc(Full(name), File.GetLastWriteTimeUtc(Full(name)).AddMinutes(-5));
        var redone = await WithJournal(Mode("reference"), resume: true, name);
        Assert.Equal(0, redone.Reused);
        SameOutcome(first.Outcome, redone.Outcome);
        Assert.Equal(2, ImageLines().Count);
    }

    [Fact]
    public async Task A_Journalled_Reject_Is_Given_Again_With_Its_Reason_And_Detail()
    {
        var name = Put("cut.jpg", Jpeg(40, 30)[..^2]);
        var first = await WithJournal(Mode("copy"), resume: false, name);
        Refused(first.Outcome, "truncated", "cut.jpg: the JPEG data ends before its end marker");
        Assert.Equal(new ImageEntry("truncated", "cut.jpg: the JPEG data ends before its end marker", null, null, 0, 0, null, null, null, null, null), first.Entry);

        var resumed = await WithJournal(Mode("copy"), resume: true, name);
        Assert.Equal(1, resumed.Reused);
        Refused(resumed.Outcome, "truncated", "cut.jpg: the JPEG data ends before its end marker");
        Assert.Empty(resumed.Placed);

        // A journal line without its detail (an older or hand-cut line) gives the reason as the detail.
        EditImageLine(o => o.Remove("detail"));
        var bare = await WithJournal(Mode("copy"), resume: true, name);
        Assert.Equal(1, bare.Reused);
        Refused(bare.Outcome, "truncated", "truncated");
    }

    [Fact]
    public async Task A_Resumed_Copy_Is_Reused_Only_While_The_Copy_Holds_Its_Checksum()
    {
        var png = Png(40, 20);
        var name = Put("c.png", png);
        var settings = new ImageSettings { Mode = "copy", MaxSide = 20 };
        var first = await WithJournal(settings, resume: false, name);
        var copy = first.Outcome.Image!.Path;
        var copyFile = Path.Combine(_out, copy);
        var written = File.ReadAllBytes(copyFile);
        var fileName = $"{Sha(written)}.png";
        Assert.Equal($"images/{fileName}", copy);
        Assert.Equal([fileName], first.Placed);
        Assert.Equal(new ImageEntry(null, null, Sha(png), first.Outcome.PerceptualHash, 20, 10, "png", Sha(written), null, copy, null), first.Entry);
        Assert.False(Directory.Exists(first.KeptImages));

        // Intact: taken from the journal, the copy placed again, nothing written.
        var resumed = await WithJournal(settings, resume: true, name);
        Assert.Equal(1, resumed.Reused);
        SameOutcome(first.Outcome, resumed.Outcome);
        Assert.Equal([fileName], resumed.Placed);
        Assert.Single(ImageLines());

        // Damaged (same length and time): made again, and the copy is right again.
        TamperKeepingSizeAndTime(copyFile);
        var repaired = await WithJournal(settings, resume: true, name);
        Assert.Equal(0, repaired.Reused);
        SameOutcome(first.Outcome, repaired.Outcome);
        Assert.Equal([fileName], repaired.Placed);
        Assert.Equal(written, File.ReadAllBytes(copyFile));
        Assert.Equal(2, ImageLines().Count);

        // Gone: made again.
        File.Delete(copyFile);
        var remade = await WithJournal(settings, resume: true, name);
        Assert.Equal(0, remade.Reused);
        Assert.Equal(written, File.ReadAllBytes(copyFile));
    }

    [Fact]
    public async Task A_Journalled_Copy_Without_Its_Path_Is_Made_Again()
    {
        var name = Put("c.png", Png(12, 7));
        var first = await WithJournal(Mode("copy"), resume: false, name);
        EditImageLine(o => o.Remove("copy"));
        var resumed = await WithJournal(Mode("copy"), resume: true, name);
        Assert.Equal(0, resumed.Reused);
        SameOutcome(first.Outcome, resumed.Outcome);
        Assert.Equal(first.Outcome.Image!.Path, resumed.Entry.CopyPath);
    }

    [Fact]
    public async Task An_Embedded_Image_Left_As_It_Was_Is_Verified_Against_Its_File_On_Resume()
    {
        var bytes = Jpeg(40, 30);
        var name = Put("e.jpg", bytes);
        var first = await WithJournal(Mode("embed"), resume: false, name);
        Assert.Equal(bytes, first.Outcome.Image!.Bytes);

        // The bytes are the file's own: nothing is kept beside the journal.
        Assert.Equal(new ImageEntry(null, null, Sha(bytes), first.Outcome.PerceptualHash, 40, 30, "jpeg", Sha(bytes), "image/jpeg", null, null), first.Entry);
        Assert.False(Directory.Exists(first.KeptImages));

        var resumed = await WithJournal(Mode("embed"), resume: true, name);
        Assert.Equal(1, resumed.Reused);
        SameOutcome(first.Outcome, resumed.Outcome);
        Assert.Empty(resumed.Placed);

        // The file changed under the same size and time (its end marker wiped): its checksum tells, and it is read again.
        var time = File.GetLastWriteTimeUtc(Full(name));
        File.WriteAllBytes(Full(name), [.. bytes[..^2], 0, 0]);
        File.SetLastWriteTimeUtc(Full(name), time);
        var redone = await WithJournal(Mode("embed"), resume: true, name);
        Assert.Equal(0, redone.Reused);
        Refused(redone.Outcome, "truncated", "e.jpg: the JPEG data ends before its end marker");
    }

    [Fact]
    public async Task An_Embedded_Image_Made_Anew_Is_Kept_Beside_The_Journal_And_Reused_Only_While_Its_Checksum_Holds()
    {
        var source = Jpeg(40, 20);
        var name = Put("k.jpg", source);
        var settings = new ImageSettings { Mode = "embed", MaxSide = 20 };
        var first = await WithJournal(settings, resume: false, name);
        var output = first.Outcome.Image!.Bytes!;
        var keptName = $"{Sha(output)}.jpeg";
        Assert.Equal(new ImageEntry(null, null, Sha(source), first.Outcome.PerceptualHash, 20, 10, "jpeg", Sha(output), "image/jpeg", null, keptName), first.Entry);
        var kept = Path.Combine(first.KeptImages, keptName);
        Assert.Equal(output, File.ReadAllBytes(kept));
        Assert.Equal([keptName], Directory.GetFiles(first.KeptImages).Select(Path.GetFileName));

        var resumed = await WithJournal(settings, resume: true, name);
        Assert.Equal(1, resumed.Reused);
        SameOutcome(first.Outcome, resumed.Outcome);

        // The kept bytes damaged: the image is made again from its file, to the same bytes, and kept whole again, so the
        // resume after that takes it from the journal instead of making it anew once more.
        TamperKeepingSizeAndTime(kept);
        var redone = await WithJournal(settings, resume: true, name);
        Assert.Equal(0, redone.Reused);
        SameOutcome(first.Outcome, redone.Outcome);
        Assert.Equal(output, File.ReadAllBytes(kept));
        var again = await WithJournal(settings, resume: true, name);
        Assert.Equal(1, again.Reused);
        SameOutcome(first.Outcome, again.Outcome);
    }
}
