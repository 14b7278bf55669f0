using System.CommandLine;
using MllmData.Merging;
using MllmData.Templates;

namespace MllmData.Cli;

/// <summary><c>mllmdata merge PART... --out DIR</c>: the parts of a job array, byte-identical to the single-process run.</summary>
public static class MergeCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var parts = new Argument<string[]>("parts") { Description = "Part folders written by the workers (--num-shards N --shard-index I), every index once", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Output folder for the merged build", Required = true };
        var command = new Command("merge", "Merge the parts of a job array (build, rewrite or self-instruct with --num-shards) into the output a single process writes")
        {
            parts, output,
        };
        command.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async log =>
        {
            var templates = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            var result = await PartMerge.RunAsync(parse.GetValue(parts)!, parse.GetValue(output)!, log, ct, templates).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync(result.ManifestPath).ConfigureAwait(false);
            return CliApp.Ok;
        }));
        return command;
    }
}
