using System.Security.Cryptography;
using System.Text.Json;

namespace MllmData.Tests.Formats;

/// <summary>Data read back with the instructions adapter keeps everything: embedded images, system messages, URLs, text.</summary>
public class TheReadBack
{
    private static readonly string CocoImage = TestPaths.RealFile("coco-mini", "val2017", "000000000139.jpg");

    private static string Write(string name, params string[] lines)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static async Task<(string Out, List<JsonElement> Records, List<JsonElement> Rejects)> Build(string file, string format, params string[] extra)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["build", "--adapter", "instructions", "--input", $"file={file}", "--format", format, "--out", outDir, "--allow-empty", .. extra]);
        Assert.True(r.ExitCode == 0, r.Error);
        var records = TestPaths.Shards(outDir).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var rejects = File.ReadLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        return (outDir, records, rejects);
    }

    [Fact]
    public async Task Embedded_Openai_Images_Are_Written_Out_By_Content_Hash_For_A_Format_That_Carries_Paths()
    {
        var bytes = File.ReadAllBytes(CocoImage);
        var url = "data:image/jpeg;base64," + Convert.ToBase64String(bytes);
        var file = Write("chat.jsonl", $$$"""{"messages":[{"role":"user","content":[{"type":"text","text":"What is in the room?"},{"type":"image_url","image_url":{"url":"{{{url}}}"}}]},{"role":"assistant","content":"A kitchen."}]}""");

        var (outDir, records, _) = await Build(file, "sharegpt");

        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var record = Assert.Single(records);
        Assert.Equal($"images/{sha}.jpg", record.GetProperty("images")[0].GetString());
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(outDir, "images", $"{sha}.jpg")));
        Assert.Equal("<image>What is in the room?", record.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task System_Messages_Are_Kept_Where_The_Format_Has_Them_And_Rejected_With_A_Reason_Where_Not()
    {
        var file = Write("chat.jsonl",
            """{"messages":[{"role":"system","content":"You answer in French."},{"role":"user","content":"Hello?"},{"role":"assistant","content":"Bonjour."}]}""");

        var (_, sharegpt, _) = await Build(file, "sharegpt");
        Assert.Equal(
            """{"messages":[{"role":"system","content":"You answer in French."},{"role":"user","content":"Hello?"},{"role":"assistant","content":"Bonjour."}],"images":[]}""",
            JsonSerializer.Serialize(Assert.Single(sharegpt)));

        var (_, openai, _) = await Build(file, "openai");
        Assert.Equal("You answer in French.", Assert.Single(openai).GetProperty("messages")[0].GetProperty("content").GetString());

        var (_, llava, rejects) = await Build(file, "llava");
        Assert.Empty(llava);
        var reject = Assert.Single(rejects);
        Assert.Equal("unsupported-system", reject.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task An_Image_Url_Is_Never_Prefixed_Twice()
    {
        var file = Write("chat.jsonl",
            """{"messages":[{"role":"user","content":[{"type":"text","text":"Name the animal."},{"type":"image_url","image_url":{"url":"https://example.org/img/cat.jpg"}}]},{"role":"assistant","content":"A cat."}]}""");

        var (_, records, _) = await Build(file, "openai", "--image-url-prefix", "https://example.org/img/");

        var parts = Assert.Single(records).GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("https://example.org/img/cat.jpg", parts[1].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Theory]
    [InlineData("What is this?\\n<image>")]
    [InlineData("<image>\\nWhat is this?")]
    [InlineData("What is <image> this?")]
    public async Task A_Llava_Placeholder_Anywhere_Leaves_No_Stray_Line_Break(string value)
    {
        var file = Write("llava.jsonl",
            $$$"""{"id":"q1","image":"a.jpg","conversations":[{"from":"human","value":"{{{value}}}"},{"from":"gpt","value":"A dog."}]}""");

        var (_, records, _) = await Build(file, "llava", "--no-meta");

        var human = Assert.Single(records).GetProperty("conversations")[0].GetProperty("value").GetString();
        Assert.Equal(value.Contains(" <image> ", StringComparison.Ordinal) ? "<image>\nWhat is  this?" : "<image>\nWhat is this?", human);
    }
}
