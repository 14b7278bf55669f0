using System.CommandLine;
using MllmData.Generation;
using MllmData.Recipes;
using MllmData.Templates;

namespace MllmData.Cli;

/// <summary><c>mllmdata self-instruct</c>: conversations, detailed descriptions and complex reasoning from captions and boxes.</summary>
public static class SelfInstructCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var adapter = new Option<string>("--adapter") { Description = "A caption adapter; coco-captions also takes --input instances=FILE for object boxes", DefaultValueFactory = _ => "coco-captions" };
        var input = new Option<string[]>("--input") { Description = "Input file as NAME=FILE, e.g. captions=captions_train2017.json, instances=instances_train2017.json" };
        var kinds = new Option<string>("--kinds") { Description = "Comma-separated: conversation, detail, complex, tool-use", DefaultValueFactory = _ => "conversation,detail,complex" };
        var tools = new Option<string?>("--tools") { Description = "tool-use: the tool catalogue, a YAML file or the name of one in templates/tools/ (default vision-tools)" };
        var perImage = new Option<int>("--per-image") { Description = "Samples of each kind per image", DefaultValueFactory = _ => 1 };
        var fewShot = new Option<int>("--few-shot") { Description = "Seed examples per request (chosen per image, seeded)", DefaultValueFactory = _ => 2 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature", DefaultValueFactory = _ => 0.7f };
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var format = new Option<string>("--format") { Description = "llava, sharegpt, swift, openai (with --image-url-prefix) or template", DefaultValueFactory = _ => "llava" };
        var seed = new Option<long>("--seed") { Description = "Seed for few-shot choice and detail instructions" };
        var name = new Option<string>("--name") { Description = "Dataset name used in shard file names", DefaultValueFactory = _ => "self-instruct" };
        var imageUrlPrefix = new Option<string?>("--image-url-prefix") { Description = "openai: image URLs under this prefix" };
        var strict = new Option<bool>("--strict") { Description = "Any reject stops the run (exit 2) and leaves no shard" };
        var hallucination = new Option<string>("--hallucination")
        {
            Description = "coco-captions: object mentions in generated answers that neither the image's annotations (instances) nor its captions hold: flag (count them in meta and the manifest), reject (reject such samples: hallucinated-object) or off",
            DefaultValueFactory = _ => "flag",
        };
        hallucination.AcceptOnlyFromAmong("reject", "flag", "off");
        var model = new ModelOptions(defaultMaxOutputTokens: 700);
        var batch = new BatchOptions();
        var command = new Command("self-instruct", "Generate instruction data from captions and object boxes with a chat model")
        {
            adapter, input, kinds, tools, perImage, fewShot, temperature, output, format, seed, name, imageUrlPrefix, strict, hallucination,
        };
        model.AddTo(command);
        batch.AddTo(command);
        var sharding = new ShardOptions();
        sharding.AddTo(command);
        command.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async log =>
        {
            var library = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            var inputs = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var v in parse.GetValue(input) ?? [])
            {
                var eq = v.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || !inputs.TryAdd(v[..eq], v[(eq + 1)..]))
                {
                    throw new UsageException($"--input takes NAME=FILE once per name, got '{v}'");
                }
            }

            var settings = model.Read(parse, new SelfInstructSettings
            {
                Adapter = parse.GetValue(adapter)!,
                Inputs = inputs,
                Kinds = [.. parse.GetValue(kinds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                PerImage = parse.GetValue(perImage),
                FewShot = parse.GetValue(fewShot),
                Temperature = parse.GetValue(temperature),
                Tools = parse.GetValue(tools),
                Hallucination = parse.GetValue(hallucination)!,
            });
            var recipe = new Recipe
            {
                Name = parse.GetValue(name)!,
                Format = parse.GetValue(format)!,
                Seed = parse.GetValue(seed),
                Strict = parse.GetValue(strict),
                ImageUrlPrefix = parse.GetValue(imageUrlPrefix),
                SelfInstruct = settings,
            };
            RecipeLoader.Validate(recipe);
            if (batch.Submit(parse))
            {
                var root = TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir));
                var target = parse.GetValue(output)!;
                return await BatchCommand.SubmitAsync(parse, log, batch, "self-instruct", BatchJobs.SelfInstruct(settings, recipe, target, root, log), BatchJobs.Describe(settings, recipe, target, root), parse.GetValue(model.DryRun), ct).ConfigureAwait(false);
            }

            if (parse.GetValue(model.DryRun))
            {
                await ModelOptions.PrintDryRun(parse.InvocationConfiguration.Output, await SelfInstructRunner.DryRunAsync(settings, library, log, recipe.Seed, ct).ConfigureAwait(false), settings.Model).ConfigureAwait(false);
                return CliApp.Ok;
            }

            var outDir = parse.GetValue(output)!;
            var split = sharding.Read(parse);
            await SelfInstructRunner.RunAsync(settings, recipe, outDir, library, log, ct, split).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync(Path.Combine(outDir, split is null ? "manifest.json" : "part.json")).ConfigureAwait(false);
            return CliApp.Ok;
        }));
        return command;
    }
}
