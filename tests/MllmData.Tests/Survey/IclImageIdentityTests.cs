using MllmData.Images;
using MllmData.Pipeline.Steps;
using MllmData.Records;
using MllmData.Tests.Models;

namespace MllmData.Tests.Survey;

/// <summary>In-context examples never show the query's picture, whatever name its file has; an unusable pool says why.</summary>
public sealed class IclImageIdentityTests
{
    private static readonly string Coco = TestPaths.RealFile("coco-mini", "val2017");

    /// <summary>An image root with two real COCO images, a byte copy of the first under another name, and a same-size file with other bytes.</summary>
    private static string Root()
    {
        var root = TestPaths.NewTempDir();
        File.Copy(Path.Combine(Coco, "000000000139.jpg"), Path.Combine(root, "a.jpg"));
        File.Copy(Path.Combine(Coco, "000000000139.jpg"), Path.Combine(root, "a-copy.jpg"));
        File.Copy(Path.Combine(Coco, "000000000802.jpg"), Path.Combine(root, "b.jpg"));
        var other = File.ReadAllBytes(Path.Combine(root, "a.jpg"));
        other[^3] ^= 0x01;
        File.WriteAllBytes(Path.Combine(root, "a-same-size.jpg"), other);
        return root;
    }

    [Fact]
    public void Two_Names_Of_The_Same_Bytes_Are_One_Image_And_Files_Are_Hashed_Only_When_Sizes_Meet()
    {
        var identity = new ImageIdentity(new ImageRootCheck(Root()));

        Assert.True(identity.Same(new ImageRef("a.jpg"), new ImageRef("a.jpg")));
        Assert.Equal(0, identity.Hashed);
        Assert.False(identity.Same(new ImageRef("a.jpg"), new ImageRef("b.jpg")));
        Assert.Equal(0, identity.Hashed);
        Assert.True(identity.Same(new ImageRef("a.jpg"), new ImageRef("a-copy.jpg")));
        Assert.Equal(2, identity.Hashed);
        Assert.False(identity.Same(new ImageRef("a.jpg"), new ImageRef("a-same-size.jpg")));
        Assert.Equal(3, identity.Hashed);

        // Missing files, paths outside the root and inline images are never the same as anything under another name.
        Assert.False(identity.Same(new ImageRef("missing.jpg"), new ImageRef("missing-too.jpg")));
        Assert.False(identity.Same(new ImageRef("../a.jpg"), new ImageRef("a.jpg")));
        Assert.False(identity.Same(new ImageRef("a.jpg") { Inline = true }, new ImageRef("a-copy.jpg")));
        Assert.False(new ImageIdentity(null).Same(new ImageRef("a.jpg"), new ImageRef("a-copy.jpg")));
    }

    private static InstructionRecord Record(string id, string image) => new()
    {
        Id = id,
        Source = "s",
        Task = "vqa",
        Images = [new ImageRef(image)],
        Turns = [new Turn { Instruction = "What is shown?", Output = "answer " + id }],
        Provenance = new Provenance { Adapter = "test", File = "f.json" },
    };

    [Fact]
    public void A_Copy_Of_The_Querys_Image_Is_Not_Chosen_As_An_Example_And_Two_Examples_Never_Share_A_Picture()
    {
        var identity = new ImageIdentity(new ImageRootCheck(Root()));
        var pool = new IclPool(seed: 3, capacity: 16);
        Assert.True(pool.Offer(Record("copy", "a-copy.jpg"), "vqa"));
        Assert.True(pool.Offer(Record("other", "b.jpg"), "vqa"));
        Assert.True(pool.Offer(Record("twin", "a-same-size.jpg"), "vqa"));

        // By path alone the copy would do; by content only the two others are left.
        Assert.NotNull(pool.Choose(Record("q", "a.jpg"), 3, IclStep.OrderSeeded));
        Assert.Null(pool.Choose(Record("q", "a.jpg"), 3, IclStep.OrderSeeded, identity));
        var two = pool.Choose(Record("q", "a.jpg"), 2, IclStep.OrderSeeded, identity);
        Assert.Equal(["other", "twin"], two!.Select(c => c.Id).Order(StringComparer.Ordinal));

        // A query on b.jpg: the copy and its original are one picture, so they never stand side by side.
        var pool2 = new IclPool(seed: 3, capacity: 16);
        pool2.Offer(Record("x", "a.jpg"), "vqa");
        pool2.Offer(Record("y", "a-copy.jpg"), "vqa");
        Assert.Null(pool2.Choose(Record("q", "b.jpg"), 2, IclStep.OrderSeeded, identity));
        Assert.Single(pool2.Choose(Record("q", "b.jpg"), 1, IclStep.OrderSeeded, identity)!);
    }

    [Fact]
    public async Task A_Pool_With_No_Usable_Line_Is_Named_With_What_Its_Lines_Were()
    {
        var dir = TestPaths.NewTempDir();
        var pool = Path.Combine(dir, "pool.jsonl");
        File.WriteAllText(pool, "not json at all\n[1, 2]\n{\"hello\": \"world\"}\n{\"conversations\":[{\"from\":\"human\",\"value\":\"Hi\"},{\"from\":\"gpt\",\"value\":\"Hello\"}]}\n");

        var r = await ChildCli.RunAsync(new Dictionary<string, string>(),
        [
            "build", "--adapter", "coco-captions", "--input", $"captions={TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json")}",
            "--format", "llava", "--icl-shots", "1", "--icl-pool", pool, "--allow-empty", "--out", Path.Combine(dir, "out"),
        ]);

        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains($"--icl-pool {pool}: no line is a solved single-image record to use as an example for source ", r.Error, StringComparison.Ordinal);
        Assert.Contains("not-json 1", r.Error, StringComparison.Ordinal);
        Assert.Contains("not-object 1", r.Error, StringComparison.Ordinal);
        Assert.Contains("unknown-format 1", r.Error, StringComparison.Ordinal);
        Assert.Contains("not-a-solved-single-image-record 1", r.Error, StringComparison.Ordinal);
    }
}
