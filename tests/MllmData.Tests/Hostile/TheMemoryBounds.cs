using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace MllmData.Tests.Hostile;

/// <summary>Inputs built to exhaust memory are rejects with a reason, and the process stays small (measured in a child).</summary>
public class TheMemoryBounds
{
    private static readonly string Jpeg = TestPaths.RealFile("coco-mini", "val2017", "000000000139.jpg");

    private static string Rows(string dir, IEnumerable<string> images)
    {
        var rows = Path.Combine(dir, "rows.jsonl");
        File.WriteAllLines(rows, images.Select(p => JsonSerializer.Serialize(new Dictionary<string, string> { ["image"] = p, ["q"] = "What is it?", ["a"] = "a cat" })));
        return rows;
    }

    private static string[] Build(string rows, string root, string format, string outDir, params string[] extra) =>
        ["build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", "--image-root", root, "--format", format, "--out", outDir, .. extra];

    private static byte[] Chunk(string type, ReadOnlySpan<byte> data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.HashToUInt32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    /// <summary>A valid 8x8 PNG carrying a zTXt chunk of <paramref name="inflatedMegabytes"/> MB of zeros, compressed.</summary>
    private static byte[] PngWithTextBomb(int inflatedMegabytes)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, 8);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), 8);
        (ihdr[8], ihdr[9]) = (8, 2);
        static byte[] Zlib(Action<Stream> write)
        {
            using var buffer = new MemoryStream();
            using (var z = new ZLibStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                write(z);
            }

            return buffer.ToArray();
        }

        var zeros = new byte[1 << 20];
        var text = Zlib(z =>
        {
            for (var i = 0; i < inflatedMegabytes; i++)
            {
                z.Write(zeros);
            }
        });
        var pixels = Zlib(z =>
        {
            for (var y = 0; y < 8; y++)
            {
                z.WriteByte(0);
                z.Write(Enumerable.Repeat((byte)0x80, 24).ToArray());
            }
        });
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. Chunk("IHDR", ihdr), .. Chunk("zTXt", [.. "Comment"u8, 0, 0, .. text]), .. Chunk("IDAT", pixels), .. Chunk("IEND", [])];
    }

    [Fact]
    public async Task Should_Reject_A_Png_Text_Bomb_Before_Decoding_And_Stay_Under_200_MB()
    {
        var root = TestPaths.NewTempDir();
        File.WriteAllBytes(Path.Combine(root, "bomb.png"), PngWithTextBomb(1024));
        File.Copy(Jpeg, Path.Combine(root, "ok.jpg"));
        var outDir = TestPaths.NewTempDir();
        var r = await PeakMemory.RunAsync(Build(Rows(TestPaths.NewTempDir(), ["bomb.png", "ok.jpg"]), root, "llava", outDir, "--images", "reference"));

        Assert.True(r.ExitCode == 0, r.Error);
        Assert.True(r.PeakMegabytes < 200, $"peak {r.PeakMegabytes} MB");
        var reject = Assert.Single(HostileFile.Rejects(outDir));
        Assert.Equal(("jsonl-l1", "metadata-too-large"), (reject.Str("position"), reject.Str("reason")));
        Assert.Single(HostileFile.Records(outDir));
    }

    [Fact]
    public async Task Should_Skip_A_Jsonl_Line_Of_100_MB_Without_Holding_It()
    {
        var dir = TestPaths.NewTempDir();
        var rows = Path.Combine(dir, "rows.jsonl");
        using (var w = new FileStream(rows, FileMode.Create))
        {
            w.Write("{\"q\":\"before?\",\"a\":\"yes\"}\n{\"q\":\""u8);
            var block = new byte[1 << 20];
            block.AsSpan().Fill((byte)'x');
            for (var i = 0; i < 100; i++)
            {
                w.Write(block);
            }

            w.Write("\"}\n{\"q\":\"after?\",\"a\":\"no\"}\n"u8);
        }

        var outDir = TestPaths.NewTempDir();
        var r = await PeakMemory.RunAsync("build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "question=q", "--map", "answer=a", "--format", "llava", "--out", outDir);

        Assert.True(r.ExitCode == 0, r.Error);
        // The bound covers the fixed cost of the dataset card's o200k tokenizer (its vocabulary, about 50 MB whatever the input:
        // 129 MB before the card, 176 MB with it), never the 100 MB line.
        Assert.True(r.PeakMegabytes < 200, $"peak {r.PeakMegabytes} MB");
        Assert.Equal(["jsonl-l1", "jsonl-l3"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        var reject = Assert.Single(HostileFile.Rejects(outDir));
        Assert.Equal(("line 2", "line-too-long"), (reject.Str("position"), reject.Str("reason")));
        Assert.StartsWith("the line is 104857608 bytes long", reject.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Skip_An_Instruction_Line_Of_100_MB_Without_Holding_It()
    {
        var dir = TestPaths.NewTempDir();
        var rows = Path.Combine(dir, "alpaca.jsonl");
        using (var w = new FileStream(rows, FileMode.Create))
        {
            w.Write("{\"instruction\":\"before?\",\"output\":\"yes\"}\n{\"instruction\":\""u8);
            var block = new byte[1 << 20];
            block.AsSpan().Fill((byte)'x');
            for (var i = 0; i < 100; i++)
            {
                w.Write(block);
            }

            w.Write("\",\"output\":\"x\"}\n{\"instruction\":\"after?\",\"output\":\"no\"}\n"u8);
        }

        var outDir = TestPaths.NewTempDir();
        var r = await PeakMemory.RunAsync("build", "--adapter", "instructions", "--input", $"file={rows}", "--format", "llava", "--out", outDir);

        Assert.True(r.ExitCode == 0, r.Error);
        // The bound of the jsonl test beside it: the dataset card's tokenizer is a fixed cost, not growth with the input.
        Assert.True(r.PeakMegabytes < 200, $"peak {r.PeakMegabytes} MB");
        Assert.Equal(["instructions-l1", "instructions-l3"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        var reject = Assert.Single(HostileFile.Rejects(outDir));
        Assert.Equal(("line 2", "line-too-long"), (reject.Str("position"), reject.Str("reason")));
    }

    [Fact]
    public async Task Should_Embed_For_OpenAi_Without_Memory_Growing_With_The_Number_Of_Images()
    {
        // Real pixels padded with 2 MB of JPEG comment segments: cheap to decode, heavy to carry.
        var source = File.ReadAllBytes(Jpeg);
        var root = TestPaths.NewTempDir();
        var names = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            using var file = new FileStream(Path.Combine(root, $"img{i}.jpg"), FileMode.Create);
            file.Write(source.AsSpan(0, 2));
            var body = new byte[65000];
            for (var k = 0; k < 32; k++)
            {
                body.AsSpan().Fill((byte)(i + k));
                file.Write([0xFF, 0xFE, (byte)((body.Length + 2) >> 8), (byte)((body.Length + 2) & 0xFF)]);
                file.Write(body);
            }

            file.Write(source.AsSpan(2));
            names.Add($"img{i}.jpg");
        }

        var few = await PeakMemory.RunAsync(Build(Rows(TestPaths.NewTempDir(), names.Take(10)), root, "openai", TestPaths.NewTempDir()));
        var outDir = TestPaths.NewTempDir();
        var many = await PeakMemory.RunAsync(Build(Rows(TestPaths.NewTempDir(), names), root, "openai", outDir));

        Assert.True(few.ExitCode == 0 && many.ExitCode == 0, few.Error + many.Error);
        Assert.Equal(60, HostileFile.Records(outDir).Count);

        // Holding the 50 extra images (2 MB each, plus their base64 text) would add over 400 MB; the collector's timing varies by tens.
        Assert.True(many.PeakMegabytes < few.PeakMegabytes + 150 && many.PeakMegabytes < 400, $"10 images: {few.PeakMegabytes} MB, 60 images: {many.PeakMegabytes} MB");
    }

    [Theory]
    [InlineData("sharegpt", "--images", "embed")]
    [InlineData("openai")]
    [InlineData("m3it")]
    public async Task Should_Write_Embedded_Parquet_Holding_One_Row_Group_Whatever_The_Number_Of_Images(string format, params string[] extra)
    {
        // 2 MB images (real pixels, padded with comment segments of random bytes), 8 MB row groups: the writer holds one group, never the shard.
        var source = File.ReadAllBytes(Jpeg);
        var root = TestPaths.NewTempDir();
        var names = new List<string>();
        for (var i = 0; i < 80; i++)
        {
            using var file = new FileStream(Path.Combine(root, $"img{i}.jpg"), FileMode.Create);
            file.Write(source.AsSpan(0, 2));
            var body = new byte[65000];
            for (var k = 0; k < 32; k++)
            {
                new Random((i * 64) + k).NextBytes(body); // incompressible, as photos are
                file.Write([0xFF, 0xFE, (byte)((body.Length + 2) >> 8), (byte)((body.Length + 2) & 0xFF)]);
                file.Write(body);
            }

            file.Write(source.AsSpan(2));
            names.Add($"img{i}.jpg");
        }

        string[] parquet = [.. extra, "--container", "parquet", "--row-group-bytes", "8000000"];
        var few = await PeakMemory.RunAsync(Build(Rows(TestPaths.NewTempDir(), names.Take(10)), root, format, TestPaths.NewTempDir(), parquet));
        var outDir = TestPaths.NewTempDir();
        var many = await PeakMemory.RunAsync(Build(Rows(TestPaths.NewTempDir(), names), root, format, outDir, parquet));
        Assert.True(few.ExitCode == 0 && many.ExitCode == 0, few.Error + many.Error);
        var shard = Assert.Single(TestPaths.Shards(outDir));
        // The images' bytes once (no copies in statistics of string columns), not fewer (nothing compressed them away).
        Assert.InRange(new FileInfo(shard).Length, 165_000_000, 185_000_000);
        Assert.Equal(80, MllmData.Formats.ShardReader.ParquetRows(shard).Count());

        // Holding the 70 extra images (140 MB, more as base64 lines and rows) would add well over 300 MB; the collector's timing varies by tens.
        Assert.True(many.PeakMegabytes < few.PeakMegabytes + 150 && many.PeakMegabytes < 550, $"10 images: {few.PeakMegabytes} MB, 80 images: {many.PeakMegabytes} MB");
    }

    [Fact]
    public async Task Should_Reject_Jpegs_With_Damaged_Headers_Whatever_The_Decoder_Throws()
    {
        // Byte flips that made ImageSharp throw NullReferenceException (and others) inside Identify or Load.
        (int Offset, byte Value)[][] flips =
        [
            [(356, 147), (90, 176)],
            [(136, 174), (159, 146), (444, 129), (582, 31), (540, 140), (377, 49)],
            [(274, 186), (250, 242), (339, 43), (553, 162), (231, 43), (158, 177), (102, 177), (329, 113)],
        ];
        var source = File.ReadAllBytes(Jpeg);
        var root = TestPaths.NewTempDir();
        var names = new List<string>();
        for (var i = 0; i < flips.Length; i++)
        {
            var bytes = (byte[])source.Clone();
            foreach (var (offset, value) in flips[i])
            {
                bytes[offset] = value;
            }

            File.WriteAllBytes(Path.Combine(root, $"fuzz{i}.jpg"), bytes);
            names.Add($"fuzz{i}.jpg");
        }

        // A start-of-frame that claims 65500 x 65500 pixels.
        var liar = (byte[])source.Clone();
        var sof = liar.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xC0]);
        BinaryPrimitives.WriteUInt16BigEndian(liar.AsSpan(sof + 5), 65500);
        BinaryPrimitives.WriteUInt16BigEndian(liar.AsSpan(sof + 7), 65500);
        File.WriteAllBytes(Path.Combine(root, "liar.jpg"), liar);
        File.Copy(Jpeg, Path.Combine(root, "ok.jpg"));

        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(Build(Rows(TestPaths.NewTempDir(), [.. names, "liar.jpg", "ok.jpg"]), root, "llava", outDir, "--images", "reference"));
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(["jsonl-l5"], HostileFile.Records(outDir).Select(x => x.Str("id")));
        Assert.Equal(
            [("jsonl-l1", "corrupt"), ("jsonl-l2", "corrupt"), ("jsonl-l3", "corrupt"), ("jsonl-l4", "too-many-pixels")],
            HostileFile.Rejects(outDir).Select(x => (x.Str("position"), x.Str("reason"))));
    }
}
