using MllmData.Cli;

return await CliApp.CreateRoot().Parse(args).InvokeAsync().ConfigureAwait(false);
