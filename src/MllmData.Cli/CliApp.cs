using System.CommandLine;
using MllmData.Adapters;
using MllmData.Json;
using MllmData.Pipeline;
using Serilog;
using Serilog.Events;

namespace MllmData.Cli;

/// <summary>Builds the command tree; every command shares the exit-code and logging conventions here.</summary>
public static class CliApp
{
    public const int Ok = 0;
    public const int UsageError = 1;
    public const int DataError = 2;

    public static readonly Option<string> Verbosity = new("--verbosity", "-v")
    {
        Description = "Log detail on stderr: quiet, minimal, normal, detailed or diagnostic",
        DefaultValueFactory = _ => "normal",
        Recursive = true,
    };

    public static readonly Option<string?> TemplatesDir = new("--templates-dir")
    {
        Description = "Folder of template packs (default: MLLMDATA_TEMPLATES, else templates/ beside the tool)",
        Recursive = true,
    };

    public static RootCommand CreateRoot()
    {
        Verbosity.AcceptOnlyFromAmong("quiet", "minimal", "normal", "detailed", "diagnostic");
        var root = new RootCommand("mllmdata: build multimodal instruction-tuning datasets from vision-language benchmarks")
        {
            Verbosity,
            TemplatesDir,
        };
        root.Subcommands.Add(BuildCommand.Create());
        root.Subcommands.Add(SourcesCommand.Create());
        root.Subcommands.Add(TemplatesCommand.Create());
        return root;
    }

    public static Serilog.Core.Logger CreateLogger(ParseResult parse)
    {
        var level = parse.GetValue(Verbosity) switch
        {
            "quiet" => LogEventLevel.Error,
            "minimal" => LogEventLevel.Warning,
            "detailed" => LogEventLevel.Debug,
            "diagnostic" => LogEventLevel.Verbose,
            _ => LogEventLevel.Information,
        };
        return new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .WriteTo.Console(
                standardErrorFromLevel: LogEventLevel.Verbose,
                formatProvider: System.Globalization.CultureInfo.InvariantCulture,
                outputTemplate: "[{Level:u3}] {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
    }

    /// <summary>Runs a command body, turning the tool's exceptions into messages and exit codes.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<ILogger, Task<int>> body)
    {
        using var log = CreateLogger(parse);
        var error = parse.InvocationConfiguration.Error;
        try
        {
            return await body(log).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return UsageError;
        }
        catch (InputDataException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return DataError;
        }
        catch (StrictRejectException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return DataError;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return 130;
        }
    }
}
