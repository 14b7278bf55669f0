using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MllmData.Tests.Images;

public class TheImageStage
{
    /// <summary>Real images copied into a scratch root at test time (never into the repository), plus crafted bad ones.</summary>
    private static readonly (string Name, string Source)[] Real =
    [
        ("waterview.jpg", TestPaths.RealFile("images", "llava", "waterview.jpg")),
        ("grey.jpg", TestPaths.RealFile("textvqa", "hf-dummy", "train_images", "005635e119b9f32f.jpg")),
        ("qjujW6d.png", TestPaths.RealFile("images", "neuraltalk", "qjujW6d.png")),
        ("exif2.jpg", TestPaths.RealFile("reference-outputs", "llama-factory", "mllm_demo_data", "2.jpg")),
        ("exif3.jpg", TestPaths.RealFile("reference-outputs", "llama-factory", "mllm_demo_data", "3.jpg")),
    ];

    private static string Root()
    {
        var root = TestPaths.NewTempDir();
        foreach (var (name, source) in Real)
        {
            File.Copy(source, Path.Combine(root, name));
        }

        var cat = File.ReadAllBytes(TestPaths.RealFile("images", "neuraltalk", "cat.jpg"));
        File.WriteAllBytes(Path.Combine(root, "truncated.jpg"), cat[..(cat.Length * 6 / 10)]);
        File.WriteAllBytes(Path.Combine(root, "empty.jpg"), []);
        File.WriteAllBytes(Path.Combine(root, "huge.png"), HugePngHeader(100_000, 100_000));
        File.WriteAllBytes(Path.Combine(root, "scan.tif"), [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
        return root;
    }

    /// <summary>A PNG signature and an IHDR chunk (with a correct CRC) declaring the given size, and nothing else.</summary>
    private static byte[] HugePngHeader(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        var chunk = new List<byte>();
        chunk.AddRange([0, 0, 0, 13]);
        var typeAndData = Encoding.ASCII.GetBytes("IHDR").Concat(ihdr).ToArray();
        chunk.AddRange(typeAndData);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typeAndData));
        chunk.AddRange(crc);
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. chunk];
    }

    private static string Rows(params string[] images)
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "rows.jsonl");
        File.WriteAllLines(file, images.Select((img, i) => JsonSerializer.Serialize(new Dictionary<string, string> { ["image"] = img, ["q"] = $"What is in picture {i}?", ["a"] = "something" })));
        return file;
    }

    private static string[] Build(string rows, string root, string output, params string[] extra) =>
        ["build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", "--image-root", root, "--format", "llava", "--out", output, .. extra];

    private static List<JsonElement> Lines(string path) => [.. File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public async Task Should_Give_Each_Bad_Image_Its_Own_Reason_And_Keep_Every_Good_One_Intact()
    {
        var root = Root();
        var output = TestPaths.NewTempDir();
        var rows = Rows("waterview.jpg", "truncated.jpg", "grey.jpg", "empty.jpg", "qjujW6d.png", "huge.png", "scan.tif", "../../etc/passwd", "missing.jpg", "exif2.jpg", "exif3.jpg");
        var r = await CliRunner.RunAsync(Build(rows, root, output, "--images", "reference"));
        Assert.Equal(0, r.ExitCode);

        var rejects = Lines(Path.Combine(output, "rejects.jsonl"));
        Assert.Equal(
            ["truncated", "empty-file", "too-many-pixels", "unknown-format", "image-outside-root", "missing-image"],
            rejects.Select(x => x.GetProperty("reason").GetString()));
        Assert.Equal(["jsonl-l2", "jsonl-l4", "jsonl-l6", "jsonl-l7", "jsonl-l8", "jsonl-l9"], rejects.Select(x => x.GetProperty("position").GetString()));

        var good = Lines(TestPaths.Shards(output).Single());
        Assert.Equal(["waterview.jpg", "grey.jpg", "qjujW6d.png", "exif2.jpg", "exif3.jpg"], good.Select(g => g.GetProperty("image").GetString()));
        var meta = good.Select(g => g.GetProperty("meta").GetProperty("images")[0]).ToList();

        // Progressive JPEG 1000x667, greyscale JPEG, RGB PNG 720x751: sizes, formats and the files' own sha256.
        Assert.Equal((1000, 667, "jpeg"), (meta[0].GetProperty("width").GetInt32(), meta[0].GetProperty("height").GetInt32(), meta[0].GetProperty("format").GetString()));
        Assert.Equal((720, 751, "png"), (meta[2].GetProperty("width").GetInt32(), meta[2].GetProperty("height").GetInt32(), meta[2].GetProperty("format").GetString()));
        Assert.Equal("4f335014cc4621e744542611499c853079d4e4b7215c14d1471158c87c083cef", meta[1].GetProperty("sha256").GetString());
        Assert.Equal("0e64ce34dc2bf99fb5083859c57bcee674b8bfece62e7d8425a87f986b3c074f", meta[3].GetProperty("sha256").GetString());

        var images = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "manifest.json"))).RootElement.GetProperty("images");
        Assert.Equal(11, images.GetProperty("checked").GetInt64());
        Assert.Equal(1, images.GetProperty("rejected").GetProperty("too-many-pixels").GetInt64());
    }

    [Fact]
    public async Task Should_Reject_Files_Over_The_Byte_Limit_And_Decodes_Over_The_Time_Budget()
    {
        var root = Root();
        var tooLarge = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync(Build(Rows("grey.jpg", "qjujW6d.png"), root, tooLarge, "--images", "reference", "--max-image-bytes", "200000"))).ExitCode);
        var reject = Lines(Path.Combine(tooLarge, "rejects.jsonl")).Single();
        Assert.Equal(("too-large", "jsonl-l2"), (reject.GetProperty("reason").GetString(), reject.GetProperty("position").GetString()));

        var slow = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync(Build(Rows("waterview.jpg"), root, slow, "--images", "copy", "--max-side", "336", "--decode-timeout", "0.000001", "--allow-empty"))).ExitCode);
        Assert.Equal("decode-timeout", Lines(Path.Combine(slow, "rejects.jsonl")).Single().GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Should_Stay_Under_512_MB_While_Refusing_A_100000_By_100000_Header()
    {
        var root = Root();
        var output = TestPaths.NewTempDir();
        var rows = Rows(Enumerable.Repeat("huge.png", 20).Append("waterview.jpg").ToArray());
        var psi = new ProcessStartInfo("/usr/bin/time") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-f", "peak-kb %M", "dotnet", Path.Combine(AppContext.BaseDirectory, "mllmdata.dll") }.Concat(Build(rows, root, output, "--images", "copy", "--max-side", "336")))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, stderr);
        var peakKb = long.Parse(stderr.Split('\n').Single(l => l.StartsWith("peak-kb ", StringComparison.Ordinal))["peak-kb ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(peakKb < 512 * 1024, $"peak {peakKb / 1024} MB");
        Assert.Equal(20, Lines(Path.Combine(output, "rejects.jsonl")).Count(x => x.GetProperty("reason").GetString() == "too-many-pixels"));
        Assert.Single(Lines(TestPaths.Shards(output).Single()));
    }

    [Fact]
    public async Task Should_Turn_An_Exif_Rotated_Image_Upright_When_Resizing()
    {
        var root = TestPaths.NewTempDir();

        // Stored landscape: left half red, right half blue; EXIF orientation 6 says "rotate 90° clockwise to view",
        // so upright it is portrait with red on top.
        using (var image = new Image<Rgb24>(200, 100))
        {
            image.ProcessPixelRows(rows =>
            {
                for (var y = 0; y < rows.Height; y++)
                {
                    var row = rows.GetRowSpan(y);
                    for (var x = 0; x < row.Length; x++)
                    {
                        row[x] = x < 100 ? new Rgb24(220, 20, 20) : new Rgb24(20, 20, 220);
                    }
                }
            });
            image.Metadata.ExifProfile = new ExifProfile();
            image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
            await image.SaveAsJpegAsync(Path.Combine(root, "rotated.jpg"));
        }

        var output = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync(Build(Rows("rotated.jpg"), root, output, "--images", "copy", "--max-side", "150"))).ExitCode);
        var record = Lines(TestPaths.Shards(output).Single()).Single();
        var path = record.GetProperty("image").GetString()!;
        Assert.StartsWith("images/", path, StringComparison.Ordinal);
        using var result = Image.Load<Rgb24>(Path.Combine(output, path));
        Assert.Equal((75, 150), (result.Width, result.Height));
        var top = result[37, 20];
        var bottom = result[37, 130];
        Assert.True(top.R > 150 && top.B < 100, $"top is {top}");
        Assert.True(bottom.B > 150 && bottom.R < 100, $"bottom is {bottom}");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(output, path)))), Path.GetFileNameWithoutExtension(path));
    }

    [Fact]
    public async Task Should_Embed_Resized_Images_For_OpenAi_That_Decode_And_Fit_10_MB()
    {
        var root = Root();
        var output = TestPaths.NewTempDir();
        var rows = Rows("waterview.jpg", "qjujW6d.png", "grey.jpg");
        Assert.Equal(0, (await CliRunner.RunAsync(["build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", "--image-root", root, "--format", "openai", "--max-side", "512", "--out", output])).ExitCode);
        foreach (var line in Lines(TestPaths.Shards(output).Single()))
        {
            var url = line.GetProperty("messages")[0].GetProperty("content")[1].GetProperty("image_url").GetProperty("url").GetString()!;
            var bytes = Convert.FromBase64String(url[(url.IndexOf(',', StringComparison.Ordinal) + 1)..]);
            Assert.True(bytes.Length <= 10 * 1024 * 1024);
            using var decoded = Image.Load<Rgb24>(bytes);
            Assert.True(Math.Max(decoded.Width, decoded.Height) <= 512);
        }
    }

    [Fact]
    public async Task Should_Report_And_On_Request_Drop_Exact_And_Near_Duplicates()
    {
        var root = Root();
        File.Copy(Path.Combine(root, "waterview.jpg"), Path.Combine(root, "waterview-copy.jpg"));
        using (var image = Image.Load<Rgb24>(Path.Combine(root, "waterview.jpg")))
        {
            image.Mutate(x => x.Resize(500, 333));
            await image.SaveAsJpegAsync(Path.Combine(root, "waterview-small.jpg"));
        }

        var rows = Rows("waterview.jpg", "grey.jpg", "waterview-copy.jpg", "waterview-small.jpg", "waterview.jpg");
        var reported = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync(Build(rows, root, reported, "--images", "reference"))).ExitCode);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(reported, "manifest.json"))).RootElement.GetProperty("images");
        Assert.Equal((1, 1), (summary.GetProperty("exact_duplicates").GetInt64(), summary.GetProperty("near_duplicates").GetInt64()));
        Assert.Equal(5, Lines(TestPaths.Shards(reported).Single()).Count);

        var dropped = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync(Build(rows, root, dropped, "--images", "reference", "--dedup-images"))).ExitCode);
        Assert.Equal(["duplicate-image", "near-duplicate-image"], Lines(Path.Combine(dropped, "rejects.jsonl")).Select(x => x.GetProperty("reason").GetString()));

        // The same image under the same path (several questions on one picture) is not a repeat.
        Assert.Equal(["jsonl-l1", "jsonl-l2", "jsonl-l5"], Lines(TestPaths.Shards(dropped).Single()).Select(x => x.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Should_Write_The_Same_Bytes_Whatever_Order_The_Parallel_Work_Finishes_In()
    {
        var captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
        var images = TestPaths.RealFile("coco-mini", "val2017");
        var a = TestPaths.NewTempDir();
        var b = TestPaths.NewTempDir();
        foreach (var dir in new[] { a, b })
        {
            Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={captions}", "--image-root", images, "--images", "copy", "--center-crop", "224", "--format", "llava", "--out", dir)).ExitCode);
        }

        Assert.Equal(File.ReadAllBytes(TestPaths.Shards(a).Single()), File.ReadAllBytes(TestPaths.Shards(b).Single()));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "manifest.json")), File.ReadAllBytes(Path.Combine(b, "manifest.json")));
        Assert.Equal(79, Directory.GetFiles(Path.Combine(a, "images")).Length);
        using var first = Image.Load<Rgb24>(Directory.GetFiles(Path.Combine(a, "images")).First());
        Assert.Equal((224, 224), (first.Width, first.Height));
    }
}
