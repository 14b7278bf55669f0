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
        var model = new ModelOptions(defaultMaxOutputTokens: 120);
        var command = new Command("rewrite", "Lengthen short answers faithfully with a chat model (Azure OpenAI or OpenAI-compatible)")
        {
            input, output, prompt, captions, imageRoot, select, maxWords, keepRaw,
        };
        model.AddTo(command);
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
            });
            if (settings.Problem("rewrite") is { } problem)
            {
                throw new UsageException(problem);
            }

            var inDir = parse.GetValue(input)!;
            var outDir = parse.GetValue(output)!;
            var o = parse.InvocationConfiguration.Output;
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
