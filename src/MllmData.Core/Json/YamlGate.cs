namespace MllmData.Json;

/// <summary>
/// One YAML deserialization at a time in a process. YamlDotNet keeps caches shared between deserializers; runs that load
/// recipes and template packs side by side in one process (a host, the test suite) have twice seen a sample build stop
/// with exit 1, the code a YAML error becomes, at the very start of a run. Files are small: the wait costs nothing.
/// </summary>
internal static class YamlGate
{
    public static readonly Lock Lock = new();
}
