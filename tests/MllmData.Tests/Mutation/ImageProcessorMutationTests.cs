using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Security.Cryptography;
using MllmData.Formats;
using MllmData.Images;
using MllmData.Records;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace MllmData.Tests.Mutation;

/// <summary>The image processor called directly: every reason code, its boundary, and what each mode writes.</summary>
public partial class ImageProcessorMutationTests
{
    private readonly string _root = TestPaths.NewTempDir();
    private readonly string _out = TestPaths.NewTempDir();

    private static Image<Rgb24> Picture(int width, int height)
    {
        var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgb24((byte)(x * 255 / width), (byte)(y * 255 / height), (byte)((x + y) % 2 * 200));
            }
        }

        return image;
    }

    private static byte[] Encode(Image image, IImageEncoder encoder)
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    private static byte[] Jpeg(int width, int height, JpegColorType color = JpegColorType.YCbCrRatio420, ushort? orientation = null)
    {
        using var image = Picture(width, height);
        if (orientation is { } o)
        {
            image.Metadata.ExifProfile = new ExifProfile();
            image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, o);
        }

        return Encode(image, new JpegEncoder { Quality = 90, ColorType = color });
    }

    private static byte[] Png(int width, int height, PngColorType color = PngColorType.Rgb)
    {
        using var image = Picture(width, height);
        return Encode(image, new PngEncoder { ColorType = color });
    }

    private string Put(string name, byte[] bytes)
    {
        File.WriteAllBytes(Path.Combine(_root, name), bytes);
        return name;
    }

    private ImageProcessor Processor(ImageSettings settings) => new(settings, _root, _out);

    private Task<ImageOutcome> Run(ImageSettings settings, string name) => Processor(settings).ProcessAsync(new ImageRef(name));

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static ImageSettings Mode(string mode) => new() { Mode = mode };

    private static void Refused(ImageOutcome outcome, string reason, string detail)
    {
        Assert.Equal((reason, detail), (outcome.Reason, outcome.Detail));
        Assert.Null(outcome.Image);
        Assert.Null(outcome.SourceSha256);
        Assert.Null(outcome.PerceptualHash);
    }

    [Fact]
    public async Task An_Empty_File_Is_Empty()
    {
        Refused(await Run(Mode("reference"), Put("e.jpg", [])), "empty-file", "e.jpg is empty");
    }

    [Fact]
    public async Task A_File_Of_Exactly_Max_Bytes_Is_Taken_And_One_Byte_Less_Refuses_It()
    {
        var bytes = Jpeg(16, 8);
        var name = Put("a.jpg", bytes);
        var taken = await Run(new ImageSettings { Mode = "reference", MaxBytes = bytes.Length }, name);
        Assert.Null(taken.Reason);
        Assert.NotNull(taken.Image);

        Refused(await Run(new ImageSettings { Mode = "reference", MaxBytes = bytes.Length - 1 }, name), "too-large", $"a.jpg is {bytes.Length} bytes; at most {bytes.Length - 1}");
    }

    [Fact]
    public async Task Formats_Without_A_Decoder_Are_Unknown_And_Named_By_Their_Signature()
    {
        Refused(await Run(Mode("reference"), Put("s.tif", [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00])), "unknown-format", "s.tif: image/tiff is not an accepted format");
        Refused(await Run(Mode("reference"), Put("n.jpg", "hello, not a picture"u8.ToArray())), "unknown-format", "n.jpg: not an image is not an accepted format");

        using var image = Picture(8, 8);
        var webp = Put("w.webp", Encode(image, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless }));
        var gif = Put("g.gif", Encode(image, new GifEncoder()));
        Refused(await Run(Mode("reference"), webp), "unknown-format", "w.webp: image/webp is not an accepted format");
        Refused(await Run(Mode("reference"), gif), "unknown-format", "g.gif: image/gif is not an accepted format");
    }

    [Fact]
    public async Task WebP_And_Gif_Are_Read_When_Allowed_And_Keep_Their_Own_Extension_Untouched()
    {
        using var image = Picture(8, 6);
        var webpBytes = Encode(image, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
        var settings = new ImageSettings { Mode = "copy", AllowWebpGif = true };
        var webp = await Run(settings, Put("w.webp", webpBytes));
        Assert.Null(webp.Reason);
        Assert.Equal(($"images/{Sha(webpBytes)}.webp", 8, 6, "webp", Sha(webpBytes)), (webp.Image!.Path, webp.Image.Width, webp.Image.Height, webp.Image.Format, webp.Image.Sha256));
        Assert.Equal(webpBytes, File.ReadAllBytes(Path.Combine(_out, webp.Image.Path)));

        var gifBytes = Encode(image, new GifEncoder());
        var gif = await Run(settings, Put("g.gif", gifBytes));
        Assert.Equal(($"images/{Sha(gifBytes)}.gif", "gif"), (gif.Image!.Path, gif.Image.Format));
    }

    [Fact]
    public async Task A_Side_Of_Exactly_Max_Side_Pixels_Is_Taken_And_One_More_Is_Too_Many()
    {
        var wide = Put("wide.png", Png(20, 10));
        var tall = Put("tall.png", Png(10, 20));
        Assert.Null((await Run(new ImageSettings { Mode = "reference", MaxSidePixels = 20 }, wide)).Reason);
        Assert.Null((await Run(new ImageSettings { Mode = "reference", MaxSidePixels = 20 }, tall)).Reason);
        Refused(await Run(new ImageSettings { Mode = "reference", MaxSidePixels = 19 }, wide), "too-many-pixels", "wide.png declares 20x10; at most 19 a side and 40000000 pixels");
        Refused(await Run(new ImageSettings { Mode = "reference", MaxSidePixels = 19 }, tall), "too-many-pixels", "tall.png declares 10x20; at most 19 a side and 40000000 pixels");
    }

    [Fact]
    public async Task Exactly_Max_Pixels_Is_Taken_And_One_Less_Refuses_The_Image()
    {
        var name = Put("p.png", Png(20, 10));
        Assert.Null((await Run(new ImageSettings { Mode = "reference", MaxPixels = 200 }, name)).Reason);
        Refused(await Run(new ImageSettings { Mode = "reference", MaxPixels = 199 }, name), "too-many-pixels", "p.png declares 20x10; at most 16384 a side and 199 pixels");
    }

    [Fact]
    public async Task A_Jpeg_May_Have_Up_To_1022_Bytes_After_Its_End_Marker()
    {
        var jpeg = Jpeg(64, 48);
        Assert.Equal([0xFF, 0xD9], jpeg[^2..]);
        Assert.Null((await Run(Mode("reference"), Put("ok.jpg", [.. jpeg, .. new byte[1022]]))).Reason);
        Refused(await Run(Mode("reference"), Put("pad.jpg", [.. jpeg, .. new byte[1023]])), "truncated", "pad.jpg: the JPEG data ends before its end marker");
        Refused(await Run(Mode("reference"), Put("cut.jpg", jpeg[..^2])), "truncated", "cut.jpg: the JPEG data ends before its end marker");
    }

    [Fact]
    public async Task A_Png_May_Have_Up_To_56_Bytes_After_Its_End_Chunk()
    {
        var png = Png(64, 48);
        Assert.Equal("IEND"u8.ToArray(), png[^8..^4]);
        Assert.Null((await Run(Mode("reference"), Put("ok.png", [.. png, .. new byte[56]]))).Reason);
        Refused(await Run(Mode("reference"), Put("pad.png", [.. png, .. new byte[57]])), "truncated", "pad.png: the PNG data ends before its end marker");
        Refused(await Run(Mode("reference"), Put("cut.png", png[..^12])), "truncated", "cut.png: the PNG data ends before its end marker");
    }

    [Fact]
    public async Task The_End_Marker_Is_Looked_For_Only_In_The_Last_Kilobyte()
    {
        // An end marker early in a long file does not make it complete: 2000 bytes of padding after the real end.
        var jpeg = Jpeg(64, 48);
        Refused(await Run(Mode("reference"), Put("long.jpg", [.. jpeg, .. new byte[2000]])), "truncated", "long.jpg: the JPEG data ends before its end marker");
    }

    [Fact]
    public async Task Png_Text_That_Inflates_Past_8_MiB_Is_Refused_Before_Decoding_And_Exactly_8_MiB_Is_Read()
    {
        Assert.Null((await Run(Mode("reference"), Put("ok.png", WithZtxt(Png(8, 8), (int)PngTextCheck.DefaultMaxBytes)))).Reason);
        Refused(await Run(Mode("reference"), Put("bomb.png", WithZtxt(Png(8, 8), (int)PngTextCheck.DefaultMaxBytes + 1))), "metadata-too-large", "bomb.png: its text or profile chunks inflate to more than 8388608 bytes");
    }

    /// <summary>The PNG with a zTXt chunk (valid CRC) after its IHDR whose text inflates to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] WithZtxt(byte[] png, int size)
    {
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            z.Write(Enumerable.Repeat((byte)'a', size).ToArray());
        }

        byte[] typeAndData = [.. "zTXtComment"u8, 0, 0, .. compressed.ToArray()];
        var chunk = new byte[4 + typeAndData.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(chunk, typeAndData.Length - 4);
        typeAndData.CopyTo(chunk, 4);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4 + typeAndData.Length), Crc32.HashToUInt32(typeAndData));
        const int afterIhdr = 8 + 25;
        return [.. png[..afterIhdr], .. chunk, .. png[afterIhdr..]];
    }

    [Fact]
    public async Task A_Png_With_A_Broken_Checksum_Has_An_Unreadable_Header()
    {
        var png = Png(32, 32);
        png[png.AsSpan().IndexOf("IDAT"u8) + 8] ^= 0xFF;
        Refused(await Run(Mode("reference"), Put("bad.png", png)), "corrupt", "bad.png: unreadable header (InvalidImageContentException)");
    }

    [Fact]
    public async Task A_Png_Whose_Compressed_Pixels_Are_Damaged_Cannot_Be_Decoded()
    {
        // The chunk checksum is made right again, so only inflating the pixels finds the damage.
        var png = Png(32, 32);
        var type = png.AsSpan().IndexOf("IDAT"u8);
        var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(type - 4));
        for (var i = type + 6; i < type + 4 + length; i++)
        {
            png[i] = 0xFF;
        }

        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(type + 4 + length), Crc32.HashToUInt32(png.AsSpan(type, 4 + length)));
        Refused(await Run(Mode("reference"), Put("bad.png", png)), "corrupt", "bad.png: cannot be decoded (InvalidDataException)");
    }

    [Fact]
    public async Task Reference_Keeps_The_Path_And_Records_Size_Format_And_Source_Hash()
    {
        var bytes = Jpeg(40, 30);
        var outcome = await Run(Mode("reference"), Put("r.jpg", bytes));
        Assert.Null(outcome.Reason);
        Assert.Null(outcome.Detail);
        Assert.Equal(("r.jpg", 40, 30, "jpeg", Sha(bytes)), (outcome.Image!.Path, outcome.Image.Width, outcome.Image.Height, outcome.Image.Format, outcome.Image.Sha256));
        Assert.Equal(Sha(bytes), outcome.SourceSha256);
        Assert.NotNull(outcome.PerceptualHash);
        Assert.Null(outcome.Image.Bytes);
        Assert.False(Directory.Exists(Path.Combine(_out, "images")));

        var png = await Run(Mode("reference"), Put("r.png", Png(12, 7)));
        Assert.Equal((12, 7, "png"), (png.Image!.Width, png.Image.Height, png.Image.Format));
    }

    [Fact]
    public async Task Copy_Without_Changes_Writes_The_Original_Bytes_Under_Their_Hash_And_Nothing_Else()
    {
        var jpeg = Jpeg(40, 30);
        var png = Png(12, 7);
        var outcome = await Run(Mode("copy"), Put("c.jpg", jpeg));
        var pngOutcome = await Run(Mode("copy"), Put("c.png", png));
        Assert.Equal(($"images/{Sha(jpeg)}.jpg", 40, 30, "jpeg", Sha(jpeg), Sha(jpeg)), (outcome.Image!.Path, outcome.Image.Width, outcome.Image.Height, outcome.Image.Format, outcome.Image.Sha256, outcome.SourceSha256));
        Assert.Equal(($"images/{Sha(png)}.png", "png"), (pngOutcome.Image!.Path, pngOutcome.Image.Format));
        Assert.Equal(jpeg, File.ReadAllBytes(Path.Combine(_out, outcome.Image.Path)));
        Assert.Equal(png, File.ReadAllBytes(Path.Combine(_out, pngOutcome.Image.Path)));
        Assert.Equal([$"{Sha(jpeg)}.jpg", $"{Sha(png)}.png"], Directory.GetFiles(Path.Combine(_out, "images")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.NotNull(outcome.PerceptualHash);
        Assert.Null(outcome.Image.Bytes);
    }

    [Fact]
    public async Task Copy_Of_A_File_Already_There_Leaves_It_Alone()
    {
        var jpeg = Jpeg(40, 30);
        var images = Directory.CreateDirectory(Path.Combine(_out, "images")).FullName;
        var target = Path.Combine(images, $"{Sha(jpeg)}.jpg");
        File.WriteAllBytes(target, jpeg);
        var written = File.GetLastWriteTimeUtc(target);
        File.SetLastWriteTimeUtc(target, written.AddDays(-1));
        var outcome = await Run(Mode("copy"), Put("c.jpg", jpeg));
        Assert.Equal($"images/{Sha(jpeg)}.jpg", outcome.Image!.Path);
        Assert.Equal(written.AddDays(-1), File.GetLastWriteTimeUtc(target));
        Assert.Single(Directory.GetFiles(images));
    }

    [Fact]
    public async Task Max_Side_Shrinks_Only_An_Image_Whose_Longer_Side_Is_Longer()
    {
        var name = Put("m.png", Png(40, 20));
        var shrunk = await Run(new ImageSettings { Mode = "copy", MaxSide = 20 }, name);
        Assert.Equal((20, 10, "png"), (shrunk.Image!.Width, shrunk.Image.Height, shrunk.Image.Format));
        using (var written = Image.Load(Path.Combine(_out, shrunk.Image.Path)))
        {
            Assert.Equal((20, 10), (written.Width, written.Height));
        }

        Assert.Equal(Sha(File.ReadAllBytes(Path.Combine(_out, shrunk.Image.Path))), shrunk.Image.Sha256);

        var kept = await Run(new ImageSettings { Mode = "copy", MaxSide = 40 }, name);
        Assert.Equal((40, 20), (kept.Image!.Width, kept.Image.Height));
    }

    [Fact]
    public async Task Center_Crop_Gives_A_Square_Of_The_Side_Asked()
    {
        var outcome = await Run(new ImageSettings { Mode = "copy", CenterCrop = 8 }, Put("c.jpg", Jpeg(40, 20)));
        Assert.Equal((8, 8, "jpeg"), (outcome.Image!.Width, outcome.Image.Height, outcome.Image.Format));
        Assert.EndsWith(".jpg", outcome.Image.Path, StringComparison.Ordinal);
        using var written = Image.Load(Path.Combine(_out, outcome.Image.Path));
        Assert.Equal((8, 8), (written.Width, written.Height));
    }

    [Fact]
    public async Task Jpeg_Quality_Is_The_One_Asked()
    {
        var name = Put("q.jpg", Jpeg(64, 64));
        var low = await Run(new ImageSettings { Mode = "embed", MaxSide = 32, JpegQuality = 20 }, name);
        var high = await Run(new ImageSettings { Mode = "embed", MaxSide = 32, JpegQuality = 95 }, name);
        Assert.True(low.Image!.Bytes!.Length < high.Image!.Bytes!.Length, $"{low.Image.Bytes.Length} vs {high.Image.Bytes.Length}");
        using var decoded = Image.Load(high.Image.Bytes, out var format);
        Assert.IsType<JpegFormat>(format);
        Assert.Equal(95, decoded.Metadata.GetJpegMetadata().Quality);
    }

    [Fact]
    public async Task An_Exif_Rotated_Image_Is_Written_Upright_And_Orientation_One_Is_Left_As_It_Is()
    {
        var rotated = await Run(Mode("copy"), Put("r6.jpg", Jpeg(40, 20, orientation: 6)));
        Assert.Equal((20, 40), (rotated.Image!.Width, rotated.Image.Height));
        using (var written = Image.Load(Path.Combine(_out, rotated.Image.Path)))
        {
            Assert.Equal((20, 40), (written.Width, written.Height));
        }

        var upright = Jpeg(40, 20, orientation: 1);
        var kept = await Run(Mode("copy"), Put("r1.jpg", upright));
        Assert.Equal((40, 20, Sha(upright)), (kept.Image!.Width, kept.Image.Height, kept.Image.Sha256));
    }

    [Fact]
    public async Task Only_When_Rgb_Is_Required_Is_A_Grey_Or_Palette_Image_Converted()
    {
        var grey = Jpeg(24, 24, JpegColorType.Luminance);
        var palette = Png(24, 24, PngColorType.Palette);
        var rgb = Jpeg(24, 24);

        var untouched = await Run(Mode("embed"), Put("grey.jpg", grey));
        Assert.Equal(grey, untouched.Image!.Bytes);
        Assert.Equal("image/jpeg", untouched.Image.MediaType);

        var rgbOnly = new ImageSettings { Mode = "embed", RequireRgb = true };
        var converted = await Run(rgbOnly, "grey.jpg");
        Assert.NotEqual(grey, converted.Image!.Bytes);
        Assert.Equal((Sha(converted.Image.Bytes!), Sha(grey)), (converted.Image.Sha256, converted.SourceSha256));
        using (var decoded = Image.Load(converted.Image.Bytes!, out var format))
        {
            Assert.True(ImageProcessor.IsRgb(decoded, format));
        }

        var pngOut = await Run(rgbOnly, Put("pal.png", palette));
        Assert.Equal("image/png", pngOut.Image!.MediaType);
        using (var decoded = Image.Load(pngOut.Image.Bytes!, out var format))
        {
            Assert.Equal(PngColorType.Rgb, decoded.Metadata.GetPngMetadata().ColorType);
            Assert.IsType<PngFormat>(format);
        }

        Assert.Equal(rgb, (await Run(rgbOnly, Put("rgb.jpg", rgb))).Image!.Bytes);
    }

    [Theory]
    [InlineData(PngColorType.Rgb, true)]
    [InlineData(PngColorType.RgbWithAlpha, true)]
    [InlineData(PngColorType.Grayscale, false)]
    [InlineData(PngColorType.GrayscaleWithAlpha, false)]
    [InlineData(PngColorType.Palette, false)]
    public void Png_Is_Rgb_Only_With_Rgb_Colour_Types(PngColorType color, bool rgb)
    {
        using var image = Image.Load(Png(8, 8, color), out var format);
        Assert.Equal(rgb, ImageProcessor.IsRgb(image, format));
    }

    [Theory]
    [InlineData(JpegColorType.YCbCrRatio420, true)]
    [InlineData(JpegColorType.YCbCrRatio444, true)]
    [InlineData(JpegColorType.Luminance, false)]
    public void Jpeg_Is_Rgb_Unless_Grey_Or_Cmyk(JpegColorType color, bool rgb)
    {
        using var image = Image.Load(Jpeg(8, 8, color), out var format);
        Assert.Equal(rgb, ImageProcessor.IsRgb(image, format));
    }

    [Fact]
    public void Other_Formats_Are_Not_Taken_As_Rgb()
    {
        using var picture = Picture(8, 8);
        using var image = Image.Load(Encode(picture, new GifEncoder()), out var format);
        Assert.False(ImageProcessor.IsRgb(image, format));
    }

    [Fact]
    public async Task Embed_Carries_The_Bytes_And_Media_Type_In_The_Record_And_Writes_No_File()
    {
        var bytes = Jpeg(40, 30);
        var outcome = await Run(Mode("embed"), Put("e.jpg", bytes));
        Assert.Equal(("e.jpg", "image/jpeg", "jpeg", Sha(bytes)), (outcome.Image!.Path, outcome.Image.MediaType, outcome.Image.Format, outcome.Image.Sha256));
        Assert.Equal(bytes, outcome.Image.Bytes);
        Assert.False(Directory.Exists(Path.Combine(_out, "images")));
    }

    [Fact]
    public async Task An_Embedded_Image_Over_10_MiB_After_Processing_Is_Image_Too_Large()
    {
        // Noise does not compress: 1900 x 1900 RGB pixels make a PNG of about 10.8 MB.
        var pixels = new byte[1900 * 1900 * 3];
        new Random(7).NextBytes(pixels);
        using var noise = Image.LoadPixelData<Rgb24>(pixels, 1900, 1900);
        var png = Encode(noise, new PngEncoder { ColorType = PngColorType.Rgb, CompressionLevel = PngCompressionLevel.NoCompression });
        Assert.True(png.Length > ImageMedia.MaxEmbeddedBytes);
        var outcome = await Run(Mode("embed"), Put("noise.png", png));
        Assert.Equal((RejectReasons.ImageTooLarge, $"noise.png is {png.Length} bytes after processing; embedded images may be at most {10L * 1024 * 1024}"), (outcome.Reason, outcome.Detail));
        Assert.Null(outcome.Image);
    }

    [Fact]
    public async Task A_Missing_File_Is_Refused_With_The_Root_Checks_Reason()
    {
        Refused(await Run(Mode("reference"), "nothing.jpg"), RejectReasons.MissingImage, $"no file nothing.jpg under {_root}");
        Refused(await Run(Mode("reference"), "../x.jpg"), RejectReasons.ImageOutsideRoot, "image path '../x.jpg' leaves the image root");
    }

    /// <summary>A PNG chunk with its length and a right CRC.</summary>
    private static byte[] Chunk(string type, byte[] data)
    {
        byte[] typeAndData = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        var chunk = new byte[4 + typeAndData.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        typeAndData.CopyTo(chunk, 4);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4 + typeAndData.Length), Crc32.HashToUInt32(typeAndData));
        return chunk;
    }

    /// <summary>The PNG with a private ancillary chunk (which decoders skip) of <paramref name="size"/> data bytes after its IHDR.</summary>
    private static byte[] WithPrivateChunk(byte[] png, int size)
    {
        const int afterIhdr = 8 + 25;
        return [.. png[..afterIhdr], .. Chunk("prVt", new byte[size]), .. png[afterIhdr..]];
    }

    /// <summary>
    /// An 8x6 lossless PNG of <see cref="Picture"/> whose EXIF orientation is <paramref name="orientation"/>; stored
    /// without compression, so any re-encoding (which compresses) gives other bytes.
    /// </summary>
    private static byte[] OrientedPng(ushort orientation)
    {
        using var image = Picture(8, 6);
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, orientation);
        return Encode(image, new PngEncoder { ColorType = PngColorType.Rgb, CompressionLevel = PngCompressionLevel.NoCompression });
    }

    /// <summary>Whether <paramref name="file"/> holds, pixel for pixel, <see cref="Picture"/>(8, 6) seen through <paramref name="source"/> (output x, y → source x, y).</summary>
    private static void PixelsAre(byte[] file, int width, int height, Func<int, int, (int X, int Y)> source)
    {
        using var picture = Picture(8, 6);
        using var written = Image.Load<Rgb24>(file);
        Assert.Equal((width, height), (written.Width, written.Height));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (sx, sy) = source(x, y);
                Assert.True(picture[sx, sy] == written[x, y], $"({x},{y}) is {written[x, y]}, expected {picture[sx, sy]} from ({sx},{sy})");
            }
        }
    }

    [Fact]
    public async Task A_Copy_Is_Turned_Upright_By_Its_Exif_Orientation_Pixel_For_Pixel()
    {
        // 6: the stored picture is turned a quarter clockwise to stand upright; 8: a quarter anticlockwise; 3: half a turn; 2: mirrored.
        var six = await Run(Mode("copy"), Put("o6.png", OrientedPng(6)));
        Assert.Equal((6, 8), (six.Image!.Width, six.Image.Height));
        PixelsAre(File.ReadAllBytes(Path.Combine(_out, six.Image.Path)), 6, 8, (x, y) => (y, 5 - x));

        var eight = await Run(Mode("copy"), Put("o8.png", OrientedPng(8)));
        PixelsAre(File.ReadAllBytes(Path.Combine(_out, eight.Image!.Path)), 6, 8, (x, y) => (7 - y, x));

        var three = await Run(Mode("embed"), Put("o3.png", OrientedPng(3)));
        PixelsAre(three.Image!.Bytes!, 8, 6, (x, y) => (7 - x, 5 - y));

        // 2 is the smallest value that changes the picture: it is re-encoded, mirrored; 1 leaves the file's bytes as they are.
        var twoBytes = OrientedPng(2);
        var two = await Run(Mode("embed"), Put("o2.png", twoBytes));
        Assert.Equal((8, 6, "image/png"), (two.Image!.Width, two.Image.Height, two.Image.MediaType));
        Assert.NotEqual(twoBytes, two.Image.Bytes);
        PixelsAre(two.Image.Bytes!, 8, 6, (x, y) => (7 - x, y));

        var oneBytes = OrientedPng(1);
        var one = await Run(Mode("embed"), Put("o1.png", oneBytes));
        Assert.Equal(oneBytes, one.Image!.Bytes);
    }

    [Fact]
    public async Task Reference_Hashes_The_Upright_Picture_And_Reports_The_Size_As_Stored()
    {
        // The perceptual hash is of the picture as seen upright, so it matches the same picture stored upright.
        using var picture = Picture(8, 6);
        using var turned = new Image<Rgb24>(6, 8);
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 6; x++)
            {
                turned[x, y] = picture[y, 5 - x];
            }
        }

        var upright = await Run(Mode("reference"), Put("up.png", Encode(turned, new PngEncoder { ColorType = PngColorType.Rgb })));
        var plain = await Run(Mode("reference"), Put("plain.png", Encode(picture, new PngEncoder { ColorType = PngColorType.Rgb })));
        var oriented = await Run(Mode("reference"), Put("o6.png", OrientedPng(6)));
        Assert.NotEqual(plain.PerceptualHash, upright.PerceptualHash);
        Assert.Equal(upright.PerceptualHash, oriented.PerceptualHash);

        // The file is referenced as it is: its size is the stored one.
        Assert.Equal((8, 6, "o6.png"), (oriented.Image!.Width, oriented.Image.Height, oriented.Image.Path));
    }

    [Fact]
    public async Task An_Embedded_Image_Of_Exactly_10_MiB_Is_Taken_And_One_Byte_More_Is_Image_Too_Large()
    {
        var png = Png(8, 6);
        var room = (int)ImageMedia.MaxEmbeddedBytes - png.Length - 12;
        var exact = WithPrivateChunk(png, room);
        Assert.Equal(10 * 1024 * 1024, exact.Length);
        var taken = await Run(Mode("embed"), Put("exact.png", exact));
        Assert.Null(taken.Reason);
        Assert.Equal(exact, taken.Image!.Bytes);

        var over = WithPrivateChunk(png, room + 1);
        Refused(await Run(Mode("embed"), Put("over.png", over)), RejectReasons.ImageTooLarge, $"over.png is {10 * 1024 * 1024 + 1} bytes after processing; embedded images may be at most 10485760");

        // Copies have no such bound.
        Assert.Null((await Run(Mode("copy"), "over.png")).Reason);
    }

    [Fact]
    public async Task Pixels_Beyond_The_Allocation_Cap_Are_Too_Many_Pixels_Whether_Decoding_Or_Resizing()
    {
        // 1000 x 1000 RGB pixels need about 3 MB: over a cap of 1 MB, under 4.
        var big = Put("big.png", Png(1000, 1000));
        Refused(await Run(new ImageSettings { Mode = "reference", AllocationLimitMegabytes = 1 }, big), "too-many-pixels", "big.png needs more than 1 MB to decode");
        Assert.Null((await Run(new ImageSettings { Mode = "reference", AllocationLimitMegabytes = 4 }, big)).Reason);

        // A small picture cropped to a large square: the resize asks for the memory.
        var small = Put("small.png", Png(8, 6));
        Refused(await Run(new ImageSettings { Mode = "embed", CenterCrop = 1000, AllocationLimitMegabytes = 1 }, small), "too-many-pixels", "small.png needs more than 1 MB to process");
        var cropped = await Run(new ImageSettings { Mode = "embed", CenterCrop = 1000, AllocationLimitMegabytes = 4 }, small);
        Assert.Equal((1000, 1000), (cropped.Image!.Width, cropped.Image.Height));
    }

    [Fact]
    public async Task A_Header_Whose_Reading_Needs_More_Than_The_Allocation_Cap_Is_Too_Many_Pixels()
    {
        // The decoder reads a chunk into one buffer: 3 MB of it is over a cap of 1 MB.
        var name = Put("chunk.png", WithPrivateChunk(Png(8, 6), 3_000_000));
        Refused(await Run(new ImageSettings { Mode = "reference", AllocationLimitMegabytes = 1 }, name), "too-many-pixels", "chunk.png: reading its header needs more than 1 MB");
        Assert.Null((await Run(new ImageSettings { Mode = "reference", AllocationLimitMegabytes = 4 }, name)).Reason);
    }

    [Fact]
    public async Task A_Png_Variant_The_Decoder_Does_Not_Support_Is_Not_An_Accepted_Format()
    {
        // Colour type 1 does not exist: the header is rewritten (with its CRC) to say it.
        var png = Png(8, 6);
        png[8 + 8 + 9] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(8 + 8 + 13), Crc32.HashToUInt32(png.AsSpan(12, 17)));
        Refused(await Run(Mode("reference"), Put("odd.png", png)), "unknown-format", "odd.png: image/png is not an accepted format");
    }

    [Fact]
    public async Task Failing_To_Write_A_Copy_Stops_The_Run_But_Any_Other_Failure_After_Decoding_Refuses_The_Image()
    {
        // The copy's place is taken by a folder: writing fails, and that is the disk's problem, not the image's.
        var png = Png(8, 6);
        var name = Put("c.png", png);
        Directory.CreateDirectory(Path.Combine(_out, "images", $"{Sha(png)}.png"));
        await Assert.ThrowsAsync<IOException>(() => Run(Mode("copy"), name));

        // A failure in the steps after decoding (here a crop to nothing) refuses the image alone.
        Refused(await Run(new ImageSettings { Mode = "embed", CenterCrop = 0 }, name), "corrupt", "c.png: cannot be decoded (InvalidOperationException)");
    }

    [Fact]
    public async Task An_Image_That_Takes_Longer_Than_The_Budget_Is_A_Decode_Timeout()
    {
        // A budget of a tenth of a microsecond: no decode of a 2000 x 2000 picture ends within it.
        var name = Put("slow.png", Png(2000, 2000));
        Refused(await Run(new ImageSettings { Mode = "reference", DecodeTimeout = 1e-7 }, name), "decode-timeout", "slow.png took longer than 0 s to decode");
    }
}
