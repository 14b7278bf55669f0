using System.Security.Cryptography;
using System.Text;
using MllmData.Output;

namespace MllmData.Tests.Mutation;

/// <summary>
/// The shard writer's exact bounds, names, bytes and split reasons, pinned in process so that mutants of
/// <see cref="ShardWriter"/> fail (see docs/mutation.md).
/// </summary>
public class ShardWriterMutationTests
{
    /// <summary>A JSON line of exactly <paramref name="size"/> bytes, newline included.</summary>
    private static byte[] Line(int size, char fill = 'a')
    {
        var body = "{\"t\":\"" + new string(fill, size - 9) + "\"}\n";
        var bytes = Encoding.UTF8.GetBytes(body);
        Assert.Equal(size, bytes.Length);
        return bytes;
    }

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void A_Record_Limit_Of_Zero_Or_Less_Is_Refused_And_One_Is_Accepted()
    {
        var dir = TestPaths.NewTempDir();
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => new ShardWriter(dir, "n", 0));
        Assert.Equal("maxRecords", zero.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShardWriter(dir, "n", -1));

        using var one = new ShardWriter(dir, "n", 1);
        one.WriteLine(Line(12));
        one.WriteLine(Line(12));
        var shards = one.Complete();
        Assert.Equal(["n-00000-of-00002.jsonl", "n-00001-of-00002.jsonl"], shards.Select(s => s.Path));
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("Coco_val-2017.v2", true)]
    [InlineData("9lives", true)]
    [InlineData(".hidden", false)]
    [InlineData("-dash", false)]
    [InlineData("a b", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void Dataset_Names_Are_Letters_Digits_Dot_Underscore_Dash_Not_Leading_With_A_Dot(string name, bool accepted)
    {
        var dir = TestPaths.NewTempDir();
        if (accepted)
        {
            using var writer = new ShardWriter(dir, name, 5);
            writer.WriteLine(Line(12));
            Assert.Equal(name + "-00000-of-00001.jsonl", Assert.Single(writer.Complete()).Path);
        }
        else
        {
            var ex = Assert.Throws<ArgumentException>(() => new ShardWriter(dir, name, 5));
            Assert.Equal("name", ex.ParamName);
            Assert.StartsWith($"dataset name '{name}' may use only letters, digits, '.', '_' and '-'", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_Constructor_Creates_The_Folder()
    {
        var dir = Path.Combine(TestPaths.NewTempDir(), "deep", "data");
        using var writer = new ShardWriter(dir, "n", 3);
        Assert.True(Directory.Exists(dir));
    }

    [Theory]
    [InlineData("jsonl", ".jsonl")]
    [InlineData("json", ".json")]
    [InlineData("other", ".jsonl")]
    public void The_Extension_Follows_The_Container(string container, string extension)
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 3, container: container);
        Assert.Equal(extension, writer.Extension);
    }

    [Fact]
    public void A_Shard_Closes_At_Exactly_The_Record_Limit_With_No_Split_Reason()
    {
        var dir = TestPaths.NewTempDir();
        using var writer = new ShardWriter(dir, "n", 3);
        var lines = Enumerable.Range(0, 7).Select(i => Line(12 + i)).ToArray();
        foreach (var l in lines)
        {
            writer.WriteLine(l);
        }

        Assert.Equal(7, writer.Records);
        var shards = writer.Complete();
        Assert.Null(writer.SplitReason);
        Assert.Equal(["n-00000-of-00003.jsonl", "n-00001-of-00003.jsonl", "n-00002-of-00003.jsonl"], shards.Select(s => s.Path));
        Assert.Equal([3L, 3L, 1L], shards.Select(s => s.Records));
        Assert.Equal(lines[..3].Concat(lines[3..6]).Concat(lines[6..]).Sum(l => (long)l.Length), shards.Sum(s => s.Bytes));
        Assert.Equal([12L + 13 + 14, 15L + 16 + 17, 18L], shards.Select(s => s.Bytes));
        Assert.Equal(lines[3..6].SelectMany(l => l).ToArray(), File.ReadAllBytes(Path.Combine(dir, shards[1].Path)));
        foreach (var s in shards)
        {
            Assert.Equal(Sha(Path.Combine(dir, s.Path)), s.Sha256);
            Assert.Equal(new FileInfo(Path.Combine(dir, s.Path)).Length, s.Bytes);
        }

        Assert.Equal(shards.Select(s => s.Path).Order(StringComparer.Ordinal), Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_Shard_Holds_Records_Up_To_Exactly_The_Byte_Bound_And_Splits_For_Bytes()
    {
        var dir = TestPaths.NewTempDir();
        using var writer = new ShardWriter(dir, "n", 100, maxBytes: 40);
        writer.WriteLine(Line(20));
        writer.WriteLine(Line(20)); // 20 + 20 == 40 fits
        Assert.Null(writer.SplitReason);
        writer.WriteLine(Line(20)); // 40 + 20 > 40 splits
        Assert.Equal("bytes", writer.SplitReason);
        for (var i = 0; i < 4; i++)
        {
            writer.WriteLine(Line(20));
        }

        var shards = writer.Complete();
        Assert.Equal("bytes", writer.SplitReason);
        Assert.Equal([2L, 2L, 2L, 1L], shards.Select(s => s.Records));
        Assert.Equal([40L, 40L, 40L, 20L], shards.Select(s => s.Bytes));
    }

    [Fact]
    public void One_Byte_Under_The_Bound_Gives_One_Record_Per_Shard()
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 39);
        writer.WriteLine(Line(20));
        writer.WriteLine(Line(20));
        writer.WriteLine(Line(19));
        var shards = writer.Complete();
        Assert.Equal([1L, 2L], shards.Select(s => s.Records));
        Assert.Equal([20L, 39L], shards.Select(s => s.Bytes));
        Assert.Equal("bytes", writer.SplitReason);
    }

    [Fact]
    public void A_Record_Larger_Than_The_Byte_Bound_Still_Gets_A_Shard_Of_Its_Own()
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 15);
        writer.WriteLine(Line(30));
        writer.WriteLine(Line(30));
        var shards = writer.Complete();
        Assert.Equal([1L, 1L], shards.Select(s => s.Records));
        Assert.Equal([30L, 30L], shards.Select(s => s.Bytes));
        Assert.Equal("bytes", writer.SplitReason);
    }

    [Fact]
    public void Without_A_Byte_Bound_Size_Never_Splits()
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 0);
        for (var i = 0; i < 4; i++)
        {
            writer.WriteLine(Line(200));
        }

        var shard = Assert.Single(writer.Complete());
        Assert.Equal(4, shard.Records);
        Assert.Null(writer.SplitReason);
    }

    [Fact]
    public void A_Record_Split_After_A_Byte_Split_Keeps_The_Byte_Reason()
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 2, maxBytes: 30);
        writer.WriteLine(Line(20));
        writer.WriteLine(Line(20)); // bytes
        writer.WriteLine(Line(10)); // 2 records: the record bound
        writer.WriteLine(Line(10));
        var shards = writer.Complete();
        Assert.Equal([1L, 2L, 1L], shards.Select(s => s.Records));
        Assert.Equal("bytes", writer.SplitReason);
    }

    [Fact]
    public void The_Upload_Byte_Limit_Applies_When_No_Byte_Bound_Is_Given_And_Names_Its_Reason()
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 0, upload: new ShardLimits(40, 1000, "openai-upload"));
        writer.WriteLine(Line(20));
        writer.WriteLine(Line(20));
        writer.WriteLine(Line(20));
        var shards = writer.Complete();
        Assert.Equal([2L, 1L], shards.Select(s => s.Records));
        Assert.Equal("openai-upload", writer.SplitReason);
    }

    [Fact]
    public void The_Smaller_Of_The_Byte_Bound_And_The_Upload_Limit_Applies()
    {
        using var tighterUpload = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 100, upload: new ShardLimits(40, 1000, "upload"));
        using var tighterBound = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 40, upload: new ShardLimits(100, 1000, "upload"));
        for (var i = 0; i < 3; i++)
        {
            tighterUpload.WriteLine(Line(20));
            tighterBound.WriteLine(Line(20));
        }

        Assert.Equal([2L, 1L], tighterUpload.Complete().Select(s => s.Records));
        Assert.Equal("upload", tighterUpload.SplitReason);
        Assert.Equal([2L, 1L], tighterBound.Complete().Select(s => s.Records));
        Assert.Equal("bytes", tighterBound.SplitReason);
    }

    [Fact]
    public void Image_Records_Split_At_Exactly_The_Upload_Image_Limit_And_Text_Records_Do_Not_Count()
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 100, upload: new ShardLimits(1_000_000, 2, "images-per-file"));
        writer.WriteLine(Line(12), hasImages: true);
        writer.WriteLine(Line(12), hasImages: false);
        writer.WriteLine(Line(12), hasImages: true);
        writer.WriteLine(Line(12), hasImages: false); // two image records so far: a text record still fits
        Assert.Null(writer.SplitReason);
        writer.WriteLine(Line(12), hasImages: true); // the third image record starts a new shard
        Assert.Equal("images-per-file", writer.SplitReason);
        writer.WriteLine(Line(12), hasImages: true);
        writer.WriteLine(Line(12), hasImages: true); // image count restarts in each shard
        var shards = writer.Complete();
        Assert.Equal([4L, 2L, 1L], shards.Select(s => s.Records));
    }

    [Fact]
    public void Without_Upload_Limits_Image_Records_Never_Split()
    {
        using var writer = new ShardWriter(TestPaths.NewTempDir(), "n", 100);
        for (var i = 0; i < 5; i++)
        {
            writer.WriteLine(Line(12), hasImages: true);
        }

        Assert.Equal(5, Assert.Single(writer.Complete()).Records);
        Assert.Null(writer.SplitReason);
    }

    [Fact]
    public void The_Json_List_Container_Writes_Exactly_A_List_Of_The_Records()
    {
        var dir = TestPaths.NewTempDir();
        using var writer = new ShardWriter(dir, "n", 2, container: "json");
        writer.WriteLine("{\"a\":1}\n"u8);
        writer.WriteLine("{\"b\":2}\n"u8);
        writer.WriteLine("{\"c\":3}\n"u8);
        var shards = writer.Complete();
        Assert.Equal(["n-00000-of-00002.json", "n-00001-of-00002.json"], shards.Select(s => s.Path));
        Assert.Equal("[\n{\"a\":1},\n{\"b\":2}\n]\n", File.ReadAllText(Path.Combine(dir, shards[0].Path)));
        Assert.Equal("[\n{\"c\":3}\n]\n", File.ReadAllText(Path.Combine(dir, shards[1].Path)));
        Assert.Equal([21L, 12L], shards.Select(s => s.Bytes));
        Assert.Equal([2L, 1L], shards.Select(s => s.Records));
        Assert.Equal(Sha(Path.Combine(dir, shards[0].Path)), shards[0].Sha256);
        Assert.Equal(Sha(Path.Combine(dir, shards[1].Path)), shards[1].Sha256);
    }

    [Fact]
    public void In_A_Json_List_Each_Record_Counts_Two_Bytes_More_Against_The_Bound()
    {
        // "[" + "\n" + the 10-byte record = 12; the next record counts 11 + 2 = 13: 12 + 13 = 25 fits a bound of 25 and not of 24.
        using var fits = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 25, container: "json");
        using var splits = new ShardWriter(TestPaths.NewTempDir(), "n", 100, maxBytes: 24, container: "json");
        foreach (var w in new[] { fits, splits })
        {
            w.WriteLine("{\"a\":\"xx\"}\n"u8);
            w.WriteLine("{\"a\":\"xx\"}\n"u8);
        }

        Assert.Equal(2, Assert.Single(fits.Complete()).Records);
        Assert.Equal([1L, 1L], splits.Complete().Select(s => s.Records));
        Assert.Equal("bytes", splits.SplitReason);
        Assert.Null(fits.SplitReason);
    }

    [Fact]
    public void Paths_Are_Listed_Relative_To_A_Folder_With_Forward_Slashes()
    {
        var root = TestPaths.NewTempDir();
        using var writer = new ShardWriter(Path.Combine(root, "data"), "n", 5);
        writer.WriteLine(Line(12));
        Assert.Equal("data/n-00000-of-00001.jsonl", Assert.Single(writer.Complete(root)).Path);
        Assert.True(File.Exists(Path.Combine(root, "data", "n-00000-of-00001.jsonl")));
    }

    [Fact]
    public void While_Writing_Shards_Have_Hidden_Temporary_Names_Numbered_From_Zero()
    {
        var dir = TestPaths.NewTempDir();
        using var writer = new ShardWriter(dir, "n", 1, container: "json");
        writer.WriteLine(Line(12));
        writer.WriteLine(Line(12));
        Assert.Equal([".n-00000.json.tmp", ".n-00001.json.tmp"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Completing_With_No_Records_Gives_No_Shards()
    {
        var dir = TestPaths.NewTempDir();
        using var writer = new ShardWriter(dir, "n", 5);
        Assert.Empty(writer.Complete());
        Assert.Empty(Directory.GetFiles(dir));
        Assert.Equal(0, writer.Records);
    }

    [Fact]
    public void Abort_Deletes_Every_Temporary_Shard()
    {
        var dir = TestPaths.NewTempDir();
        var writer = new ShardWriter(dir, "n", 1);
        writer.WriteLine(Line(12));
        writer.WriteLine(Line(12));
        writer.WriteLine(Line(12));
        Assert.Equal(3, Directory.GetFiles(dir).Length);
        writer.Abort();
        Assert.Empty(Directory.GetFiles(dir));
        Assert.Empty(writer.Complete());
    }

    [Fact]
    public void Disposing_An_Uncompleted_Writer_Deletes_Its_Shards_And_A_Completed_One_Keeps_Them()
    {
        var abandoned = TestPaths.NewTempDir();
        using (var writer = new ShardWriter(abandoned, "n", 1))
        {
            writer.WriteLine(Line(12));
            writer.WriteLine(Line(12));
        }

        Assert.Empty(Directory.GetFiles(abandoned));

        var kept = TestPaths.NewTempDir();
        using (var writer = new ShardWriter(kept, "n", 1))
        {
            writer.WriteLine(Line(12));
            writer.WriteLine(Line(12));
            writer.Complete();
        }

        Assert.Equal(["n-00000-of-00002.jsonl", "n-00001-of-00002.jsonl"], Directory.GetFiles(kept).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
