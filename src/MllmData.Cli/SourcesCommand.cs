using System.CommandLine;
using MllmData.Adapters;

namespace MllmData.Cli;

/// <summary><c>mllmdata sources</c>: adapters with their inputs and options.</summary>
public static class SourcesCommand
{
    public static Command Create()
    {
        var command = new Command("sources", "List source adapters, their input files and options");
        command.SetAction(async (parse, ct) =>
        {
            var o = parse.InvocationConfiguration.Output;
            foreach (var a in AdapterRegistry.All)
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
                    await o.WriteLineAsync($"    --{opt.Name}  {opt.Description}{def}{values}").ConfigureAwait(false);
                }

                await o.WriteLineAsync($"    templates: {a.DefaultTemplatePack}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return command;
    }
}
