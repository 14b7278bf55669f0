using System.CommandLine;
using MllmData.Stats;
using MllmData.Templates;

namespace MllmData.Cli;

/// <summary><c>mllmdata stats DIR [B] [--json FILE] [--html FILE]</c>: the figures of a build, or of two side by side.</summary>
public static class StatsCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var dirs = new Argument<string[]>("DIR")
        {
            Description = "A build's output folder (the one holding manifest.json); give two to compare them side by side (e.g. before and after rewrite)",
            Arity = new ArgumentArity(1, 2),
        };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to this file" };
        var html = new Option<string?>("--html") { Description = "Also write a self-contained HTML report (inline SVG charts, sample records, thumbnails) to this file" };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder the records' image paths are relative to, for the report's thumbnails (default: the build folder)" };
        var imageToken = new Option<string>("--image-token") { Description = "Image placeholder taken out of texts before they are counted", DefaultValueFactory = _ => "<image>" };
        var tokenSample = new Option<int>("--token-sample")
        {
            Description = "Count o200k tokens on at most this many records, those with the smallest hash of their id (0: every record); the other figures count every record",
            DefaultValueFactory = _ => DatasetStats.DefaultTokenSample,
        };
        tokenSample.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--token-sample must be 0 (every record) or more");
            }
        });
        var command = new Command("stats", "Figures of a build: records, turns and images per record, per source and task, o200k token lengths, short answers, answer kinds, top answers, templates, images, rejects, rewrite usage")
        {
            dirs, json, html, imageRoot, imageToken, tokenSample,
        };
        command.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async _ =>
        {
            var folders = parse.GetValue(dirs)!;
            var (jsonPath, htmlPath) = (parse.GetValue(json), parse.GetValue(html));
            foreach (var target in new[] { jsonPath, htmlPath }.OfType<string>())
            {
                if (Path.GetDirectoryName(Path.GetFullPath(target)) is { } parent && !Directory.Exists(parent))
                {
                    throw new UsageException($"{target}: its folder does not exist");
                }
            }

            var library = TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir)));
            var finder = new QuestionFinder(library);
            var token = parse.GetValue(imageToken)!;
            var stats = folders.Select(f => StatsReader.Read(f, finder, token, parse.GetValue(tokenSample), ct)).ToList();
            var o = parse.InvocationConfiguration.Output;
            var lines = stats.Count == 1 ? StatsReport.Lines(stats[0]) : StatsReport.CompareLines(stats[0], stats[1]);
            foreach (var line in lines)
            {
                await o.WriteLineAsync(line).ConfigureAwait(false);
            }

            if (jsonPath is not null)
            {
                var text = stats.Count == 1 ? StatsReport.Json(stats[0]) : StatsReport.CompareJson(stats[0], stats[1]);
                Output.AtomicFile.Write(jsonPath, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));
            }

            if (htmlPath is not null)
            {
                var report = new HtmlReport(parse.GetValue(imageRoot));
                var text = stats.Count == 1 ? report.Render(stats[0]) : report.RenderComparison(stats[0], stats[1]);
                Output.AtomicFile.Write(htmlPath, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));
            }

            return CliApp.Ok;
        }));
        return command;
    }
}
