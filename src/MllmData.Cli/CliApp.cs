using System.CommandLine;
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

    /// <summary>
    /// Parses and runs a command line. A usage mistake is one line on stderr and a pointer to the command's help
    /// (exit 1), not the whole help text.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, InvocationConfiguration? configuration = null)
    {
        var config = configuration ?? new InvocationConfiguration();
        var parse = CreateRoot().Parse(args);
        if (parse.Errors.Count == 0 && OptionLike(parse) is { } unknown)
        {
            await config.Error.WriteLineAsync($"error: Unrecognized option '{unknown}' (a file whose name starts with '-' is given as ./{unknown}, or after --)").ConfigureAwait(false);
            await config.Error.WriteLineAsync($"see {CommandPath(parse)} --help").ConfigureAwait(false);
            return UsageError;
        }

        if (parse.Errors.Count > 0)
        {
            var command = CommandPath(parse);
            // An unknown word says more than the "required command" that follows from it.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            await config.Error.WriteLineAsync($"error: {OneLine(error)}").ConfigureAwait(false);
            await config.Error.WriteLineAsync($"see {command} --help").ConfigureAwait(false);
            return UsageError;
        }

        return await parse.InvokeAsync(config).ConfigureAwait(false);
    }

    /// <summary>The command as typed from the root, e.g. <c>mllmdata batch status</c>.</summary>
    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var c = parse.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, c.Command is RootCommand ? "mllmdata" : c.Command.Name);
        }

        return string.Join(' ', names);
    }

    /// <summary>
    /// A word taken as a command's positional argument (a path) that reads as an option no command knows: <c>stats DIR --bogus</c>
    /// would look for a folder named <c>--bogus</c>. A lone <c>-</c> and words after <c>--</c> are arguments as typed.
    /// </summary>
    public static string? OptionLike(ParseResult parse)
    {
        var doubleDash = -1;
        for (var i = 0; i < parse.Tokens.Count; i++)
        {
            if (parse.Tokens[i].Type == System.CommandLine.Parsing.TokenType.DoubleDash)
            {
                doubleDash = i;
                break;
            }
        }

        foreach (var argument in parse.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>())
        {
            foreach (var token in argument.Tokens)
            {
                if (token.Value.Length > 1 && token.Value[0] == '-' && (doubleDash < 0 || IndexOf(parse.Tokens, token) < doubleDash))
                {
                    return token.Value;
                }
            }
        }

        return null;
    }

    private static int IndexOf(IReadOnlyList<System.CommandLine.Parsing.Token> tokens, System.CommandLine.Parsing.Token token)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A parse error on one line, in words rather than .NET type names, naming the option when there is one.</summary>
    public static string OneLine(System.CommandLine.Parsing.ParseError error)
    {
        var lines = error.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var text = lines.Length == 1 ? lines[0]
            : lines[0].TrimEnd(':') + " " + string.Join(", ", lines.Skip(1).Select(l => l.Trim('\'', '\t')));
        text = System.Text.RegularExpressions.Regex.Replace(text, @" as expected type '([^']*)'", m => " as " + TypeInWords(m.Groups[1].Value));
        var option = error.SymbolResult switch
        {
            System.CommandLine.Parsing.OptionResult o => o.Option.Name,
            System.CommandLine.Parsing.ArgumentResult { Parent: System.CommandLine.Parsing.OptionResult o } => o.Option.Name,
            _ => null,
        };
        return option is not null && !text.Contains(option, StringComparison.Ordinal) ? $"{option}: {text}" : text;
    }

    private static string TypeInWords(string type) =>
        type.Contains("Int", StringComparison.Ordinal) ? "a whole number"
        : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal) ? "a number"
        : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
        : "a value of this option";

    /// <summary>A fresh command tree; each call builds new option objects, so trees can be used side by side.</summary>
    public static RootCommand CreateRoot()
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("mllmdata: build multimodal instruction-tuning datasets from vision-language benchmarks")
        {
            globals.Verbosity,
            globals.TemplatesDir,
        };
        root.Subcommands.Add(BuildCommand.Create(globals));
        root.Subcommands.Add(SourcesCommand.Create());
        root.Subcommands.Add(TemplatesCommand.Create(globals));
        root.Subcommands.Add(ValidateCommand.Create(globals));
        root.Subcommands.Add(FormatsCommand.Create());
        root.Subcommands.Add(RewriteCommand.Create(globals));
        root.Subcommands.Add(SelfInstructCommand.Create(globals));
        root.Subcommands.Add(ScoreCommand.Create(globals));
        root.Subcommands.Add(BatchCommand.Create(globals));
        root.Subcommands.Add(MergeCommand.Create(globals));
        root.Subcommands.Add(StatsCommand.Create(globals));
        return root;
    }

    public static Serilog.Core.Logger CreateLogger(ParseResult parse, GlobalOptions globals)
    {
        var level = parse.GetValue(globals.Verbosity) switch
        {
            "quiet" => LogEventLevel.Error,
            "minimal" => LogEventLevel.Warning,
            "detailed" => LogEventLevel.Debug,
            "diagnostic" => LogEventLevel.Verbose,
            _ => LogEventLevel.Information,
        };
        var config = new LoggerConfiguration().MinimumLevel.Is(level);
        const string Template = "[{Level:u3}] {Message:lj}{NewLine}{Exception}";
        var error = parse.InvocationConfiguration.Error;
        if (!ReferenceEquals(error, Console.Error))
        {
            // The caller gave its own error writer (a host embedding the tool, a test): the log goes there, with the
            // messages, so what a run says can be read where it ran.
            return config.WriteTo.Sink(new WriterSink(error, new Serilog.Formatting.Display.MessageTemplateTextFormatter(Template, System.Globalization.CultureInfo.InvariantCulture))).CreateLogger();
        }

        // The console sink sits behind a wrapper that keeps log lines off the progress line.
        var console = Serilog.Configuration.LoggerSinkConfiguration.Wrap(
            sink => new ProgressAwareSink(sink),
            to => to.Console(
                standardErrorFromLevel: LogEventLevel.Verbose,
                formatProvider: System.Globalization.CultureInfo.InvariantCulture,
                outputTemplate: Template));
        return config.WriteTo.Sink(console).CreateLogger();
    }

    /// <summary>Runs a command body, turning the tool's exceptions into messages and exit codes.</summary>
    public static async Task<int> RunAsync(ParseResult parse, GlobalOptions globals, Func<ILogger, Task<int>> body)
    {
        using var log = CreateLogger(parse, globals);
        var error = parse.InvocationConfiguration.Error;
        try
        {
            // The body goes on off the caller's thread at once: much of a build completes synchronously, and System.CommandLine
            // can answer SIGINT/SIGTERM (cancel, then end the process if the body does not stop in time) only once the body
            // has handed back its task. Before, a body busy in one long step held the signal until it ended.
            await Task.Yield();
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
        catch (EmptySourceException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return DataError;
        }
        catch (StrictRejectException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return DataError;
        }
        catch (ModelCalls.ModelAccessException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return UsageError;
        }
        catch (ModelCalls.BudgetExceededException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return DataError;
        }
        catch (Output.OutputException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ex.Refused ? UsageError : DataError;
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            // Disk full, a read-only folder, a vanished mount: the staging folder is already removed.
            await error.WriteLineAsync($"error: cannot write the output: {ex.Message}").ConfigureAwait(false);
            return DataError;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return 130;
        }
    }
}

/// <summary>Options every command accepts.</summary>
public sealed class GlobalOptions
{
    public GlobalOptions()
    {
        Verbosity.AcceptOnlyFromAmong("quiet", "minimal", "normal", "detailed", "diagnostic");
    }

    public Option<string> Verbosity { get; } = new("--verbosity", "-v")
    {
        Description = "Log detail on stderr: quiet, minimal, normal, detailed or diagnostic",
        DefaultValueFactory = _ => "normal",
        Recursive = true,
    };

    public Option<string?> TemplatesDir { get; } = new("--templates-dir")
    {
        Description = "Folder of template packs (default: MLLMDATA_TEMPLATES, else templates/ beside the tool)",
        Recursive = true,
    };
}

/// <summary>Log lines, formatted by Serilog's own template formatter, written to a caller's writer one at a time.</summary>
internal sealed class WriterSink(TextWriter writer, Serilog.Formatting.ITextFormatter formatter) : Serilog.Core.ILogEventSink
{
    private readonly Lock _gate = new();

    public void Emit(LogEvent logEvent)
    {
        lock (_gate)
        {
            formatter.Format(logEvent, writer);
        }
    }
}
