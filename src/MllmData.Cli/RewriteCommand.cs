using System.CommandLine;
using MllmData.Generation;
using MllmData.Recipes;
using MllmData.Templates;

namespace MllmData.Cli;

/// <summary><c>mllmdata rewrite --in DIR --out DIR</c>: lengthen short answers through a chat model, cached and budgeted.</summary>
public static class RewriteCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var input = new Option<string>("--in") { Description = "Output folder of `mllmdata build` (llava, sharegpt, swift, openai or m3it)", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for the rewritten shards", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "question-only, with-captions, with-image, rationale (a short chain of reasoning ending in \"Answer: X\"), or a prompt pack file", DefaultValueFactory = _ => "question-only" };
        var captions = new Option<string?>("--captions") { Description = "COCO captions file for the with-captions prompt" };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder of the images for the with-image prompt" };
        var select = new Option<string>("--select") { Description = "short = answers of at most --max-answer-words words; all = every answer", DefaultValueFactory = _ => "short" };
        select.AcceptOnlyFromAmong("short", "all");
        var maxWords = new Option<int>("--max-answer-words") { DefaultValueFactory = _ => 3, Description = "Longest answer counted as short" };
        var keepRaw = new Option<bool>("--keep-raw-on-failure") { Description = "Keep the raw answer when a rewrite fails or is rejected, instead of rejecting the record" };
        var instances = new Option<string?>("--instances") { Description = "COCO instances file: each image's annotated objects, for the hallucination check" };
        var hallucination = new Option<string>("--hallucination")
        {
            Description = "Object mentions of rewrites that neither the image's annotations (--instances) nor its captions (--captions) hold: flag (count them in meta and the manifest), reject (reject such rewrites: hallucinated-object) or off",
            DefaultValueFactory = _ => "flag",
        };
        hallucination.AcceptOnlyFromAmong("reject", "flag", "off");
        var packs = new Option<string[]>("--templates")
        {
            Description = "The build's own template pack file (repeatable): its response-format suffixes (\"Answer in one word.\") are taken off rewritten questions as the built-in packs' are",
        };
        var model = new ModelOptions(defaultMaxOutputTokens: 120);
        var batch = new BatchOptions();
        var command = new Command("rewrite", "Lengthen short answers faithfully with a chat model (Azure OpenAI or OpenAI-compatible)")
        {
            input, output, prompt, captions, imageRoot, select, maxWords, keepRaw, instances, hallucination, packs,
        };
        model.AddTo(command);
        batch.AddTo(command);
        var sharding = new ShardOptions();
        sharding.AddTo(command);
        command.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async log =>
        {
            var library = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            var settings = model.Read(parse, new RewriteSettings
            {
                Prompt = parse.GetValue(prompt)!,
                Captions = parse.GetValue(captions),
                ImageRoot = parse.GetValue(imageRoot),
                Select = parse.GetValue(select)!,
                MaxAnswerWords = parse.GetValue(maxWords),
                KeepRawOnFailure = parse.GetValue(keepRaw),
                Instances = parse.GetValue(instances),
                Hallucination = parse.GetValue(hallucination)!,
                TemplatePacks = parse.GetValue(packs) is { Length: > 0 } given ? [.. given.Select(p => File.Exists(p) ? Path.GetFullPath(p) : p)] : null,
            });
            if (settings.Problem("rewrite") is { } problem)
            {
                throw new UsageException(problem);
            }

            var inDir = parse.GetValue(input)!;
            var outDir = parse.GetValue(output)!;
            var o = parse.InvocationConfiguration.Output;
            if (batch.Submit(parse))
            {
                var root = TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir));
                return await BatchCommand.SubmitAsync(parse, log, batch, "rewrite", BatchJobs.Rewrite(settings, inDir, outDir, root, log), BatchJobs.Describe(settings, inDir, outDir, root), parse.GetValue(model.DryRun), ct).ConfigureAwait(false);
            }

            if (parse.GetValue(model.DryRun))
            {
                await ModelOptions.PrintDryRun(o, RewriteRunner.DryRun(settings, inDir, library, log), settings.Model).ConfigureAwait(false);
                return CliApp.Ok;
            }

            var split = sharding.Read(parse);
            await RewriteRunner.RunAsync(settings, inDir, outDir, library, log, ct, split).ConfigureAwait(false);
            await o.WriteLineAsync(Path.Combine(outDir, split is null ? "manifest.json" : "part.json")).ConfigureAwait(false);
            return CliApp.Ok;
        }));
        return command;
    }
}
