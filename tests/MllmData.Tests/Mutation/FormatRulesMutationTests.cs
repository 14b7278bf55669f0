using System.Security.Cryptography;
using System.Text.Json;
using MllmData.Formats;
using MllmData.Records;

namespace MllmData.Tests.Mutation;

/// <summary>
/// Each capability boundary of <see cref="FormatRules"/> and the read-back pieces of <see cref="ReadBack"/>, pinned
/// so that their mutants fail (see docs/mutation.md).
/// </summary>
public class FormatRulesMutationTests
{
    private sealed class Fake(FormatCapabilities capabilities) : IOutputFormat
    {
        public string Name => "fake";

        public string Description => "a format for tests";

        public string Consumer => "nobody";

        public FormatCapabilities Capabilities { get; } = capabilities;

        public void Render(InstructionRecord record, Utf8JsonWriter w, RenderOptions options) => throw new NotSupportedException();

        public IFormatValidator CreateValidator(RenderOptions options) => throw new NotSupportedException();
    }

    private static InstructionRecord Record(int images, int turns, string? system = null) => new()
    {
        Id = "r1",
        Source = "s",
        Task = "vqa",
        System = system,
        Images = [.. Enumerable.Range(0, images).Select(i => new ImageRef($"img{i}.jpg"))],
        Turns = [.. Enumerable.Range(0, turns).Select(i => new Turn { Instruction = $"q{i}", Output = $"a{i}" })],
        Provenance = new Provenance { Adapter = "a", File = "f" },
    };

    private static (string Reason, string Detail)? Refuse(FormatCapabilities c, InstructionRecord r) =>
        FormatRules.Refuse(new Fake(c), r, new RenderOptions());

    [Fact]
    public void The_Reason_Codes_Are_The_Shared_Ones()
    {
        Assert.Equal("unsupported-shape", FormatRules.UnsupportedShape);
        Assert.Equal("unsupported-system", FormatRules.UnsupportedSystem);
        Assert.Equal("too-many-images", FormatRules.TooManyImages);
    }

    [Fact]
    public void A_Record_That_Fits_Every_Capability_Is_Not_Refused()
    {
        Assert.Null(Refuse(new FormatCapabilities(), Record(images: 3, turns: 4)));
        Assert.Null(Refuse(new FormatCapabilities { SystemMessage = true }, Record(images: 1, turns: 1, system: "be brief")));
    }

    [Fact]
    public void A_Single_Turn_Format_Takes_One_Turn_And_Refuses_Two()
    {
        var single = new FormatCapabilities { MultiTurn = false };
        Assert.Null(Refuse(single, Record(images: 1, turns: 1)));
        Assert.Equal(("unsupported-shape", "fake holds single-turn records; this one has 2 turns (build without --group-by-image)"), Refuse(single, Record(images: 1, turns: 2)));
    }

    [Fact]
    public void A_Single_Image_Format_Takes_One_Image_And_Refuses_Two()
    {
        var single = new FormatCapabilities { MultiImage = false };
        Assert.Null(Refuse(single, Record(images: 1, turns: 1)));
        Assert.Equal(("unsupported-shape", "fake holds one image per record; this one has 2"), Refuse(single, Record(images: 2, turns: 1)));
    }

    [Fact]
    public void A_Maximum_Image_Count_Takes_Exactly_The_Maximum_And_Refuses_One_More()
    {
        var ten = new FormatCapabilities { MaxImages = 10 };
        Assert.Null(Refuse(ten, Record(images: 10, turns: 1)));
        Assert.Equal(("too-many-images", "11 images; fake takes at most 10 per record"), Refuse(ten, Record(images: 11, turns: 1)));
        Assert.Null(Refuse(new FormatCapabilities(), Record(images: 50, turns: 1)));
    }

    [Fact]
    public void The_Turn_Rule_Comes_Before_The_Image_Rules()
    {
        var strict = new FormatCapabilities { MultiTurn = false, MultiImage = false, MaxImages = 1, TextOnly = false };
        Assert.Equal("fake holds single-turn records; this one has 3 turns (build without --group-by-image)", Refuse(strict, Record(images: 5, turns: 3))!.Value.Detail);
        Assert.Equal("fake holds one image per record; this one has 5", Refuse(strict, Record(images: 5, turns: 1))!.Value.Detail);
        Assert.Equal("unsupported-shape", Refuse(strict, Record(images: 0, turns: 1))!.Value.Reason);
    }

    [Fact]
    public void An_Image_Only_Format_Refuses_A_Record_Without_Images_And_Takes_One_With_An_Image()
    {
        var images = new FormatCapabilities { TextOnly = false };
        Assert.Equal(("unsupported-shape", "fake needs an image in every record; this one has none"), Refuse(images, Record(images: 0, turns: 1)));
        Assert.Null(Refuse(images, Record(images: 1, turns: 1)));
        Assert.Null(Refuse(new FormatCapabilities(), Record(images: 0, turns: 1)));
    }

    [Fact]
    public void A_Format_Without_System_Messages_Refuses_A_Non_Empty_One_Only()
    {
        var none = new FormatCapabilities { SystemMessage = false };
        Assert.Equal(("unsupported-system", "fake has no system message; the record carries one"), Refuse(none, Record(images: 1, turns: 1, system: "x")));
        Assert.Null(Refuse(none, Record(images: 1, turns: 1, system: "")));
        Assert.Null(Refuse(none, Record(images: 1, turns: 1, system: null)));
    }

    [Fact]
    public void The_Default_Refuse_Of_A_Format_Is_The_Shared_Rule()
    {
        IOutputFormat format = new Fake(new FormatCapabilities { MultiImage = false });
        Assert.Equal(("unsupported-shape", "fake holds one image per record; this one has 3"), format.Refuse(Record(images: 3, turns: 1), new RenderOptions()));
    }

    [Fact]
    public void A_Record_Read_Back_Carries_Its_Origin_And_Is_An_Instruction_Or_Text_Task()
    {
        var withImage = ReadBack.Record("id7", new LineOrigin("in.jsonl", 12), ["a.jpg", "https://x/b.png"], "sys", [new Turn { Instruction = "q", Output = "a" }]);
        Assert.Equal("id7", withImage.Id);
        Assert.Equal("instructions", withImage.Source);
        Assert.Equal("instructions", withImage.Task);
        Assert.Equal("sys", withImage.System);
        Assert.Equal(["a.jpg", "https://x/b.png"], withImage.Images.Select(i => i.Path));
        Assert.Equal("q", Assert.Single(withImage.Turns).Instruction);
        Assert.Equal("instructions", withImage.Provenance.Adapter);
        Assert.Equal("in.jsonl", withImage.Provenance.File);
        Assert.Equal([new KeyValuePair<string, string>("line", "12")], withImage.Provenance.Ids);

        var text = ReadBack.Record("id8", new LineOrigin("in.jsonl", 1234567), [], null, []);
        Assert.Equal("text", text.Task);
        Assert.Equal("1234567", text.Provenance.Ids[0].Value);
    }

    [Theory]
    [InlineData("<image>\nWhat is it?", "What is it?")]
    [InlineData("What is it?\n<image>", "What is it?")]
    [InlineData("What <image> is it?", "What  is it?")]
    [InlineData("  <image>\nWhat?  ", "What?")]
    [InlineData("<image>\n<image>\nTwo?", "Two?")]
    [InlineData("No token here  ", "No token here  ")]
    [InlineData("<imag>\nclose", "<imag>\nclose")]
    public void Placeholders_Are_Taken_Out_With_Their_Line_Break_And_The_Ends_Trimmed(string text, string expected)
    {
        Assert.Equal(expected, ReadBack.WithoutPlaceholders(text, "<image>"));
    }

    [Theory]
    [InlineData("<ima<image>\nge>\nWhat?", "What?")] // the cut forms a second token: taken out as well
    [InlineData("\n<image>", "")]
    [InlineData("<image>", "")]
    [InlineData("a\n<image>\nb", "a\nb")]
    [InlineData("a\n<image>b", "ab")]
    public void One_Placeholder_Goes_With_The_Line_Break_After_It_Else_The_One_Before(string text, string expected)
    {
        Assert.Equal(expected, ReadBack.WithoutPlaceholders(text, "<image>"));
    }

    [Fact]
    public void Taking_Placeholders_Out_Agrees_With_Three_Plain_Replacements_On_Random_Text()
    {
        // The reference: every "token + line break", then every "line break + token", then every token left, then trimmed.
        static string Reference(string text, string token) => text.Contains(token, StringComparison.Ordinal)
            ? text.Replace(token + "\n", "", StringComparison.Ordinal).Replace("\n" + token, "", StringComparison.Ordinal).Replace(token, "", StringComparison.Ordinal).Trim()
            : text;
        var random = new Random(7);
        string[] pieces = ["<image>", "<ima", "ge>", "\n", " ", "a", "<", ">", "image"];
        var differing = new List<string>();
        for (var n = 0; n < 20_000; n++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 7)).Select(_ => pieces[random.Next(pieces.Length)]));
            if (ReadBack.WithoutPlaceholders(text, "<image>") != Reference(text, "<image>"))
            {
                differing.Add(text);
            }
        }

        Assert.Empty(differing);
    }

    [Fact]
    public void Characters_Not_Yet_A_String_Lose_Their_Placeholders_As_The_String_Does()
    {
        // The card cuts a user message while it is still characters: the same text as the string way, on random text.
        var random = new Random(11);
        string[] pieces = ["<image>", "<ima", "ge>", "\n", " ", "\t", "a", "<", ">", "image", "é"];
        var differing = new List<string>();
        for (var n = 0; n < 20_000; n++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 8)).Select(_ => pieces[random.Next(pieces.Length)]));
            var token = n % 5 == 0 ? "" : "<image>";
            if (ReadBack.WithoutPlaceholders(text.AsSpan(), token) != ReadBack.WithoutPlaceholders(text, token))
            {
                differing.Add(text);
            }
        }

        Assert.Empty(differing);
        Assert.Equal("What?", ReadBack.WithoutPlaceholders("<image>\nWhat?".AsSpan(), "<image>"));
        Assert.Equal("a\nb", ReadBack.WithoutPlaceholders("a\n<image>\nb".AsSpan(), "<image>"));
        Assert.Equal("ab", ReadBack.WithoutPlaceholders("a\n<image>b".AsSpan(), "<image>"));
        Assert.Equal("What?", ReadBack.WithoutPlaceholders("<ima<image>\nge>\nWhat?".AsSpan(), "<image>"));
        Assert.Equal("two", ReadBack.WithoutPlaceholders("<image>\n<image>\ntwo".AsSpan(), "<image>"));
        Assert.Equal("  kept as it is ", ReadBack.WithoutPlaceholders("  kept as it is ".AsSpan(), "<image>"));
    }

    [Fact]
    public void An_Empty_Token_Leaves_The_Text_As_It_Is()
    {
        Assert.Equal("  a\n", ReadBack.WithoutPlaceholders("  a\n", ""));
    }

    [Fact]
    public void A_Question_Loses_Its_Placeholders_And_Its_Response_Format_Lines()
    {
        var options = new ExchangeOptions { DropLines = new HashSet<string> { "Answer with a single word." } };
        Assert.Equal("What colour?\nBe exact.", ReadBack.Question("<image>\nWhat colour?\n  Answer with a single word.  \nBe exact.", options));
        Assert.Equal("What colour?", ReadBack.Question("<image>\nWhat colour?\nAnswer with a single word.", options));
        Assert.Equal("Answer with a single word.", ReadBack.Question("  Answer with a single word.  ", new ExchangeOptions()));
        Assert.Equal("Answer with a single word.", ReadBack.Question("Answer with a single word. ", new ExchangeOptions { DropLines = new HashSet<string>() }));
        Assert.Equal("Q", ReadBack.Question("[img]\nQ ", new ExchangeOptions { ImageToken = "[img]" }));
    }

    [Fact]
    public void A_Path_Or_Url_Is_Kept_As_It_Stands()
    {
        var image = ReadBack.Image("coco/val/1.jpg");
        Assert.Equal("coco/val/1.jpg", image.Path);
        Assert.Null(image.Bytes);
        Assert.False(image.Inline);
        Assert.Equal("https://x/y.png", ReadBack.Image("https://x/y.png").Path);
        Assert.Equal("Data:image/png;base64,AAAA", ReadBack.Image("Data:image/png;base64,AAAA").Path);
    }

    [Fact]
    public void A_Data_Url_Keeps_Its_Bytes_Named_By_Their_Hash_With_Its_Declared_Type()
    {
        byte[] bytes = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var image = ReadBack.Image("data:image/png;base64," + Convert.ToBase64String(bytes));
        Assert.Equal($"images/{sha}.png", image.Path);
        Assert.Equal(bytes, image.Bytes);
        Assert.Equal("image/png", image.MediaType);
        Assert.Equal(sha, image.Sha256);
        Assert.True(image.Inline);

        var declaredOtherwise = ReadBack.Image("data:image/webp;base64," + Convert.ToBase64String(bytes));
        Assert.Equal("image/webp", declaredOtherwise.MediaType);
        Assert.Equal($"images/{sha}.webp", declaredOtherwise.Path);
    }

    [Fact]
    public void A_Data_Url_Without_A_Declared_Type_Is_Sniffed_Or_Called_Octet_Stream()
    {
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 9];
        var sniffed = ReadBack.Image("data:," + Convert.ToBase64String(jpeg));
        Assert.Equal("image/jpeg", sniffed.MediaType);
        Assert.EndsWith(".jpg", sniffed.Path, StringComparison.Ordinal);

        byte[] unknown = [1, 2, 3, 4];
        var octets = ReadBack.Image("data:;base64," + Convert.ToBase64String(unknown));
        Assert.Equal("application/octet-stream", octets.MediaType);
        Assert.Equal($"images/{Convert.ToHexStringLower(SHA256.HashData(unknown))}.bin", octets.Path);

    }

    [Fact]
    public void A_One_Letter_Declared_Type_Is_Kept()
    {
        // "data:x;base64,...": the semicolon at index 6 is after "data:" (index 5), so the type is "x".
        var image = ReadBack.Image("data:x;base64," + Convert.ToBase64String([0xFF, 0xD8, 0xFF]));
        Assert.Equal("x", image.MediaType);
        Assert.EndsWith(".bin", image.Path, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://a/b.jpg", true)]
    [InlineData("HTTPS://a/b.jpg", true)]
    [InlineData("http://a/b.jpg", true)]
    [InlineData("Http://a/b.jpg", true)]
    [InlineData("data:image/png;base64,AA==", true)]
    [InlineData("Data:image/png;base64,AA==", true)]
    [InlineData("httpx://a", true)]
    [InlineData("ftp://a/b.jpg", true)]
    [InlineData("s3://bucket/b.jpg", true)]
    [InlineData(" gs://bucket/b.jpg", true)]
    [InlineData("mailto:x@y", true)]
    [InlineData("javascript:alert(1)", true)]
    [InlineData("urn:isbn:0451450523", true)]
    [InlineData("http:no-slashes.jpg", true)]
    [InlineData("tel:+1-555", true)]
    [InlineData("a+b.c-d:x", true)]
    [InlineData("images/https://a", false)]
    [InlineData("C://x.jpg", false)]
    [InlineData("C:\\x.jpg", false)]
    [InlineData("C:/x.jpg", false)]
    [InlineData("d:x.jpg", false)]
    [InlineData("./a:b.jpg", false)]
    [InlineData("2014:x.jpg", false)]
    [InlineData("coco/1.jpg", false)]
    [InlineData("data/1.jpg", false)]
    public void Urls_Are_Any_Scheme_And_Data_Uris_In_Any_Case_And_Paths_Are_The_Rest(string path, bool url)
    {
        // One rule for every step that must tell a URL from a path (prefixing, the image root check, what a consumer loads):
        // RFC 3986's scheme and colon, of two characters at least (one letter is a Windows drive).
        Assert.Equal(url, ImageUrls.IsUrl(path));
    }

    [Theory]
    [InlineData("https://a/b.jpg", true)]
    [InlineData("s3://bucket/b.jpg", true)]
    [InlineData("DATA:image/png;base64,AA==", true)]
    [InlineData("mailto:x@y", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("urn:isbn:0451450523", false)]
    [InlineData("http:no-slashes.jpg", false)]
    public void Only_A_Url_With_An_Authority_Or_A_Data_Uri_Says_Where_An_Image_Is(string url, bool locator)
    {
        Assert.Equal(locator, ImageUrls.IsLocator(url));
        Assert.Equal(url[..url.IndexOf(':', StringComparison.Ordinal)], ImageUrls.SchemeOf(" " + url));
        Assert.Equal(url.StartsWith("DATA", StringComparison.Ordinal) ? false : true, ImageUrls.IsUrlOtherThanData(url));
    }

    [Theory]
    [InlineData("https://a/b.jpg", false, true, true)]
    [InlineData("HTTPS://a/b.jpg", false, false, true)]
    [InlineData("data:image/png;base64,AA==", false, true, true)]
    [InlineData("DATA:image/png;base64,AA==", false, false, true)]
    [InlineData("s3://bucket/b.jpg", false, false, false)]
    [InlineData("file:///x/b.jpg", false, false, false)]
    [InlineData("mailto:x@y", false, false, false)]
    [InlineData("http:b.jpg", false, false, false)]
    public void Each_Consumer_Loads_Only_The_Urls_Its_Loader_Takes(string url, bool llava, bool swift, bool openai)
    {
        Assert.Equal(llava, FormatRegistry.Get("llava").Capabilities.OpensUrl!(url));
        Assert.Equal(llava, FormatRegistry.Get("sharegpt").Capabilities.OpensUrl!(url));
        Assert.Equal(swift, FormatRegistry.Get("swift").Capabilities.OpensUrl!(url));
        Assert.Equal(openai, FormatRegistry.Get("openai").Capabilities.OpensUrl!(url));
    }
}
