using System.Text.Json;

namespace MllmData.Tests.Survey;

/// <summary>Builds from the real fixtures for the survey-method tests, and reads the output back.</summary>
internal static class SurveyBuild
{
    public static readonly string TextVqaRoot = TestPaths.RealFile("textvqa", "hf-dummy");
    public static readonly string TextVqaTrain = TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json");
    public static readonly string CocoCaptions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    public static readonly string CocoImages = TestPaths.RealFile("coco-mini", "val2017");

    public sealed record Built(CliRunner.Result Result, string Out)
    {
        public int ExitCode => Result.ExitCode;

        public string[] Lines => [.. TestPaths.Shards(Out).SelectMany(File.ReadAllLines).Where(l => l.Length > 0)];

        public List<JsonElement> Records => [.. Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];

        public JsonElement Record(string id) => Records.Single(r => Id(r) == id);

        public string Bytes => string.Join("\n", TestPaths.Shards(Out).Select(File.ReadAllText));

        public string[] RejectReasons => File.Exists(Path.Combine(Out, "rejects.jsonl"))
            ? [.. File.ReadAllLines(Path.Combine(Out, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reason").GetString()!)]
            : [];
    }

    public static string Id(JsonElement record) =>
        record.TryGetProperty("id", out var id) ? id.GetString()! : record.GetProperty("meta").GetProperty("ids").ToString();

    public static async Task<Built> RunAsync(params string[] args)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");
        var result = await CliRunner.RunAsync(["build", .. args, "--out", outDir]);
        return new Built(result, outDir);
    }

    public static Task<Built> TextVqaAsync(params string[] args) =>
        RunAsync(["--adapter", "textvqa", "--input", $"questions={TextVqaTrain}", "--image-root", TextVqaRoot, .. args]);

    /// <summary>A template pack written for a test, so exact-text assertions do not depend on the shipped wording.</summary>
    public static string Pack(string yaml)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "pack.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>A VQA pack with one template carrying the question and one instruction-only template.</summary>
    public static string VqaPack() => Pack("""
        id: test-frames-vqa
        task: vqa
        placeholders: [question]
        templates:
          - id: with-question
            text: "{question} Reply briefly."
          - id: without-question
            text: "Answer the question about the picture in a word or two."
            tags: [instruction-only]
        """);

    /// <summary>A caption pack with one template.</summary>
    public static string CaptionPack() => Pack("""
        id: test-frames-caption
        task: caption
        templates:
          - id: one-line
            text: "Write one sentence about this picture."
        """);

    /// <summary>The meta.icl example ids of a record, in order.</summary>
    public static string[] ExampleIds(JsonElement record) =>
        [.. record.GetProperty("meta").GetProperty("icl").GetProperty("examples").EnumerateArray().Select(e => e.GetString()!)];
}
