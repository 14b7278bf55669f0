using System.Text.Json;

namespace MllmData.Tests.Hostile;

/// <summary>
/// An image given as a URI that names no place to fetch from (<c>mailto:</c>, <c>javascript:</c>, <c>urn:</c>, <c>tel:</c>)
/// is a clear <c>bad-image-path</c> reject in every format: no consumer can open it. Before, only <c>scheme://</c> and
/// <c>data:</c> counted as URLs, so these passed as file paths (prefixed, looked for under the image root, or written as
/// they were). A Windows drive path (<c>C:\</c>, <c>C:/</c>) stays a path.
/// </summary>
public class SchemeOnlyImageTests
{
    private static readonly string Jpeg = TestPaths.RealFile("coco-mini", "val2017", "000000000139.jpg");

    private static readonly string[] Images =
        ["mailto:x@y.org", "javascript:alert(1)", "urn:isbn:0451450523", " tel:+15550100", "000000000139.jpg", "C:\\data\\a.jpg", "C:/data/a.jpg"];

    private static readonly string[] Refused = ["jsonl-l1", "jsonl-l2", "jsonl-l3", "jsonl-l4"];

    private static async Task<string> Build(string format, bool withRoot, params string[] extra)
    {
        var rows = Path.Combine(TestPaths.NewTempDir(), "rows.jsonl");
        File.WriteAllLines(rows, Images.Select(p => JsonSerializer.Serialize(new Dictionary<string, string> { ["image"] = p, ["q"] = "What is it?", ["a"] = "a cat" })));
        var outDir = TestPaths.NewTempDir();
        string[] root = withRoot ? ["--image-root", Path.GetDirectoryName(Jpeg)!] : [];
        var r = await CliRunner.RunAsync(["build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", .. root, "--format", format, "--out", outDir, .. extra]);
        Assert.True(r.ExitCode == 0, r.Error);
        return outDir;
    }

    [Theory]
    [InlineData("llava", false)]
    [InlineData("sharegpt", false)]
    [InlineData("swift", false)]
    [InlineData("template", false)]
    [InlineData("llava", true)]
    [InlineData("swift", true)]
    [InlineData("template", true)]
    [InlineData("openai", true)]
    [InlineData("m3it", true)]
    public async Task Should_Reject_A_Scheme_Only_Uri_Image_In_Every_Format_And_Keep_Drive_Paths_As_Paths(string format, bool withRoot)
    {
        var outDir = await Build(format, withRoot);

        var rejects = HostileFile.Rejects(outDir);
        var refused = rejects.Where(x => x.Str("reason") == "bad-image-path").ToList();
        Assert.Equal(Refused, refused.Select(x => x.Str("position")));
        Assert.Equal(
            [
                "image 'mailto:x@y.org' is a 'mailto:' URI: it names no image file and no place to fetch one",
                "image 'javascript:alert(1)' is a 'javascript:' URI: it names no image file and no place to fetch one",
                "image 'urn:isbn:0451450523' is a 'urn:' URI: it names no image file and no place to fetch one",
                "image ' tel:+15550100' is a 'tel:' URI: it names no image file and no place to fetch one",
            ],
            refused.Select(x => x.Str("detail")!.Split(", so no consumer")[0]));

        // Drive paths are paths: written as given without a root, and looked for (missing) under one.
        var written = HostileFile.Records(outDir).Select(x => x.GetRawText()).ToList();
        Assert.Contains(written, x => x.Contains("000000000139", StringComparison.Ordinal) || x.Contains("/9j/", StringComparison.Ordinal));
        if (withRoot)
        {
            Assert.Equal(["jsonl-l6", "jsonl-l7"], rejects.Where(x => x.Str("reason") == "missing-image").Select(x => x.Str("position")));
            Assert.Single(written);
        }
        else
        {
            Assert.Equal(Refused.Length, rejects.Count);
            Assert.Equal(3, written.Count);
            Assert.Contains(written, x => x.Contains("C:\\\\data\\\\a.jpg", StringComparison.Ordinal));
            Assert.Contains(written, x => x.Contains("C:/data/a.jpg", StringComparison.Ordinal));
        }

        Assert.DoesNotContain(written, x => x.Contains("mailto", StringComparison.Ordinal) || x.Contains("javascript", StringComparison.Ordinal) || x.Contains("urn:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_Reject_A_Url_Image_Under_The_With_Image_Rewrite_As_A_Url_Not_As_A_Missing_File()
    {
        // A swift build keeps http(s) images (its trainer fetches them); the with-image prompt sends image files' bytes.
        var rows = Path.Combine(TestPaths.NewTempDir(), "rows.jsonl");
        File.WriteAllLines(rows, [
            """{"image": "https://example.com/a.jpg", "q": "What colour is it?", "a": "red"}""",
            """{"image": "000000000139.jpg", "q": "What colour is it?", "a": "red"}"""]);
        var input = TestPaths.NewTempDir();
        var build = await CliRunner.RunAsync("build", "--adapter", "jsonl", "--input", $"file={rows}", "--map", "image=image", "--map", "question=q", "--map", "answer=a", "--format", "swift", "--out", input);
        Assert.True(build.ExitCode == 0, build.Error);

        using var server = new MllmData.Tests.Models.FakeModelServer(r => MllmData.Tests.Models.FakeModelServer.Faithful(r));
        var settings = new MllmData.Recipes.RewriteSettings { Prompt = "with-image", ImageRoot = Path.GetDirectoryName(Jpeg) };
        var rewriter = MllmData.Generation.RewriteRunner.Prepare(settings, MllmData.Templates.TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates")), Serilog.Core.Logger.None, out _);
        var output = Path.Combine(TestPaths.NewTempDir(), "long");
        using (var cache = new MllmData.ModelCalls.ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db")))
        using (var calls = new MllmData.ModelCalls.ModelCallPath(MllmData.ModelCalls.OpenAiChatModel.Compatible(new Uri(server.OpenAiBaseUrl), "gpt-4o-mini", "sk-test", TimeSpan.FromSeconds(20)), cache, new MllmData.ModelCalls.CallSettings(), MllmData.ModelCalls.PriceTable.Load()))
        {
            await rewriter.RunAsync(input, output, calls, CancellationToken.None);
        }

        var reject = JsonDocument.Parse(File.ReadAllLines(Path.Combine(output, "rejects.jsonl")).Single()).RootElement;
        Assert.Equal(("bad-image-path", "image https://example.com/a.jpg is a URI, not a file: the with-image prompt sends the bytes of image files under --image-root (URLs are not fetched)"),
            (reject.Str("reason"), reject.Str("detail")));
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task Should_Not_Prefix_A_Scheme_Only_Uri_As_A_Path()
    {
        var outDir = await Build("llava", false, "--image-prefix", "coco/val2017/");
        Assert.Equal(Refused, HostileFile.Rejects(outDir).Select(x => x.Str("position")));
        var images = HostileFile.Records(outDir).Select(x => x.GetProperty("image").GetString()).ToList();
        Assert.Equal(["coco/val2017/000000000139.jpg", "coco/val2017/C:\\data\\a.jpg", "coco/val2017/C:/data/a.jpg"], images);
    }
}
