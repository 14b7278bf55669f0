using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.ModelCalls;
using MllmData.ModelCalls.Batch;
using MllmData.Recipes;
using MllmData.Templates;
using Serilog;

namespace MllmData.Generation;

/// <summary>
/// The model work of <c>rewrite</c> and <c>self-instruct</c> for the Batch path: described into <c>batch.json</c> at
/// submit time and rebuilt from it at collect time, so the requests and the finishing run are those of the synchronous
/// command with the same settings.
/// </summary>
public static class BatchJobs
{
    /// <summary>A command's work with the settings it was made from.</summary>
    public sealed record Job(IBatchWork Work, ModelSettings Settings, string OutDir);

    private static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The work of <c>mllmdata rewrite --in IN --out OUT</c>.</summary>
    public static Job Rewrite(RewriteSettings settings, string inDir, string outDir, string templatesRoot, ILogger log)
    {
        var library = TemplateLibrary.Load(templatesRoot);
        var rewriter = RewriteRunner.Prepare(settings, library, log, out _);
        if (Path.GetFullPath(inDir) == Path.GetFullPath(outDir))
        {
            throw new UsageException("--in and --out must be different folders");
        }

        return new Job(new RewriteWork(rewriter, inDir, outDir), settings, outDir);
    }

    /// <summary>The work of <c>mllmdata self-instruct --out OUT</c> writing <paramref name="output"/>.</summary>
    public static Job SelfInstruct(SelfInstructSettings settings, Recipe output, string outDir, string templatesRoot, ILogger log)
    {
        SelfInstructRunner.CheckFormat(output);
        return new Job(new SelfInstructWork(settings, output, outDir, TemplateLibrary.Load(templatesRoot), log), settings, outDir);
    }

    /// <summary>What <c>batch.json</c> keeps of a rewrite, to rebuild it with <see cref="FromState"/>.</summary>
    public static JsonObject Describe(RewriteSettings settings, string inDir, string outDir, string templatesRoot) => new()
    {
        ["in"] = inDir,
        ["out"] = outDir,
        ["templates"] = Path.GetFullPath(templatesRoot),
        ["settings"] = JsonSerializer.SerializeToNode(settings, Options),
    };

    /// <summary>What <c>batch.json</c> keeps of a self-instruct run.</summary>
    public static JsonObject Describe(SelfInstructSettings settings, Recipe output, string outDir, string templatesRoot) => new()
    {
        ["out"] = outDir,
        ["templates"] = Path.GetFullPath(templatesRoot),
        ["settings"] = JsonSerializer.SerializeToNode(settings, Options),
        ["output"] = new JsonObject
        {
            ["name"] = output.Name,
            ["format"] = output.Format,
            ["seed"] = output.Seed,
            ["strict"] = output.Strict,
            ["image_url_prefix"] = output.ImageUrlPrefix,
        },
    };

    /// <summary>The work a <c>batch.json</c> describes.</summary>
    public static Job FromState(BatchState state, ILogger log)
    {
        var job = state.Job;
        string Str(string name) => job[name]?.GetValue<string>() ?? throw new UsageException($"{BatchState.FileName}: job.{name} is missing");
        var settingsNode = job["settings"] ?? throw new UsageException($"{BatchState.FileName}: job.settings is missing");
        switch (state.Command)
        {
            case "rewrite":
                {
                    var settings = settingsNode.Deserialize<RewriteSettings>(Options)!;
                    return Rewrite(settings, Str("in"), Str("out"), Str("templates"), log);
                }

            case "self-instruct":
                {
                    var settings = settingsNode.Deserialize<SelfInstructSettings>(Options)!;
                    settings.Inputs = new SortedDictionary<string, string>(settings.Inputs, StringComparer.Ordinal);
                    var o = job["output"] as JsonObject ?? throw new UsageException($"{BatchState.FileName}: job.output is missing");
                    var recipe = new Recipe
                    {
                        Name = o["name"]!.GetValue<string>(),
                        Format = o["format"]!.GetValue<string>(),
                        Seed = o["seed"]!.GetValue<long>(),
                        Strict = o["strict"]!.GetValue<bool>(),
                        ImageUrlPrefix = o["image_url_prefix"]?.GetValue<string>(),
                        SelfInstruct = settings,
                    };
                    RecipeLoader.Validate(recipe);
                    return SelfInstruct(settings, recipe, Str("out"), Str("templates"), log);
                }

            default:
                throw new UsageException($"{BatchState.FileName}: unknown command '{state.Command}'");
        }
    }

    private sealed class RewriteWork(Rewriter rewriter, string inDir, string outDir) : IBatchWork
    {
        public IEnumerable<ChatRequest> Requests() => rewriter.Requests(inDir);

        public Task FinishAsync(ModelCallPath calls, CancellationToken ct) => rewriter.RunAsync(inDir, outDir, calls, ct);
    }

    private sealed class SelfInstructWork(SelfInstructSettings settings, Recipe output, string outDir, TemplateLibrary library, ILogger log) : IBatchWork
    {
        public IEnumerable<ChatRequest> Requests() =>
            SelfInstructRunner.RequestsAsync(settings, library, log, output.Seed, CancellationToken.None).GetAwaiter().GetResult();

        public Task FinishAsync(ModelCallPath calls, CancellationToken ct) => SelfInstructRunner.RunAsync(settings, output, outDir, library, calls, log, ct);
    }
}
