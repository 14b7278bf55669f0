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

/// <summary>YamlDotNet's errors in a file author's words, without the tool's type names.</summary>
internal static class YamlErrors
{
    /// <summary>A key written twice, an unknown key (the message would name an internal type), else the library's message.</summary>
    public static string InWords(string message) =>
        System.Text.RegularExpressions.Regex.Match(message, "^Encountered duplicate key (.+)$") is { Success: true } doubled
            ? $"the key '{doubled.Groups[1].Value}' is written twice in this map; which value is meant cannot be told (keep one)"
            : System.Text.RegularExpressions.Regex.Match(message, "^Property '([^']*)' not found on type ") is { Success: true } unknown
                ? $"unknown key '{unknown.Groups[1].Value}' (keys are lower case, words joined by '_')"
                : message;
}
