using System.CommandLine;
using System.Text.Json;
using MllmData.Formats;

namespace MllmData.Cli;

/// <summary><c>mllmdata validate FILE... --format F</c>: checks any file, ours or not, as its trainer would.</summary>
public static class ValidateCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var files = new Argument<string[]>("files") { Description = "JSONL files, JSON lists or Parquet shards of a build, or a build's folder (the shards its manifest lists)", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string>("--format") { Description = FormatRegistry.NameList, Required = true };
        format.AcceptOnlyFromAmong([.. FormatRegistry.Names]);
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var bos = new Option<string?>("--bos") { Description = "Begin token of the template format (default <BOS>)" };
        var eos = new Option<string?>("--eos") { Description = "End token of the template format (default <EOS>)" };
        var imageToken = new Option<string?>("--image-token") { Description = "Image placeholder (default <image>)" };
        var command = new Command("validate", "Check files record by record; exit 0 when clean, 2 otherwise") { files, format, json, bos, eos, imageToken };
        command.SetAction((parse, ct) => CliApp.RunAsync(parse, globals, async _ =>
        {
            var options = new RenderOptions
            {
                Bos = parse.GetValue(bos) ?? "<BOS>",
                Eos = parse.GetValue(eos) ?? "<EOS>",
                ImageToken = parse.GetValue(imageToken) ?? "<image>",
                ImageFilesOnly = true,
            };
            var validator = new FileValidator(FormatRegistry.Get(parse.GetValue(format)!).CreateValidator(options));
            var findings = new List<FileFinding>();
            var summaries = new List<FileSummary>();
            foreach (var f in parse.GetValue(files)!)
            {
                // A build's folder stands for the shards its manifest lists.
                foreach (var shard in File.Exists(Path.Combine(f, Output.OutputFolder.ManifestFile)) ? ShardsOf(f) : [f])
                {
                    if (Inputs.InputFiles.Missing(shard) is { } missing)
                    {
                        throw missing;
                    }

                    summaries.Add(validator.Validate(shard, findings.Add));
                }
            }

            var totals = findings.GroupBy(x => x.Code).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count());
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                await o.WriteLineAsync(Report(summaries, findings, totals)).ConfigureAwait(false);
            }
            else
            {
                foreach (var f in findings)
                {
                    await o.WriteLineAsync($"{f.File}:{f.Where}: {f.Code}: {f.Message}").ConfigureAwait(false);
                }

                foreach (var s in summaries)
                {
                    await o.WriteLineAsync($"{s.File}: {s.Records} records, {s.Bad} bad" + (s.BlankLines > 0 ? $", {s.BlankLines} blank lines skipped" : string.Empty)).ConfigureAwait(false);
                }

                await o.WriteLineAsync("totals: " + (totals.Count == 0 ? "clean" : string.Join(", ", totals.Select(kv => $"{kv.Key}={kv.Value}")))).ConfigureAwait(false);
            }

            return findings.Count == 0 ? CliApp.Ok : CliApp.DataError;
        }));
        return command;
    }

    /// <summary>The shard files a build folder's manifest lists (checked as <c>stats</c> checks them).</summary>
    private static List<string> ShardsOf(string dir) => [.. Stats.StatsReader.ShardPaths(dir, Stats.StatsReader.Manifest(dir)).Select(s => s.Path)];

    private static string Report(List<FileSummary> summaries, List<FileFinding> findings, Dictionary<string, long> totals)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("files");
            foreach (var s in summaries)
            {
                w.WriteStartObject();
                w.WriteString("path", s.File);
                w.WriteNumber("records", s.Records);
                w.WriteNumber("bad", s.Bad);
                w.WriteNumber("blank_lines", s.BlankLines);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("findings");
            foreach (var f in findings)
            {
                w.WriteStartObject();
                w.WriteString("file", f.File);
                w.WriteString("where", f.Where);
                w.WriteNumber("line", f.Line);
                w.WriteString("code", f.Code);
                w.WriteString("message", f.Message);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("totals");
            foreach (var (k, v) in totals)
            {
                w.WriteNumber(k, v);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
