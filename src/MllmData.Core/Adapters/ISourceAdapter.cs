using MllmData.Model;

namespace MllmData.Adapters;

/// <summary>Streams canonical records from one benchmark's own files.</summary>
public interface ISourceAdapter
{
    /// <summary>The name used on the command line and in recipes, e.g. <c>vqav2</c>.</summary>
    string Name { get; }

    string Description { get; }

    IReadOnlyList<AdapterInput> Inputs { get; }

    IReadOnlyList<AdapterOption> Options { get; }

    /// <summary>The template pack used when the recipe names none.</summary>
    string DefaultTemplatePack { get; }

    IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, CancellationToken cancellationToken);
}

/// <summary>A named input file of an adapter.</summary>
public sealed record AdapterInput(string Name, bool Required, string Description);

/// <summary>An adapter setting, given as <c>--flag</c> on the command line or under <c>options:</c> in a recipe.</summary>
public sealed record AdapterOption(string Name, string Description, string? Default = null);
