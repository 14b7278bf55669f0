namespace MllmData.Adapters;

/// <summary>The one place where source adapters are registered.</summary>
public static class AdapterRegistry
{
    public static IReadOnlyList<ISourceAdapter> All { get; } =
    [
        new VqaV2Adapter(),
        new CocoCaptionsAdapter(),
    ];

    public static ISourceAdapter Get(string name) =>
        All.FirstOrDefault(a => a.Name == name)
        ?? throw new UsageException($"unknown adapter '{name}'; known: {string.Join(", ", All.Select(a => a.Name))}");
}
