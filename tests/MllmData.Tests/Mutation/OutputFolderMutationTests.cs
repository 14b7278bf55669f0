using MllmData.Output;

namespace MllmData.Tests.Mutation;

/// <summary>
/// The output folder's protected names, link resolution and promotion, pinned in process so that mutants of
/// <see cref="OutputFolder"/> and <see cref="RealPath"/> fail (see docs/mutation.md).
/// </summary>
public class OutputFolderMutationTests
{
    /// <summary>A fresh folder with its links resolved (the temp folder may itself sit behind one).</summary>
    private static string NewRealDir() => RealPath.Of(TestPaths.NewTempDir());

    [Theory]
    [InlineData("data/shard.jsonl")]
    [InlineData("data/sub/deep.jpg")]
    [InlineData("images/a.jpg")]
    [InlineData(".staging/data/x.jsonl")]
    [InlineData(".staging/manifest.json")]
    [InlineData("manifest.json")]
    [InlineData("rejects.jsonl")]
    [InlineData("dataset_info.json")]
    [InlineData(".lock")]
    [InlineData("")]
    public void Every_Protected_Folder_And_File_Of_The_Output_Would_Be_Replaced(string relative)
    {
        var root = NewRealDir();
        Assert.True(OutputFolder.WouldReplace(root, Path.Combine(root, relative)));
    }

    [Theory]
    [InlineData("database/x.jsonl")]
    [InlineData("data2/x.jsonl")]
    [InlineData("datax")]
    [InlineData("Data/x.jsonl")]
    [InlineData("imagesx/a.jpg")]
    [InlineData("image/a.jpg")]
    [InlineData(".stagingx/a")]
    [InlineData("staging/a")]
    [InlineData("manifest.json.bak")]
    [InlineData("old/manifest.json")]
    [InlineData("rejects.json")]
    [InlineData("dataset_info.jsonl")]
    [InlineData(".lock2")]
    [InlineData("input.json")]
    [InlineData("sub/data/x.jsonl")]
    public void Near_Misses_Of_The_Protected_Names_Are_Not_Replaced(string relative)
    {
        var root = NewRealDir();
        Assert.False(OutputFolder.WouldReplace(root, Path.Combine(root, relative)));
    }

    [Fact]
    public void A_Sibling_Folder_Whose_Name_Starts_With_The_Output_Folder_Is_Not_Replaced()
    {
        var parent = NewRealDir();
        var root = Path.Combine(parent, "out");
        Assert.False(OutputFolder.WouldReplace(root, Path.Combine(parent, "out2", "data", "x.jsonl")));
        Assert.False(OutputFolder.WouldReplace(root, Path.Combine(parent, "outmanifest.json")));
        Assert.False(OutputFolder.WouldReplace(root, parent));
    }

    [Fact]
    public void A_Path_Holding_A_Nul_Character_Replaces_Nothing()
    {
        var root = NewRealDir();
        Assert.False(OutputFolder.WouldReplace(root, Path.Combine(root, "data", "a\0b.jsonl")));
        Assert.False(OutputFolder.WouldReplace(root, Path.Combine(root, "manifest.json") + "\0"));
    }

    [Fact]
    public void A_Relative_Input_Is_Resolved_Against_The_Current_Folder()
    {
        var root = NewRealDir();
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(root, "data", "x.jsonl"));
        Assert.True(OutputFolder.WouldReplace(root, relative));
        Assert.True(OutputFolder.WouldReplace(root, Path.Combine(root, "other", "..", "manifest.json")));
    }

    [Fact]
    public void A_File_Link_Into_The_Data_Folder_Would_Be_Replaced_And_A_Link_Out_Of_It_Would_Not()
    {
        var root = NewRealDir();
        var elsewhere = NewRealDir();
        Directory.CreateDirectory(Path.Combine(root, "data"));
        File.WriteAllText(Path.Combine(root, "data", "real.jsonl"), "{}\n");
        File.WriteAllText(Path.Combine(elsewhere, "input.json"), "{}");
        var inward = Path.Combine(elsewhere, "link.jsonl");
        File.CreateSymbolicLink(inward, Path.Combine(root, "data", "real.jsonl"));
        var outward = Path.Combine(root, "input-link.json");
        File.CreateSymbolicLink(outward, Path.Combine(elsewhere, "input.json"));

        Assert.True(OutputFolder.WouldReplace(root, inward));
        Assert.False(OutputFolder.WouldReplace(root, outward));
    }

    [Fact]
    public void An_Output_Folder_Reached_Through_A_Link_Protects_The_Real_Folder()
    {
        var real = NewRealDir();
        var linkParent = NewRealDir();
        var linkedRoot = Path.Combine(linkParent, "out");
        Directory.CreateSymbolicLink(linkedRoot, real);

        Assert.True(OutputFolder.WouldReplace(linkedRoot, Path.Combine(real, "data", "x.jsonl")));
        Assert.True(OutputFolder.WouldReplace(real, Path.Combine(linkedRoot, "manifest.json")));
        Assert.True(OutputFolder.WouldReplace(linkedRoot, real));
    }

    [Fact]
    public void RealPath_Keeps_A_Path_Without_Links_As_Written_And_Makes_It_Absolute()
    {
        var dir = NewRealDir();
        var missing = Path.Combine(dir, "no", "such", "file.json");
        Assert.Equal(missing, RealPath.Of(missing));
        Assert.Equal(Path.Combine(dir, "x"), RealPath.Of(Path.Combine(dir, "a", "..", "x")));
        Assert.Equal(Path.GetFullPath("rel/x.json"), RealPath.Of("rel/x.json"));
        Assert.Equal("/", RealPath.Of("/"));
    }

    [Fact]
    public void RealPath_Resolves_A_File_Link_To_Its_Target()
    {
        var dir = NewRealDir();
        File.WriteAllText(Path.Combine(dir, "target.json"), "{}");
        File.CreateSymbolicLink(Path.Combine(dir, "link.json"), Path.Combine(dir, "target.json"));
        Assert.Equal(Path.Combine(dir, "target.json"), RealPath.Of(Path.Combine(dir, "link.json")));
    }

    [Fact]
    public void RealPath_Resolves_A_Folder_Link_In_The_Middle_And_Keeps_The_Rest()
    {
        var dir = NewRealDir();
        Directory.CreateDirectory(Path.Combine(dir, "real", "inner"));
        Directory.CreateSymbolicLink(Path.Combine(dir, "link"), Path.Combine(dir, "real"));
        Assert.Equal(Path.Combine(dir, "real", "inner", "missing.json"), RealPath.Of(Path.Combine(dir, "link", "inner", "missing.json")));
        Assert.Equal(Path.Combine(dir, "real"), RealPath.Of(Path.Combine(dir, "link")));
    }

    [Fact]
    public void RealPath_Resolves_A_Relative_Link_Target_From_The_Links_Own_Folder()
    {
        var dir = NewRealDir();
        Directory.CreateDirectory(Path.Combine(dir, "a", "b"));
        Directory.CreateDirectory(Path.Combine(dir, "c"));
        File.WriteAllText(Path.Combine(dir, "c", "t.json"), "{}");
        File.CreateSymbolicLink(Path.Combine(dir, "a", "b", "l.json"), Path.Combine("..", "..", "c", "t.json"));
        Assert.Equal(Path.Combine(dir, "c", "t.json"), RealPath.Of(Path.Combine(dir, "a", "b", "l.json")));
    }

    [Fact]
    public void RealPath_Follows_A_Chain_Of_File_And_Folder_Links()
    {
        var dir = NewRealDir();
        Directory.CreateDirectory(Path.Combine(dir, "real"));
        File.WriteAllText(Path.Combine(dir, "real", "t.json"), "{}");
        Directory.CreateSymbolicLink(Path.Combine(dir, "d1"), Path.Combine(dir, "real"));
        Directory.CreateSymbolicLink(Path.Combine(dir, "d2"), Path.Combine(dir, "d1"));
        File.CreateSymbolicLink(Path.Combine(dir, "real", "l1.json"), "t.json");
        File.CreateSymbolicLink(Path.Combine(dir, "f2.json"), Path.Combine(dir, "d2", "l1.json"));
        Assert.Equal(Path.Combine(dir, "real", "t.json"), RealPath.Of(Path.Combine(dir, "f2.json")));
    }

    [Fact]
    public void RealPath_Follows_Thirty_Nine_Links_And_Refuses_Forty()
    {
        var dir = NewRealDir();
        File.WriteAllText(Path.Combine(dir, "t.json"), "{}");
        var previous = "t.json";
        for (var i = 1; i <= 40; i++)
        {
            var name = $"l{i}.json";
            File.CreateSymbolicLink(Path.Combine(dir, name), previous);
            previous = name;
        }

        Assert.Equal(Path.Combine(dir, "t.json"), RealPath.Of(Path.Combine(dir, "l39.json")));
        var ex = Assert.Throws<IOException>(() => RealPath.Of(Path.Combine(dir, "l40.json")));
        Assert.Equal($"too many levels of symbolic links: {Path.Combine(dir, "l40.json")}", ex.Message);
    }

    [Fact]
    public void RealPath_Refuses_A_Link_Loop()
    {
        var dir = NewRealDir();
        File.CreateSymbolicLink(Path.Combine(dir, "a"), "b");
        File.CreateSymbolicLink(Path.Combine(dir, "b"), "a");
        var ex = Assert.Throws<IOException>(() => RealPath.Of(Path.Combine(dir, "a")));
        Assert.StartsWith("too many levels of symbolic links: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_Takes_The_Lock_Starts_An_Empty_Staging_Folder_And_Removes_A_Killed_Runs_Staging()
    {
        var root = Path.Combine(NewRealDir(), "out");
        Directory.CreateDirectory(Path.Combine(root, ".staging", "data"));
        File.WriteAllText(Path.Combine(root, ".staging", "data", "old.jsonl"), "{}\n");

        using var folder = OutputFolder.Open(root, []);
        Assert.Equal(root, folder.Root);
        Assert.Equal(Path.Combine(root, ".staging"), folder.Staging);
        Assert.Equal(Path.Combine(root, ".staging", "data"), folder.StagingData);
        Assert.True(Directory.Exists(folder.StagingData));
        Assert.Empty(Directory.GetFileSystemEntries(folder.StagingData));
        Assert.True(File.Exists(Path.Combine(root, ".lock")));
    }

    [Fact]
    public void A_Second_Open_Of_A_Held_Folder_Is_Refused_Naming_The_Lock()
    {
        var root = Path.Combine(NewRealDir(), "out");
        using var first = OutputFolder.Open(root, []);
        var ex = Assert.Throws<OutputException>(() => OutputFolder.Open(root, []));
        Assert.True(ex.Refused);
        Assert.Equal(root, ex.Folder);
        Assert.Equal($"{root}: another run is writing to this output folder (it holds .lock); wait for it or choose another --out", ex.Message);
    }

    [Fact]
    public void Opening_Over_An_Input_Is_Refused_Before_The_Folder_Is_Created()
    {
        var root = Path.Combine(NewRealDir(), "out");
        var input = Path.Combine(root, "data", "in.jsonl");
        var ex = Assert.Throws<OutputException>(() => OutputFolder.Open(root, [Path.Combine(root, "..", "elsewhere.json"), input]));
        Assert.True(ex.Refused);
        Assert.Equal($"{root}: writing here would replace or delete the input {input}; choose an --out outside the inputs' data", ex.Message);
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void An_Output_Exception_Is_Not_Refused_Unless_Said()
    {
        var ex = new OutputException("/o", "disk full", null);
        Assert.False(ex.Refused);
        Assert.Equal("/o: disk full", ex.Message);
    }

    [Fact]
    public void Disposing_Without_Commit_Removes_Staging_And_The_Lock_And_Keeps_The_Old_Output()
    {
        var root = Path.Combine(NewRealDir(), "out");
        Directory.CreateDirectory(Path.Combine(root, "data"));
        File.WriteAllText(Path.Combine(root, "manifest.json"), "old");
        File.WriteAllText(Path.Combine(root, "data", "n-00000-of-00001.jsonl"), "old\n");
        using (var folder = OutputFolder.Open(root, []))
        {
            File.WriteAllText(Path.Combine(folder.StagingData, "n-00000-of-00001.jsonl"), "new\n");
        }

        Assert.False(Directory.Exists(Path.Combine(root, ".staging")));
        Assert.False(File.Exists(Path.Combine(root, ".lock")));
        Assert.Equal("old", File.ReadAllText(Path.Combine(root, "manifest.json")));
        Assert.Equal("old\n", File.ReadAllText(Path.Combine(root, "data", "n-00000-of-00001.jsonl")));

        using var again = OutputFolder.Open(root, []);
        Assert.True(File.Exists(Path.Combine(root, ".lock")));
    }

    [Fact]
    public void Commit_Replaces_The_Shards_Promotes_Written_Side_Files_Removes_Stale_Ones_And_Drops_Staging()
    {
        var root = Path.Combine(NewRealDir(), "out");
        Directory.CreateDirectory(Path.Combine(root, "data"));
        File.WriteAllText(Path.Combine(root, "manifest.json"), "old");
        File.WriteAllText(Path.Combine(root, "rejects.jsonl"), "old rejects\n");
        File.WriteAllText(Path.Combine(root, "dataset_info.json"), "old info");
        File.WriteAllText(Path.Combine(root, "data", "n-00000-of-00002.jsonl"), "old0\n");
        File.WriteAllText(Path.Combine(root, "data", "n-00001-of-00002.jsonl"), "old1\n");
        File.WriteAllText(Path.Combine(root, "notes.txt"), "mine");

        using (var folder = OutputFolder.Open(root, []))
        {
            File.WriteAllText(Path.Combine(folder.StagingData, "n-00000-of-00001.jsonl"), "new0\n");
            File.WriteAllText(Path.Combine(folder.Staging, "rejects.jsonl"), "new rejects\n");
            File.WriteAllText(Path.Combine(folder.Staging, "manifest.json"), "new");
            folder.Commit();
            Assert.False(Directory.Exists(folder.Staging));
        }

        Assert.Equal("new", File.ReadAllText(Path.Combine(root, "manifest.json")));
        Assert.Equal("new rejects\n", File.ReadAllText(Path.Combine(root, "rejects.jsonl")));
        Assert.False(File.Exists(Path.Combine(root, "dataset_info.json")));
        Assert.Equal(["n-00000-of-00001.jsonl"], Directory.GetFiles(Path.Combine(root, "data")).Select(Path.GetFileName));
        Assert.Equal("new0\n", File.ReadAllText(Path.Combine(root, "data", "n-00000-of-00001.jsonl")));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(root, "notes.txt")));
        Assert.False(File.Exists(Path.Combine(root, ".lock")));
    }

    [Fact]
    public void Commit_Into_A_Fresh_Folder_Creates_The_Data_Folder()
    {
        var root = Path.Combine(NewRealDir(), "out");
        using (var folder = OutputFolder.Open(root, []))
        {
            File.WriteAllText(Path.Combine(folder.StagingData, "a-00000-of-00002.jsonl"), "a0\n");
            File.WriteAllText(Path.Combine(folder.StagingData, "a-00001-of-00002.jsonl"), "a1\n");
            File.WriteAllText(Path.Combine(folder.Staging, "dataset_info.json"), "info");
            File.WriteAllText(Path.Combine(folder.Staging, "manifest.json"), "m");
            folder.Commit();
        }

        Assert.Equal(["a-00000-of-00002.jsonl", "a-00001-of-00002.jsonl"], Directory.GetFiles(Path.Combine(root, "data")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("info", File.ReadAllText(Path.Combine(root, "dataset_info.json")));
        Assert.False(File.Exists(Path.Combine(root, "rejects.jsonl")));
        Assert.Equal(["dataset_info.json", "manifest.json"], Directory.GetFiles(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_Protected_Names_Are_The_Documented_Ones()
    {
        Assert.Equal(["rejects.jsonl", "dataset_info.json", "answers.jsonl", "part.jsonl", "README.md"], OutputFolder.SideFiles);
        Assert.Equal(("data", "images", "manifest.json", "rejects.jsonl", ".staging", ".lock"),
            (OutputFolder.DataFolder, OutputFolder.ImagesFolder, OutputFolder.ManifestFile, OutputFolder.RejectsFile, OutputFolder.StagingFolder, OutputFolder.LockFile));
    }
}
