namespace MllmData.Adapters;

/// <summary>The one place where source adapters are registered.</summary>
public static class AdapterRegistry
{
    public static IReadOnlyList<ISourceAdapter> All { get; } =
    [
        new VqaV2Adapter(),
        new CocoCaptionsAdapter(),
        new OkVqaAdapter(),
        new AOkVqaAdapter(),
        new GqaAdapter(),
        new TextVqaAdapter(),
        new VizWizAdapter(),
        new ScienceQaAdapter(),
        new KarpathyAdapter(),
        new TextCapsAdapter(),
        new NoCapsAdapter(),
        new CsvAdapter(),
        new JsonlAdapter(),
        new InstructionsAdapter(),
        new CocoObjectsAdapter(),
    ];

    public static ISourceAdapter Get(string name) =>
        All.FirstOrDefault(a => a.Name == name)
        ?? throw new UsageException($"unknown adapter '{name}'; known: {string.Join(", ", All.Select(a => a.Name))}");
}
