using System.Buffers;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Formats;

namespace MllmData.Tests.Validation;

public class TheFormats
{
    private static readonly string CocoCaptions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    private static readonly string CocoImages = TestPaths.RealFile("coco-mini", "val2017");

    private static async Task<string> BuildCoco(string format, params string[] extra)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--image-root", CocoImages, "--format", format, "--out", outDir, .. extra]);
        Assert.True(r.ExitCode == 0, r.Error);
        return outDir;
    }

    [Fact]
    public async Task Should_Write_Openai_Lines_That_Pass_Openais_Own_Json_Schema()
    {
        var outDir = await BuildCoco("openai");
        var shard = TestPaths.Shards(outDir).Single();
        var psi = new ProcessStartInfo("python3")
        {
            ArgumentList = { Path.Combine(TestPaths.RepoRoot, "tests", "scripts", "openai_schema_check.py"), TestPaths.RealFile("validators", "openai-openapi", "openapi.yaml"), shard },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = await p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, stdout + stderr);
        Assert.Contains("395 lines valid, 0 invalid", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Embed_Images_That_Decode_To_The_Original_Bytes_Under_10_MB()
    {
        var outDir = await BuildCoco("openai");
        var lines = File.ReadAllLines(TestPaths.Shards(outDir).Single());
        Assert.Equal(395, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        var parts = first.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("text", parts[0].GetProperty("type").GetString());
        var url = parts[1].GetProperty("image_url").GetProperty("url").GetString()!;
        Assert.StartsWith("data:image/jpeg;base64,", url, StringComparison.Ordinal);
        var bytes = Convert.FromBase64String(url["data:image/jpeg;base64,".Length..]);
        Assert.True(bytes.Length <= ImageMedia.MaxEmbeddedBytes);
        Assert.Equal(File.ReadAllBytes(Path.Combine(CocoImages, "000000205401.jpg")), bytes);
        Assert.Equal("assistant", first.GetProperty("messages")[1].GetProperty("role").GetString());
        Assert.False(first.TryGetProperty("meta", out _));
    }

    [Fact]
    public async Task Should_Use_Urls_Under_The_Prefix_When_Given()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--format", "openai", "--image-url-prefix", "https://images.example.org/val2017/", "--system-prompt", "You describe photos.", "--out", outDir);
        Assert.Equal(0, r.ExitCode);
        var first = JsonDocument.Parse(File.ReadLines(TestPaths.Shards(outDir).Single()).First()).RootElement;
        Assert.Equal("system", first.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("https://images.example.org/val2017/000000205401.jpg", first.GetProperty("messages")[1].GetProperty("content")[1].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public async Task Should_Validate_LlamaFactorys_Demo_Clean_And_Report_The_V1_File_Line_By_Line()
    {
        var demo = await CliRunner.RunAsync("validate", TestPaths.RealFile("reference-outputs", "llama-factory", "mllm_demo.json"), "--format", "sharegpt");
        Assert.Equal(0, demo.ExitCode);
        Assert.Contains("mllm_demo.json: 6 records, 0 bad", demo.Output, StringComparison.Ordinal);

        // v1 uses content parts ({"type","value"}), which the sharegpt loader does not take; its blank line is skipped, not a record.
        var v1 = await CliRunner.RunAsync("validate", TestPaths.RealFile("reference-outputs", "llama-factory", "v1_multimodal_demo.jsonl"), "--format", "sharegpt", "--json");
        Assert.Equal(2, v1.ExitCode);
        var report = JsonDocument.Parse(v1.Output).RootElement;
        var file = report.GetProperty("files")[0];
        Assert.Equal(24, file.GetProperty("records").GetInt64());
        Assert.Equal(24, file.GetProperty("bad").GetInt64());
        Assert.Equal(1, file.GetProperty("blank_lines").GetInt64());
        Assert.Equal(24, report.GetProperty("totals").GetProperty("wrong-type").GetInt64());
        Assert.Equal(Enumerable.Range(1, 24).Select(i => (long)i), report.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("line").GetInt64()));
    }

    [Fact]
    public async Task Should_Validate_Llavas_Own_ScienceQA_Conversion_Clean()
    {
        var r = await CliRunner.RunAsync("validate", TestPaths.RealFile("scienceqa", "llava_test_CQM-A.json"), "--format", "llava");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("4241 records, 0 bad", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Report_Each_Defect_Of_A_Crafted_ShareGpt_File_Once_With_Its_Code()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "bad.jsonl");
        File.WriteAllLines(path,
        [
            """{"messages":[{"role":"user","content":"<image>What is this?"},{"role":"assistant","content":"A cat."}],"images":["a.jpg"]}""",
            """{"messages":[{"role":"assistant","content":"Hi"},{"role":"user","content":"<image>Hello"}],"images":["a.jpg"]}""",
            """{"messages":[{"role":"user","content":"<image><image>Compare."},{"role":"assistant","content":"Same."}],"images":["a.jpg"]}""",
            """{"messages":[{"role":"user","content":"<image>Describe."}],"images":["a.jpg"]}""",
            """{"messages":[{"role":"user","content":"<image>Describe."},{"role":"assistant","content":"oops""",
            """{"messages":[{"role":"user","content":"<image>Describe."},{"role":"assistant","content":"   "}],"images":["a.jpg"]}""",
            """{"messages":[{"role":"user","content":"<image>What tag?"},{"role":"assistant","content":"It says <image>."}],"images":["a.jpg"]}""",
            string.Empty,
        ]);
        var r = await CliRunner.RunAsync("validate", path, "--format", "sharegpt");

        Assert.Equal(2, r.ExitCode);
        var reports = r.Output.Split('\n').Where(l => l.StartsWith(path + ":line", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [
                "line 2: wrong-role-order",
                "line 3: placeholder-mismatch",
                "line 4: missing-assistant",
                "line 5: not-json",
                "line 6: empty-content",
                "line 7: literal-image-token",
            ],
            reports.Select(l => string.Join(':', l[(path.Length + 1)..].Split(':').Take(2))));
        Assert.Contains("totals: empty-content=1, literal-image-token=1, missing-assistant=1, not-json=1, placeholder-mismatch=1, wrong-role-order=1", r.Output, StringComparison.Ordinal);
        Assert.Contains("7 records, 6 bad, 1 blank lines skipped", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Report_Each_Defect_Of_A_Crafted_Openai_File_Once_With_Its_Code()
    {
        var jpeg = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(CocoImages, "000000000139.jpg")));
        string Image(string b64, string type = "image/jpeg") => $$$"""{"type":"image_url","image_url":{"url":"data:{{{type}}};base64,{{{b64}}}"}}""";
        var eleven = string.Join(",", Enumerable.Repeat(Image(jpeg), 11));
        var oversized = Convert.ToBase64String(new byte[(10 * 1024 * 1024) + 1]);
        var png = Convert.ToBase64String(File.ReadAllBytes(TestPaths.RealFile("images", "neuraltalk", "qjujW6d.png")));
        var path = Path.Combine(TestPaths.NewTempDir(), "bad-openai.jsonl");
        File.WriteAllLines(path,
        [
            $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"What?"},{{Image(jpeg)}}]},{"role":"assistant","content":"A bus."}]}""",
            $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"Count."},{{eleven}}]},{"role":"assistant","content":"Many."}]}""",
            $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"Big."},{{Image(oversized)}}]},{"role":"assistant","content":"Yes."}]}""",
            $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"Type?"},{{Image(png, "image/jpeg")}}]},{"role":"assistant","content":"A PNG."}]}""",
            """{"messages":[{"role":"user","content":"Hi"},{"role":"user","content":"Again"},{"role":"assistant","content":"Hello"}]}""",
            """{"messages":[{"role":"user","content":"Hi"}]}""",
            """{"messages":[{"role":"user","content":""},{"role":"assistant","content":"Hello"}]}""",
            """not json at all""",
        ]);
        var r = await CliRunner.RunAsync("validate", path, "--format", "openai");

        Assert.Equal(2, r.ExitCode);
        var codes = r.Output.Split('\n').Where(l => l.StartsWith(path + ":line", StringComparison.Ordinal)).Select(l => l[(path.Length + 1)..].Split(": ")[0] + ": " + l[(path.Length + 1)..].Split(": ")[1]).ToList();
        Assert.Equal(
            ["line 2: too-many-images", "line 3: image-too-large", "line 4: bad-image-type", "line 5: wrong-role-order", "line 6: missing-assistant", "line 7: empty-content", "line 8: not-json"],
            codes);
    }

    [Fact]
    public async Task Should_Write_A_Dataset_Info_Entry_Beside_ShareGpt_Shards()
    {
        var outDir = await BuildCoco("sharegpt", "--name", "coco_mini");
        var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "dataset_info.json"))).RootElement.GetProperty("coco_mini");
        Assert.Equal("data", info.GetProperty("file_name").GetString());
        Assert.Equal("sharegpt", info.GetProperty("formatting").GetString());
        Assert.Equal("images", info.GetProperty("columns").GetProperty("images").GetString());
        var r = await CliRunner.RunAsync("validate", Path.Combine(outDir, "data", "coco_mini-00000-of-00001.jsonl"), "--format", "sharegpt");
        Assert.Equal(0, r.ExitCode);
    }

    [Theory]
    [InlineData("sharegpt")]
    [InlineData("llava")]
    [InlineData("swift")]
    public async Task Should_Round_Trip_Build_Validate_Reread_Render_Byte_Identical(string format)
    {
        var outDir = await BuildCoco(format, "--no-meta", "--per-image");
        var shard = TestPaths.Shards(outDir).Single();
        Assert.Equal(0, (await CliRunner.RunAsync("validate", shard, "--format", format)).ExitCode);

        var module = FormatRegistry.Get(format);
        var options = new RenderOptions { IncludeMeta = false };
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        long n = 0;
        foreach (var line in File.ReadLines(shard))
        {
            var record = module.Read(JsonDocument.Parse(line).RootElement, new LineOrigin(shard, ++n), options);
            writer.Reset();
            module.Render(record, writer, options);
            writer.Flush();
            buffer.Write("\n"u8);
        }

        Assert.Equal(79, n);
        Assert.Equal(File.ReadAllBytes(shard), buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public async Task Should_Reject_Multi_Turn_Records_For_M3it_And_Keep_Single_Turn_Ones()
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--recipe", Path.Combine(TestPaths.RepoRoot, "samples", "recipe.yaml"), "--format", "m3it", "--allow-empty", "--out", outDir);
        Assert.Equal(0, r.ExitCode);
        var lines = File.ReadAllLines(TestPaths.Shards(outDir).Single());
        Assert.Equal(5, lines.Length);
        var rejects = File.ReadAllLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()).ToList();
        Assert.Equal(["unsupported-shape", "unsupported-shape", "unsupported-shape"], rejects);
        var m3it = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal("A white rectangle lies on green grass under a pale blue sky.", m3it.GetProperty("outputs").GetString());
        Assert.Equal(File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "samples", "images", "000000000201.jpg")), Convert.FromBase64String(m3it.GetProperty("image_base64_str")[0].GetString()!));
    }
}
