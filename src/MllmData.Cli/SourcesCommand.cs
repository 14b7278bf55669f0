using System.CommandLine;
using MllmData.Adapters;

namespace MllmData.Cli;

/// <summary><c>mllmdata sources</c>: adapters with their inputs and options.</summary>
public static class SourcesCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("adapter") { Description = "Show this adapter only", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("sources", "List source adapters, their input files and options (the adapter flags of `mllmdata build`)") { name };
        command.SetAction(async (parse, ct) =>
        {
            var o = parse.InvocationConfiguration.Output;
            var only = parse.GetValue(name);
            if (only is not null && AdapterRegistry.All.All(a => a.Name != only))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: unknown adapter '{only}'; known: {string.Join(", ", AdapterRegistry.All.Select(a => a.Name))}").ConfigureAwait(false);
                return CliApp.UsageError;
            }

            foreach (var a in AdapterRegistry.All.Where(a => only is null || a.Name == only))
            {
                await o.WriteLineAsync($"{a.Name}  {a.Description}").ConfigureAwait(false);
                foreach (var i in a.Inputs)
                {
                    await o.WriteLineAsync($"    --input {i.Name}=FILE  ({(i.Required ? "required" : "optional")}) {i.Description}").ConfigureAwait(false);
                }

                foreach (var opt in a.Options)
                {
                    var def = opt.Default is null ? string.Empty : $" [default: {opt.Default}]";
                    var values = opt.Allowed.Count == 0 ? string.Empty : $" [{(opt.List ? "list of" : "values")}: {string.Join(", ", opt.Allowed)}]";
                    // An on/off option is written as the bare flag it is on the command line.
                    var isFlag = opt.Allowed.SequenceEqual(AdapterOption.FlagValues);
                    var usage = isFlag ? $"--{opt.Name}" : $"--{opt.Name} {(opt.List ? "A,B,..." : "VALUE")}";
                    await o.WriteLineAsync($"    {usage}  {opt.Description}{(isFlag ? string.Empty : def + values)}").ConfigureAwait(false);
                }

                await o.WriteLineAsync($"    templates: {a.DefaultTemplatePack}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return command;
    }
}
