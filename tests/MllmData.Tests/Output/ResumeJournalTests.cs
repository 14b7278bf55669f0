using System.Security.Cryptography;
using System.Text;
using MllmData.Inputs;
using MllmData.Output;
using MllmData.Pipeline;
using MllmData.Recipes;
using MllmData.Templates;
using MllmData.Tests.Conformance;
using Serilog.Core;

namespace MllmData.Tests.Output;

/// <summary>The resume journal and the shard writer's reuse of held shards, in process.</summary>
public class TheResumeJournal
{
    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>A run that writes <paramref name="lines"/> in shards of two and stops without completing, as a killed run does.</summary>
    private static void Interrupted(string dir, string key, params string[] lines)
    {
        using var folder = OutputFolder.Open(dir, []);
        folder.Journal = ResumeJournal.Start(folder, key, resume: false, "t", ".jsonl", Logger.None);
        var writer = new ShardWriter(folder.StagingData, "t", 2, journal: folder.Journal);
        foreach (var line in lines)
        {
            writer.WriteLine(Encoding.UTF8.GetBytes(line + "\n"));
        }

        folder.KeepStaging = true;
        writer.Dispose();
    }

    private static (ResumeJournal Journal, OutputFolder Folder) Resume(string dir, string key)
    {
        var folder = OutputFolder.Open(dir, [], keepStaging: true);
        folder.Journal = ResumeJournal.Start(folder, key, resume: true, "t", ".jsonl", Logger.None);
        return (folder.Journal, folder);
    }

    [Fact]
    public void A_Resume_Deletes_The_Temporaries_A_Kill_Left_Among_The_Kept_Images_And_Keeps_The_Images()
    {
        var dir = TestPaths.NewTempDir();
        Interrupted(dir, "img", "one", "two");
        string kept;
        using (var folder = OutputFolder.Open(dir, [], keepStaging: true))
        {
            folder.Journal = ResumeJournal.Start(folder, "img", resume: true, "t", ".jsonl", Logger.None);
            kept = folder.Journal.KeptImages;
            folder.Journal.Keep("ab12.jpg", [1, 2, 3]);
            folder.KeepStaging = true;
        }

        // What a kill while keeping an image leaves: AtomicFile's temporary beside the kept images.
        File.WriteAllBytes(Path.Combine(kept, ".cd34.jpg.tmp"), [9]);
        File.WriteAllBytes(Path.Combine(kept, "ef56.png"), [4, 5]);

        var (journal, resumed) = Resume(dir, "img");
        using (resumed)
        {
            Assert.Equal(kept, journal.KeptImages);
            Assert.Equal(["ab12.jpg", "ef56.png"], Directory.EnumerateFiles(kept).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(kept, "ab12.jpg")));
        }
    }

    [Fact]
    public void Shards_Larger_Than_A_Chunk_Are_Noted_Whole_With_The_Hash_Of_Their_Bytes()
    {
        // Closed shards reach the disk, are hashed and are noted on the thread pool while the writer goes on; a run that
        // stops after them (disposed, not completed) has every closed shard noted, with the hash of exactly its bytes.
        var dir = TestPaths.NewTempDir();
        string[] lines = [new('a', 700_000), new('b', 1_500_000), "short", new('c', 300_000), new('d', 1_048_575)];
        Interrupted(dir, "big", lines);

        var (journal, folder) = Resume(dir, "big");
        using (folder)
        {
            Assert.Equal(2, journal.HeldShards);
            Assert.Equal(4, journal.HeldRecords);
            for (var i = 0; i < 2; i++)
            {
                var text = lines[2 * i] + "\n" + lines[(2 * i) + 1] + "\n";
                var held = journal.Held(i)!;
                Assert.Equal(Sha(text), held.Sha256);
                Assert.Equal(text.Length, held.Bytes);
                Assert.Equal(text, File.ReadAllText(held.Path));
            }

            Assert.Null(journal.Held(2));
        }
    }

    [Fact]
    public void A_Completed_Writer_Gives_Each_Shard_The_Hash_Of_Its_File()
    {
        var dir = TestPaths.NewTempDir();
        var writer = new ShardWriter(dir, "t", 2);
        string[] lines = [new('x', 1_200_000), "y", new('z', 2_000_001)];
        foreach (var line in lines)
        {
            writer.WriteLine(Encoding.UTF8.GetBytes(line + "\n"));
        }

        var shards = writer.Complete();
        Assert.Equal([Sha(lines[0] + "\n" + lines[1] + "\n"), Sha(lines[2] + "\n")], shards.Select(s => s.Sha256));
        foreach (var shard in shards)
        {
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, shard.Path)))), shard.Sha256);
        }

        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void A_Shard_That_Cannot_Reach_The_Disk_Stops_The_Writer_And_No_Shard_Gets_Its_Final_Name()
    {
        var dir = TestPaths.NewTempDir();
        var hashed = 0;
        var writer = new ShardWriter(dir, "t", 1)
        {
            HashFile = path =>
            {
                Interlocked.Increment(ref hashed);
                throw new IOException($"{Path.GetFileName(path)}: no space left on device");
            },
        };
        var error = Record.Exception(() =>
        {
            foreach (var line in "abcd")
            {
                writer.WriteLine(Encoding.UTF8.GetBytes(line + "\n"));
            }

            writer.Complete();
        });
        Assert.Equal(".t-00000.jsonl.tmp: no space left on device", Assert.IsType<IOException>(error).Message);
        Assert.Equal(1, hashed); // the shards after the failed one are not hashed
        Assert.Empty(Directory.GetFiles(dir, "t-*"));
        writer.Dispose();
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void A_Held_Shard_Is_Hashed_Not_Written_And_Its_File_Takes_The_Shards_Place()
    {
        var dir = TestPaths.NewTempDir();
        Interrupted(dir, "k", "a", "b", "c");

        var (journal, folder) = Resume(dir, "k");
        using (folder)
        {
            Assert.Equal(2, journal.HeldRecords);
            var held = journal.Held(0)!;
            Assert.Equal(Sha("a\nb\n"), held.Sha256);
            Assert.Equal(4, held.Bytes);
            Assert.Null(journal.Held(1));
            var stamp = File.GetLastWriteTimeUtc(held.Path);

            var writer = new ShardWriter(folder.StagingData, "t", 2, journal: journal);
            foreach (var line in new[] { "a", "b", "c" })
            {
                writer.WriteLine(Encoding.UTF8.GetBytes(line + "\n"));
            }

            var shards = writer.Complete();
            Assert.Equal(1, journal.ShardsReused);
            Assert.Equal([Sha("a\nb\n"), Sha("c\n")], shards.Select(s => s.Sha256));
            Assert.Equal([2L, 1L], shards.Select(s => s.Records));
            var first = Path.Combine(folder.StagingData, "t-00000-of-00002.jsonl");
            Assert.Equal("a\nb\n", File.ReadAllText(first));

            // The same file, moved: not written again.
            Assert.Equal(stamp, File.GetLastWriteTimeUtc(first));
            Assert.False(File.Exists(held.Path));
        }
    }

    [Fact]
    public void A_Held_Shard_The_Run_Does_Not_Make_Again_Byte_For_Byte_Stops_The_Run_Naming_Both_Checksums()
    {
        var dir = TestPaths.NewTempDir();
        Interrupted(dir, "k", "a", "b", "c");
        var (journal, folder) = Resume(dir, "k");
        using (folder)
        {
            var writer = new ShardWriter(folder.StagingData, "t", 2, journal: journal);
            writer.WriteLine("a\n"u8);
            writer.WriteLine("x\n"u8);

            var ex = Assert.Throws<OutputException>(() => writer.WriteLine("c\n"u8));
            Assert.Contains($"--resume: shard 0 of the interrupted run (sha256 {Sha("a\nb\n")}, 2 records) differs from what this run makes (sha256 {Sha("a\nx\n")}, 2 records)", ex.Message, StringComparison.Ordinal);
            Assert.False(ex.Refused);
            Assert.Equal(0, journal.ShardsReused);
        }
    }

    [Fact]
    public void Another_Key_Discards_The_Staged_Work_And_Says_Why()
    {
        var dir = TestPaths.NewTempDir();
        Interrupted(dir, "k", "a", "b", "c");
        var (journal, folder) = Resume(dir, "other");
        using (folder)
        {
            Assert.Equal(0, journal.HeldShards);
            Assert.Null(journal.Held(0));
            Assert.Contains(journal.Dropped, d => d.Contains("made from another recipe", StringComparison.Ordinal));
            Assert.Empty(Directory.GetFiles(folder.StagingData));
        }
    }

    [Fact]
    public void A_Journal_Line_Cut_Off_By_The_Kill_And_A_Missing_Shard_File_Are_Passed_Over()
    {
        var dir = TestPaths.NewTempDir();
        Interrupted(dir, "k", "a", "b", "c", "d", "e");
        var staging = Path.Combine(dir, OutputFolder.StagingFolder);
        File.Delete(Path.Combine(staging, "data", ".t-00001.jsonl.tmp"));
        File.AppendAllText(Path.Combine(staging, ResumeJournal.FileName), "{\"shard\":2,\"fi");

        var (journal, folder) = Resume(dir, "k");
        using (folder)
        {
            Assert.NotNull(journal.Held(0));
            Assert.Null(journal.Held(1));
            Assert.Single(journal.Dropped);
            Assert.Contains("shard 1 of the interrupted run is missing or its bytes differ", journal.Dropped[0], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_Second_Interruption_During_A_Resume_Keeps_What_Was_Held()
    {
        var dir = TestPaths.NewTempDir();
        Interrupted(dir, "k", "a", "b", "c", "d", "e");

        // The resumed run is stopped before it reaches the held shards: they stay listed and held for the next one.
        var (_, folder) = Resume(dir, "k");
        folder.KeepStaging = true;
        folder.Dispose();

        var (journal, again) = Resume(dir, "k");
        using (again)
        {
            Assert.Equal(2, journal.HeldShards);
            Assert.Equal(4, journal.HeldRecords);
        }
    }

    [Fact]
    public void Image_Results_Are_Remembered_Only_For_The_Same_File_Size_And_Time()
    {
        var dir = TestPaths.NewTempDir();
        var entry = new ImageEntry(null, null, "src", 0xFEDCBA9876543210UL, 640, 480, "jpeg", "out", "image/jpeg", "images/out.jpg", null);
        var reject = new ImageEntry("corrupt", "x.jpg: cannot be decoded", null, null, 0, 0, null, null, null, null, null);
        using (var folder = OutputFolder.Open(dir, []))
        {
            folder.Journal = ResumeJournal.Start(folder, "k", resume: false, "t", ".jsonl", Logger.None);
            folder.Journal.ImageDone("/data/a.jpg", 100, 5, entry);
            folder.Journal.ImageDone("/data/x.jpg", 7, 9, reject);
            Assert.Equal(entry, folder.Journal.Image("/data/a.jpg", 100, 5));
            folder.KeepStaging = true;
        }

        var (journal, again) = Resume(dir, "k");
        using (again)
        {
            Assert.Equal(entry, journal.Image("/data/a.jpg", 100, 5));
            Assert.Equal(reject, journal.Image("/data/x.jpg", 7, 9));
            Assert.Null(journal.Image("/data/a.jpg", 101, 5));
            Assert.Null(journal.Image("/data/a.jpg", 100, 6));
            Assert.Null(journal.Image("/data/b.jpg", 100, 5));
            Assert.Equal(0, journal.ImagesReused);
            journal.Reused();
            Assert.Equal(1, journal.ImagesReused);
        }
    }

    [Fact]
    public void Without_Resume_Everything_Staged_Goes()
    {
        var dir = TestPaths.NewTempDir();
        Interrupted(dir, "k", "a", "b", "c");
        using var folder = OutputFolder.Open(dir, []);
        folder.Journal = ResumeJournal.Start(folder, "k", resume: false, "t", ".jsonl", Logger.None);
        Assert.Equal(0, folder.Journal.HeldShards);
        Assert.Empty(folder.Journal.Dropped);
        Assert.Empty(Directory.GetFiles(folder.StagingData));
        Assert.StartsWith("{\"journal\":1,\"key\":\"k\"}", Assert.Single(File.ReadAllLines(Path.Combine(folder.Staging, ResumeJournal.FileName))), StringComparison.Ordinal);
    }

    [Fact]
    public void The_Key_Changes_With_The_Tool_Version_Recipe_Split_And_Each_Inputs_Size_Or_Time()
    {
        var dir = TestPaths.NewTempDir();
        var input = Path.Combine(dir, "in.json");
        File.WriteAllText(input, "[]");
        var key = ResumeJournal.KeyOf("1", "r", null, [input]);
        Assert.Equal(key, ResumeJournal.KeyOf("1", "r", null, [input]));
        Assert.NotEqual(key, ResumeJournal.KeyOf("2", "r", null, [input]));
        Assert.NotEqual(key, ResumeJournal.KeyOf("1", "s", null, [input]));
        Assert.NotEqual(key, ResumeJournal.KeyOf("1", "r", "0/2", [input]));
        Assert.NotEqual(key, ResumeJournal.KeyOf("1", "r", null, []));

        // A name with a NUL (refused later, with its reason) is only a name here.
        Assert.NotEqual(key, ResumeJournal.KeyOf("1", "r", null, [input + "\0x"]));
        File.SetLastWriteTimeUtc(input, File.GetLastWriteTimeUtc(input).AddSeconds(1));
        var touched = ResumeJournal.KeyOf("1", "r", null, [input]);
        Assert.NotEqual(key, touched);
        File.WriteAllText(input, "[ ]");
        File.SetLastWriteTimeUtc(input, File.GetLastWriteTimeUtc(input));
        Assert.NotEqual(touched, ResumeJournal.KeyOf("1", "r", null, [input]));
    }

    [Fact]
    public async Task A_Cancelled_Build_Keeps_Its_Finished_Work_And_A_Resume_Makes_The_Same_Bytes()
    {
        var root = TestPaths.NewTempDir();
        var library = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        Recipe Coco()
        {
            var recipe = new Recipe
            {
                Name = "coco",
                Format = "llava",
                ShardRecords = 100,
                Sources = [new SourceSpec { Adapter = "coco-captions", Inputs = new(StringComparer.Ordinal) { ["captions"] = Consumers.CocoCaptions }, ImageRoot = Consumers.CocoImages }],
            };
            recipe.Images.Mode = "copy";
            recipe.Images.MaxSide = 64;
            return recipe;
        }

        var clean = Path.Combine(root, "clean");
        await new BuildPipeline(library, Logger.None).RunAsync(Coco(), clean, new ProgressCounter(), CancellationToken.None);

        var outDir = Path.Combine(root, "out");
        using var cts = new CancellationTokenSource();
        var progress = new ProgressCounter { OnRecord = n => { if (n == 250) { cts.Cancel(); } } };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new BuildPipeline(library, Logger.None).RunAsync(Coco(), outDir, progress, cts.Token));

        var journal = File.ReadAllLines(Path.Combine(outDir, OutputFolder.StagingFolder, ResumeJournal.FileName));
        Assert.Equal(2, journal.Count(l => l.StartsWith("{\"shard\":", StringComparison.Ordinal)));

        await new BuildPipeline(library, Logger.None) { Resume = true }.RunAsync(Coco(), outDir, new ProgressCounter(), CancellationToken.None);
        Assert.Equal(TheOutputFolder.Snapshot(clean), TheOutputFolder.Snapshot(outDir));
    }
}
