using System.CommandLine;
using MllmData.Templates;

namespace MllmData.Cli;

/// <summary><c>mllmdata templates list|show|lint</c>.</summary>
public static class TemplatesCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("templates", "Inspect and lint template packs");

        var list = new Command("list", "List template packs");
        list.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async _ =>
        {
            var lib = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            foreach (var p in lib.Packs)
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync(
                    $"{p.Id}\ttask={p.Task}\ttemplates={p.Templates.Count}\tsuffixes={p.Suffixes.Count}\t{p.Description}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        }));

        var packArg = new Argument<string>("pack") { Description = "Pack id or YAML file" };
        var show = new Command("show", "Show the templates of a pack") { packArg };
        show.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async _ =>
        {
            var lib = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            var p = lib.Get(parse.GetValue(packArg)!);
            var o = parse.InvocationConfiguration.Output;
            await o.WriteLineAsync($"{p.Id} (task {p.Task}, placeholders: {string.Join(", ", p.Placeholders)}) from {p.Path}").ConfigureAwait(false);
            foreach (var t in p.Templates)
            {
                var tags = t.Tags.Count > 0 ? $" [{string.Join(",", t.Tags)}]" : string.Empty;
                await o.WriteLineAsync($"  {t.Id}{tags}: {t.Text.Replace("\n", "\\n", StringComparison.Ordinal)}").ConfigureAwait(false);
            }

            foreach (var s in p.Suffixes)
            {
                var mark = s.Id == p.DefaultSuffix ? " (default)" : string.Empty;
                await o.WriteLineAsync($"  suffix {s.Id}{mark}: {s.Text}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        }));

        var packsArg = new Argument<string[]>("packs") { Description = "Pack ids or YAML files (default: all packs)", Arity = ArgumentArity.ZeroOrMore };
        var lint = new Command("lint", "Find duplicate, empty or near-identical templates, unknown placeholders, and frame problems (unknown slots, no {output}); exit 2 when any") { packsArg };
        lint.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async _ =>
        {
            var lib = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            var names = parse.GetValue(packsArg) ?? [];

            // Frames are linted beside the packs: all of them with no names, else those named (by id or frame file).
            var allFrames = FrameLibrary.All(lib.Root);
            var frames = names.Length == 0 ? allFrames.ToList() : [.. names.Select(n => allFrames.FirstOrDefault(f => f.Id == n) ?? (IsFrameFile(n) ? FrameLibrary.LoadFile(n) : null)).OfType<Frame>()];
            var frameIds = frames.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
            var packs = names.Length == 0 ? lib.Packs.ToList() : names.Where(n => !frameIds.Contains(n) && !IsFrameFile(n)).Select(lib.Get).ToList();
            var o = parse.InvocationConfiguration.Output;
            var total = 0;
            foreach (var f in frames)
            {
                var findings = FrameLibrary.Lint(f);
                total += findings.Count;
                foreach (var x in findings)
                {
                    await o.WriteLineAsync($"{f.Path}: {x.TemplateId}: {x.Code}: {x.Message}").ConfigureAwait(false);
                }
            }

            foreach (var p in packs)
            {
                var findings = TemplateLinter.Lint(p);
                total += findings.Count;
                foreach (var f in findings)
                {
                    await o.WriteLineAsync($"{p.Path}: {f.TemplateId}: {f.Code}: {f.Message}").ConfigureAwait(false);
                }
            }

            await o.WriteLineAsync($"{packs.Count} packs, {packs.Sum(p => p.Templates.Count)} templates, {frames.Count} frames, {total} findings").ConfigureAwait(false);
            return total == 0 ? CliApp.Ok : CliApp.DataError;
        }));

        command.Subcommands.Add(list);
        command.Subcommands.Add(show);
        command.Subcommands.Add(lint);
        return command;
    }

    /// <summary>A YAML file that holds a frame (a <c>turn</c> key) rather than a template pack.</summary>
    private static bool IsFrameFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        // A name that is a file must be one that can be read: a dangling link or a FIFO is said so, not crashed on or waited for.
        using var reader = new StreamReader(MllmData.Inputs.InputFiles.OpenChecked(path));
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (line.StartsWith("turn:", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
