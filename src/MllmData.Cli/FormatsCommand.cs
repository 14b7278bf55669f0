using System.CommandLine;
using MllmData.Formats;

namespace MllmData.Cli;

/// <summary><c>mllmdata formats</c>: the output formats, from the registry, with what each can hold.</summary>
public static class FormatsCommand
{
    public static Command Create()
    {
        var command = new Command("formats", "List the output formats and what each can hold");
        command.SetAction(async (parse, ct) =>
        {
            var o = parse.InvocationConfiguration.Output;
            foreach (var f in FormatRegistry.All)
            {
                var c = f.Capabilities;
                await o.WriteLineAsync($"{f.Name}: {f.Description}").ConfigureAwait(false);
                await o.WriteLineAsync($"  read by: {f.Consumer}").ConfigureAwait(false);
                await o.WriteLineAsync(
                    $"  images: {Carriage(c.Images)}{(c.MultiImage ? ", several per record" : ", one per record")}{(c.MaxImages is { } max ? $" (at most {max})" : string.Empty)}; "
                    + $"turns: {(c.MultiTurn ? "several" : "one")}; system message: {(c.SystemMessage ? "yes" : "no")}; text-only records: {(c.TextOnly ? "yes" : "no")}; "
                    + $"meta by default: {(c.MetaByDefault ? "yes" : "no")}; containers: {string.Join(", ", c.Containers)}; read back: {(c.Readable ? "yes" : "no")}").ConfigureAwait(false);
                if (c.UploadLimits is { } limits)
                {
                    await o.WriteLineAsync($"  shards split before: {limits.Reason}").ConfigureAwait(false);
                }
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static string Carriage(ImageCarriage c) => c switch
    {
        ImageCarriage.Paths => "paths",
        ImageCarriage.Embedded => "embedded base64",
        _ => "embedded base64 or URLs (--image-url-prefix)",
    };
}
