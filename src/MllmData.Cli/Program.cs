using MllmData.Cli;

return await CliApp.InvokeAsync(args).ConfigureAwait(false);
