using System.Diagnostics;

namespace MllmData.Tests.Conformance;

/// <summary>Real inputs the conformance builds use, builds through the CLI, and the python consumer checkers.</summary>
internal static class Consumers
{
    public static readonly string CocoCaptions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");
    public static readonly string CocoImages = TestPaths.RealFile("coco-mini", "val2017");
    public static readonly string TextVqaRoot = TestPaths.RealFile("textvqa", "hf-dummy");
    public static readonly string TextVqaTrain = TestPaths.RealFile("textvqa", "hf-dummy", "TextVQA_0.5.1_train.json");
    public static readonly string OkVqaQuestions = TestPaths.RealFile("okvqa", "OpenEnded_mscoco_val2014_questions.json");
    public static readonly string ScienceQaLlava = TestPaths.RealFile("scienceqa", "llava_test_CQM-A.json");
    public static readonly string LlamaFactoryReference = TestPaths.RealFile("reference-outputs", "llama-factory");

    /// <summary>Runs <c>mllmdata build ... --out TEMP</c> in process and returns the output folder; the build must succeed.</summary>
    public static async Task<string> BuildAsync(params string[] args)
    {
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync(["build", .. args, "--out", outDir, "-v", "quiet"]);
        Assert.True(r.ExitCode == 0, $"build {string.Join(' ', args)} exited {r.ExitCode}: {r.Error}");
        return outDir;
    }

    public static Task<string> CocoAsync(string format, params string[] extra) =>
        BuildAsync(["--adapter", "coco-captions", "--input", $"captions={CocoCaptions}", "--image-root", CocoImages, "--format", format, .. extra]);

    public static Task<string> TextVqaAsync(string format, params string[] extra) =>
        BuildAsync(["--adapter", "textvqa", "--input", $"questions={TextVqaTrain}", "--image-root", TextVqaRoot, "--format", format, .. extra]);

    /// <summary>LLaVA's ScienceQA conversion read back with the instructions adapter: 2017 records with an image, 2224 text-only.</summary>
    public static Task<string> ScienceQaMixAsync(string format, params string[] extra) =>
        BuildAsync(["--adapter", "instructions", "--input", $"file={ScienceQaLlava}", "--format", format, .. extra]);

    /// <summary>
    /// OK-VQA: the real val2014 questions (5046), grouped by image into multi-turn conversations. The annotations file is
    /// not among the fixtures (over 4 MiB), so the test writes one in the official layout, ten answers per question.
    /// </summary>
    public static Task<string> OkVqaAsync(string format, params string[] extra)
    {
        var questions = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(OkVqaQuestions))!["questions"]!.AsArray();
        string[] answers = ["a red bus", "two", "yes", "the kitchen", "winter"];
        var annotations = new System.Text.Json.Nodes.JsonArray();
        for (var i = 0; i < questions.Count; i++)
        {
            var list = new System.Text.Json.Nodes.JsonArray();
            for (var k = 0; k < 10; k++)
            {
                var a = answers[(i + (k / 4)) % answers.Length];
                list.Add(new System.Text.Json.Nodes.JsonObject { ["answer_id"] = k + 1, ["raw_answer"] = a, ["answer_confidence"] = "yes", ["answer"] = a });
            }

            annotations.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["image_id"] = questions[i]!["image_id"]!.GetValue<long>(), ["question_id"] = questions[i]!["question_id"]!.GetValue<long>(),
                ["answer_type"] = "other", ["question_type"] = "other", ["answers"] = list,
            });
        }

        var file = Path.Combine(TestPaths.NewTempDir(), "mscoco_val2014_annotations.json");
        File.WriteAllText(file, new System.Text.Json.Nodes.JsonObject { ["annotations"] = annotations }.ToJsonString());
        return BuildAsync(["--adapter", "okvqa", "--input", $"questions={OkVqaQuestions}", "--input", $"annotations={file}", "--answer", "majority", "--group-by-image", "--max-turns", "4", "--format", format, .. extra]);
    }

    /// <summary>Runs a checker of tests/scripts with python3; returns its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> CheckAsync(string script, string? workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? TestPaths.RepoRoot,
        };
        psi.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "tests", "scripts", script));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, (await stdout) + (await stderr));
    }

    /// <summary>The checker's closing summary line.</summary>
    public static string Summary(string output) => output.TrimEnd().Split('\n')[^1];

    /// <summary>The problem lines a checker printed, with the file path taken off.</summary>
    public static string[] Problems(string output, string path) =>
        [.. output.Split('\n').Where(l => l.StartsWith(path, StringComparison.Ordinal)).Select(l => l[path.Length..])];
}
