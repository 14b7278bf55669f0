using System.Security.Cryptography;
using System.Text.Json.Nodes;
using MllmData.Formats;
using MllmData.Output;
using MllmData.Tests.Conformance;

namespace MllmData.Tests.Output;

/// <summary>
/// <c>--container parquet</c>: every format's Parquet build reads back, through our reader and through hyparquet (a
/// JavaScript reader that shares no code with Parquet.Net), to the records of the same build in JSONL.
/// </summary>
public class ParquetContainerTests
{
    private static readonly string ScienceQa = Consumers.ScienceQaLlava;

    /// <summary>Build arguments of each case: the format and its inputs (each case is built as JSONL and as Parquet).</summary>
    public static TheoryData<string, string[]> Cases => new()
    {
        // One image per record: LLaVA's "image" is a string; meta objects carry ids, templates and image facts.
        { "llava", ["--adapter", "coco-captions", "--input", $"captions={Consumers.CocoCaptions}", "--image-root", Consumers.CocoImages, "--images", "reference", "--meta"] },

        // In-context examples: several images (LLaVA's "image" becomes a list) and several text parts (openai's content parts).
        { "llava", ["--adapter", "textvqa", "--input", $"questions={Consumers.TextVqaTrain}", "--image-root", Consumers.TextVqaRoot, "--icl-shots", "2"] },
        { "openai", ["--adapter", "textvqa", "--input", $"questions={Consumers.TextVqaTrain}", "--image-root", Consumers.TextVqaRoot, "--icl-shots", "2", "--image-url-prefix", "https://example.test/", "--meta"] },

        // Text-only rows beside image rows ("images": [] and no key).
        { "sharegpt", ["--adapter", "instructions", "--input", $"file={ScienceQa}", "--system-prompt", "Answer briefly."] },
        { "swift", ["--adapter", "instructions", "--input", $"file={ScienceQa}", "--meta"] },
        { "template", ["--adapter", "instructions", "--input", $"file={ScienceQa}"] },
        { "llava", ["--adapter", "instructions", "--input", $"file={ScienceQa}"] },

        // Formats that embed by design: base64 data URLs and base64 strings stay as the format writes them.
        { "openai", ["--adapter", "coco-captions", "--input", $"captions={Consumers.CocoCaptions}", "--image-root", Consumers.CocoImages, "--per-image"] },
        { "m3it", ["--adapter", "coco-captions", "--input", $"captions={Consumers.CocoCaptions}", "--image-root", Consumers.CocoImages, "--per-image", "--meta"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Should_Read_Back_To_The_Records_Of_The_Jsonl_Build(string format, string[] args)
    {
        var jsonl = await Consumers.BuildAsync(["--format", format, .. args]);
        var parquet = await Consumers.BuildAsync(["--format", format, .. args, "--container", "parquet"]);
        var expected = TestPaths.Shards(jsonl).SelectMany(File.ReadLines).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.True(expected.Count >= 5, $"{expected.Count} records");

        var shard = TestPaths.Shards(parquet).Single();
        Assert.Equal("data-00000-of-00001.parquet", Path.GetFileName(shard));

        // Our reader, through the format's layout.
        var ours = ShardReader.Records(shard).Select(r => r.Record).ToList();
        AssertSameRecords(expected, ours);

        // hyparquet: the raw rows, brought to the JSON shape by this test's own rules.
        var read = Hyparquet.Read(shard);
        Assert.Equal(format, (string?)read.Metadata[ParquetLayout.FormatKey]);
        var holds = format is "openai" or "m3it" ? null : "paths";
        Assert.Equal(holds, (string?)read.Metadata[ParquetLayout.ImagesKey]);
        AssertSameRecords(expected, [.. read.Rows.Select(r => JsonShape(r, format, null))]);

        // The manifest lists the shard with its records, size and sha256, and says how the rows are laid out.
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(parquet, "manifest.json")))!;
        Assert.Equal("parquet", (string?)manifest["container"]);
        Assert.Equal(holds, (string?)manifest["parquet"]!["image_column"]);
        var listed = manifest["shards"]!.AsArray().Single()!;
        Assert.Equal("data/data-00000-of-00001.parquet", (string?)listed["path"]);
        Assert.Equal(expected.Count, (long)listed["records"]!);
        Assert.Equal(new FileInfo(shard).Length, (long)listed["bytes"]!);
        Assert.Equal(Sha256(File.ReadAllBytes(shard)), (string?)listed["sha256"]);

        // validate and the dataset card read the Parquet shard as they read JSONL.
        var validate = await CliRunner.RunAsync("validate", shard, "--format", format);
        Assert.True(validate.ExitCode == 0, validate.Output);
        Assert.Contains($"{shard}: {expected.Count} records, 0 bad", validate.Output, StringComparison.Ordinal);
        var card = File.ReadAllText(Path.Combine(parquet, "README.md"));
        Assert.Contains("path: \"data/data-*.parquet\"", card, StringComparison.Ordinal);
    }

    /// <summary>The acceptance point: coco-mini with embedded images reads back to the same records and bytes.</summary>
    [Theory]
    [InlineData("sharegpt")]
    [InlineData("llava")]
    public async Task Should_Read_Coco_Mini_With_Embedded_Images_Back_To_The_Same_Records_And_Bytes(string format)
    {
        string[] coco = ["--adapter", "coco-captions", "--input", $"captions={Consumers.CocoCaptions}", "--image-root", Consumers.CocoImages, "--format", format, "--per-image"];
        var jsonl = await Consumers.BuildAsync([.. coco, "--images", "reference"]);
        var parquet = await Consumers.BuildAsync([.. coco, "--images", "embed", "--container", "parquet"]);
        var expected = File.ReadLines(TestPaths.Shards(jsonl).Single()).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(79, expected.Count);
        var shard = TestPaths.Shards(parquet).Single();

        // Our reader: the records, and each image's bytes are the file's bytes on disk.
        var rows = ShardReader.ParquetRows(shard).ToList();
        AssertSameRecords(expected, [.. rows.Select(r => r.Record)]);
        var imageKey = format == "llava" ? "image" : "images";
        for (var i = 0; i < rows.Count; i++)
        {
            var paths = ImagePaths(expected[i][imageKey]);
            Assert.Equal(paths, rows[i].Images.Select(x => x.Path));
            Assert.Equal(paths.Select(p => Sha256(File.ReadAllBytes(Path.Combine(Consumers.CocoImages, p)))), rows[i].Images.Select(x => Sha256(x.Bytes!)));
        }

        // hyparquet: Hugging Face Image structs {bytes, path}, the same bytes. The layout is the storage of datasets.Image
        // (huggingface/datasets src/datasets/features/image.py: pa_type = pa.struct({"bytes": pa.binary(), "path": pa.string()}),
        // decode_example opens value["bytes"] when set, else value["path"]); LLaMA-Factory's mm_plugin.py _regularize_images
        // opens a dict image the same way (image["bytes"] first).
        var read = Hyparquet.Read(shard);
        Assert.Equal("embed", (string?)read.Metadata[ParquetLayout.ImagesKey]);
        var bytes = new List<List<(string Path, byte[] Bytes)>>();
        AssertSameRecords(expected, [.. read.Rows.Select(r => JsonShape(r, format, bytes))]);
        Assert.Equal(79, bytes.Count);
        for (var i = 0; i < bytes.Count; i++)
        {
            Assert.Equal(ImagePaths(expected[i][imageKey]), bytes[i].Select(b => b.Path));
            foreach (var (path, data) in bytes[i])
            {
                Assert.Equal(File.ReadAllBytes(Path.Combine(Consumers.CocoImages, path)), data);
            }
        }

        // The byte sum of the images is the fixture's (12,755,387 bytes for the 79 JPEGs, SOURCES.md).
        Assert.Equal(12_755_387L, bytes.Sum(r => r.Sum(b => (long)b.Bytes.Length)));
        var validate = await CliRunner.RunAsync("validate", shard, "--format", format);
        Assert.True(validate.ExitCode == 0, validate.Output);
        var stats = await CliRunner.RunAsync("stats", parquet);
        Assert.True(stats.ExitCode == 0, stats.Error);
        Assert.Contains("79", stats.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Bound_Row_Groups_By_Rows()
    {
        var parquet = await Consumers.CocoAsync("sharegpt", "--per-image", "--images", "embed", "--container", "parquet", "--row-group-records", "10");
        var read = Hyparquet.Read(TestPaths.Shards(parquet).Single());
        Assert.Equal([10, 10, 10, 10, 10, 10, 10, 9], read.RowGroups);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(parquet, "manifest.json")))!;
        Assert.Equal(10, (long)manifest["parquet"]!["row_group_records"]!);
    }

    [Fact]
    public async Task Should_Bound_Row_Groups_By_Bytes_Greedily()
    {
        const long Limit = 1_000_000;
        var parquet = await Consumers.CocoAsync("sharegpt", "--per-image", "--images", "embed", "--container", "parquet", "--row-group-bytes", Limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var read = Hyparquet.Read(TestPaths.Shards(parquet).Single());
        Assert.Equal(79, read.RowGroups.Sum());
        Assert.True(read.RowGroups.Count >= 12, $"{read.RowGroups.Count} row groups");

        // A row's size is its strings' UTF-8 bytes and its images' bytes; a group closes before the row that would pass the limit.
        var sizes = read.Rows.Select(RowBytes).ToList();
        var at = 0;
        foreach (var n in read.RowGroups)
        {
            var group = sizes.Skip(at).Take((int)n).ToList();
            Assert.True(group.Count == 1 || group.Sum() <= Limit, $"a group of {group.Count} rows holds {group.Sum()} bytes");
            if (at + n < sizes.Count)
            {
                Assert.True(group.Sum() + sizes[at + (int)n] > Limit, "the next row would have fitted in the group");
            }

            at += (int)n;
        }
    }

    [Fact]
    public async Task Should_Split_Shards_As_Jsonl_Does_And_Give_The_Same_Bytes_Twice()
    {
        string[] args = ["--per-image", "--images", "embed", "--container", "parquet", "--shard-records", "30", "--seed", "7"];
        var first = await Consumers.CocoAsync("llava", args);
        var second = await Consumers.CocoAsync("llava", args);
        var shards = TestPaths.Shards(first);
        Assert.Equal(["data-00000-of-00003.parquet", "data-00001-of-00003.parquet", "data-00002-of-00003.parquet"], shards.Select(Path.GetFileName));
        Assert.Equal([30L, 30L, 19L], shards.Select(s => (long)ShardReader.ParquetRows(s).Count()));
        Assert.Equal(TestPaths.Shards(second).Select(File.ReadAllBytes), shards.Select(File.ReadAllBytes));
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "manifest.json")), File.ReadAllBytes(Path.Combine(second, "manifest.json")));

        // No clock in the file: the writer names itself with its version only.
        Assert.Equal("Parquet.Net version 6.1.0 (build c179d97bd2549b5f44a9241e729f869d4947ee59)", Hyparquet.Read(shards[0]).CreatedBy);
    }

    [Fact]
    public async Task Should_Merge_Job_Array_Parts_To_The_Single_Run_Bytes()
    {
        string[] args = ["build", "--adapter", "coco-captions", "--input", $"captions={Consumers.CocoCaptions}", "--image-root", Consumers.CocoImages,
            "--format", "sharegpt", "--per-image", "--images", "embed", "--container", "parquet", "--shard-records", "50", "--row-group-records", "7", "-v", "quiet"];
        var single = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync([.. args, "--out", single])).ExitCode);
        var parts = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            parts.Add(TestPaths.NewTempDir());
            var worker = await CliRunner.RunAsync([.. args, "--out", parts[i], "--num-shards", "2", "--shard-index", i.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            Assert.True(worker.ExitCode == 0, worker.Error);
        }

        var merged = TestPaths.NewTempDir();
        var merge = await CliRunner.RunAsync("merge", parts[1], parts[0], "--out", merged);
        Assert.True(merge.ExitCode == 0, merge.Error);
        foreach (var file in new[] { "manifest.json", "README.md", "dataset_info.json", "data/data-00000-of-00002.parquet", "data/data-00001-of-00002.parquet" })
        {
            Assert.True(File.ReadAllBytes(Path.Combine(single, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(merged, file))), $"{file} differs");
        }
    }

    [Fact]
    public async Task Should_Register_The_Parquet_Shards_For_LLaMA_Factory()
    {
        var parquet = await Consumers.CocoAsync("sharegpt", "--per-image", "--container", "parquet");
        var info = JsonNode.Parse(File.ReadAllText(Path.Combine(parquet, "dataset_info.json")))!["data"]!;

        // LLaMA-Factory loads every file of the folder file_name names, by its extension (parquet among them).
        Assert.Equal("data", (string?)info["file_name"]);
        Assert.Equal("sharegpt", (string?)info["formatting"]);
        Assert.Equal("images", (string?)info["columns"]!["images"]);
        Assert.Equal(["data-00000-of-00001.parquet"], Directory.GetFiles(Path.Combine(parquet, "data")).Select(Path.GetFileName));
    }

    /// <summary>The instructions adapter reads a Parquet shard as it reads JSONL: a round trip gives the JSONL build byte for byte.</summary>
    [Fact]
    public async Task Should_Rebuild_From_A_Parquet_Shard_Byte_Identical()
    {
        var jsonl = await Consumers.CocoAsync("sharegpt", "--no-meta", "--per-image");
        var parquet = await Consumers.CocoAsync("sharegpt", "--no-meta", "--per-image", "--container", "parquet");
        var again = await Consumers.BuildAsync("--adapter", "instructions", "--input", $"file={TestPaths.Shards(parquet).Single()}", "--image-root", Consumers.CocoImages, "--format", "sharegpt", "--no-meta");
        Assert.Equal(File.ReadAllBytes(TestPaths.Shards(jsonl).Single()), File.ReadAllBytes(TestPaths.Shards(again).Single()));
    }

    /// <summary>Embedded images are read with their bytes: an openai build from the Parquet rows embeds the very bytes the coco build does.</summary>
    [Fact]
    public async Task Should_Read_Embedded_Images_Of_A_Parquet_Shard_With_Their_Bytes()
    {
        var openai = await Consumers.CocoAsync("openai", "--no-meta", "--per-image");
        var parquet = await Consumers.CocoAsync("sharegpt", "--no-meta", "--per-image", "--images", "embed", "--container", "parquet");
        var again = await Consumers.BuildAsync("--adapter", "instructions", "--input", $"file={TestPaths.Shards(parquet).Single()}", "--format", "openai", "--no-meta");
        Assert.Equal(File.ReadAllBytes(TestPaths.Shards(openai).Single()), File.ReadAllBytes(TestPaths.Shards(again).Single()));
    }

    /// <summary>A Parquet build is an in-context pool like a JSONL one: the same examples are placed.</summary>
    [Fact]
    public async Task Should_Take_In_Context_Examples_From_A_Parquet_Pool()
    {
        string[] textvqa = ["--adapter", "textvqa", "--input", $"questions={Consumers.TextVqaTrain}", "--image-root", Consumers.TextVqaRoot, "--format", "llava"];
        var jsonlPool = await Consumers.BuildAsync(textvqa);
        var parquetPool = await Consumers.BuildAsync([.. textvqa, "--container", "parquet"]);
        var fromJsonl = await Consumers.BuildAsync([.. textvqa, "--icl-shots", "2", "--icl-pool", jsonlPool]);
        var fromParquet = await Consumers.BuildAsync([.. textvqa, "--icl-shots", "2", "--icl-pool", parquetPool]);
        var expected = File.ReadAllText(TestPaths.Shards(fromJsonl).Single());
        Assert.Contains("\"examples\":[\"textvqa-q", expected, StringComparison.Ordinal);
        Assert.Equal(expected, File.ReadAllText(TestPaths.Shards(fromParquet).Single()));
    }

    [Theory]
    [InlineData(new[] { "--format", "sharegpt", "--images", "embed" }, "--container parquet")]
    [InlineData(new[] { "--format", "sharegpt", "--row-group-records", "5" }, "--row-group-records/--row-group-bytes")]
    [InlineData(new[] { "--format", "sharegpt", "--container", "parquet", "--row-group-records", "0" }, "--row-group-records (row_group_records) must be from 1")]
    [InlineData(new[] { "--format", "sharegpt", "--container", "parquet", "--row-group-bytes", "0" }, "--row-group-bytes (row_group_bytes) must be 1 or more")]
    [InlineData(new[] { "--format", "swift", "--container", "json" }, "--container json: swift is written as jsonl or parquet")]
    [InlineData(new[] { "--split-role", "eval", "--container", "parquet" }, "--container parquet")]
    public async Task Should_Refuse_What_Parquet_Cannot_Honour_Before_Touching_Files(string[] flags, string message)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var r = await CliRunner.RunAsync(["build", "--adapter", "coco-captions", "--input", $"captions={Consumers.CocoCaptions}", "--image-root", Consumers.CocoImages, .. flags, "--out", outDir]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    /// <summary>OpenAI tool-use lines (assistant tool calls without content, tool messages, the tools list) as the format writes them.</summary>
    [Fact]
    public void Should_Keep_OpenAi_Tool_Calls_And_Tools_Through_Parquet()
    {
        string[] lines =
        [
            """{"messages":[{"role":"user","content":[{"type":"text","text":"How many cats?"},{"type":"image_url","image_url":{"url":"https://example.test/a.jpg","detail":"low"}}]},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"count","arguments":"{\"category\":\"cat\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"2"},{"role":"assistant","content":"Two."}],"tools":[{"type":"function","function":{"name":"count","description":"Counts objects.","parameters":{"type":"object","properties":{"category":{"type":"string","enum":["cat","dog"]}},"required":["category"]}}}],"meta":{"source":"s","ids":{"q":"1"},"seed":3}}""",
            """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."}]}""",
        ];
        var dir = TestPaths.NewTempDir();
        var format = FormatRegistry.Get("openai");
        var settings = new RenderOptions { Container = "parquet" }.Parquet(format)!;
        using (var writer = new ShardWriter(dir, "tools", 100, container: "parquet", parquet: settings))
        {
            foreach (var line in lines)
            {
                writer.WriteLine(System.Text.Encoding.UTF8.GetBytes(line + "\n"));
            }

            writer.Complete();
        }

        var shard = Path.Combine(dir, "tools-00000-of-00001.parquet");
        var expected = lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        AssertSameRecords(expected, [.. ShardReader.Records(shard).Select(r => r.Record)]);
        AssertSameRecords(expected, [.. Hyparquet.Read(shard).Rows.Select(r => JsonShape(r, "openai", null))]);
    }

    private static void AssertSameRecords(List<JsonObject> expected, List<JsonObject> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(expected[i], actual[i]), $"record {i + 1} differs:\n  jsonl:   {expected[i].ToJsonString()}\n  parquet: {actual[i].ToJsonString()}");
        }
    }

    private static List<string> ImagePaths(JsonNode? images) => images switch
    {
        JsonArray a => [.. a.Select(x => (string)x!)],
        JsonValue v => [(string)v!],
        _ => [],
    };

    /// <summary>
    /// A hyparquet row in the format's JSON shape, by the rules the docs give: null fields are absent keys, meta and tool
    /// parameters are JSON text, openai's content_parts is a list content, LLaVA's image list is a string for one image and
    /// no key for none, embedded images are {bytes, path} structs (their paths stand in the record, their bytes go to <paramref name="images"/>).
    /// </summary>
    private static JsonObject JsonShape(JsonObject row, string format, List<List<(string Path, byte[] Bytes)>>? images)
    {
        var o = (JsonObject)Normalize(row)!;
        if (o["meta"] is JsonValue meta)
        {
            o["meta"] = JsonNode.Parse((string)meta!);
        }

        foreach (var f in (o["tools"] as JsonArray ?? []).Select(t => t!["function"]!.AsObject()))
        {
            f["parameters"] = JsonNode.Parse((string)f["parameters"]!);
        }

        foreach (var m in (o["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (m["content_parts"] is JsonArray parts)
            {
                // An embedded image's data URL: its head in url, its bytes in url_bytes.
                foreach (var url in parts.OfType<JsonObject>().Select(p => p["image_url"]).OfType<JsonObject>().Where(u => u["url_bytes"] is not null))
                {
                    url["url"] = (string)url["url"]! + (string)url["url_bytes"]!["base64"]!;
                    url.Remove("url_bytes");
                }

                m.Remove("content_parts");
                m["content"] = parts.DeepClone();
            }
        }

        // M3IT's images: bytes in the rows, base64 strings in the JSON record.
        if (o["image_base64_str"] is JsonArray m3it)
        {
            o["image_base64_str"] = new JsonArray([.. m3it.Select(x => (JsonNode?)(string)x!["base64"]!)]);
        }

        var key = format == "llava" ? "image" : "images";
        if (o[key] is JsonArray list && list.Count > 0 && list[0] is JsonObject)
        {
            images?.Add([.. list.Select(x => ((string)x!["path"]!, Convert.FromBase64String((string)x["bytes"]!["base64"]!)))]);
            o[key] = new JsonArray([.. list.Select(x => (JsonNode?)(string)x!["path"]!)]);
        }
        else if (o[key] is JsonArray { Count: 0 })
        {
            images?.Add([]);
        }

        if (format == "llava" && o["image"] is JsonArray image)
        {
            if (image.Count == 0)
            {
                o.Remove("image");
            }
            else if (image.Count == 1)
            {
                o["image"] = (string)image[0]!;
            }
        }

        return o;
    }

    private static JsonNode? Normalize(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(kv => kv.Value is not null).Select(kv => KeyValuePair.Create(kv.Key, Normalize(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Normalize)]),
        _ => node?.DeepClone(),
    };

    /// <summary>A hyparquet row's size as the writer counts it: its strings' UTF-8 bytes and its binary values' bytes.</summary>
    private static long RowBytes(JsonObject row)
    {
        long Size(JsonNode? n) => n switch
        {
            JsonObject { Count: 1 } b when b["base64"] is JsonValue v => Convert.FromBase64String((string)v!).Length,
            JsonObject o => o.Sum(kv => Size(kv.Value)),
            JsonArray a => a.Sum(Size),
            JsonValue v when v.TryGetValue<string>(out var s) => System.Text.Encoding.UTF8.GetByteCount(s),
            _ => 0,
        };

        return Size(row);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
