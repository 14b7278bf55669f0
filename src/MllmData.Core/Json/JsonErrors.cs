using System.Text.Json;

namespace MllmData.Json;

/// <summary>System.Text.Json's error messages as a user reads them.</summary>
public static class JsonErrors
{
    /// <summary>The exception's message in words (see <see cref="InWords(string, bool)"/>).</summary>
    public static string InWords(JsonException ex) => InWords(ex.Message, ex.Message.Contains("after a single JSON value", StringComparison.Ordinal));

    /// <summary>The reader's message without what speaks to a programmer (its reader options, its line and byte counters, which the position already gives).</summary>
    public static string InWords(string message, bool trailing = false)
    {
        if (trailing)
        {
            return "more data follows the end of the JSON value (two documents in one file, or stray text after it)";
        }

        var text = message;
        var counters = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        text = counters >= 0 ? text[..counters] : text;
        text = text.Replace(" which is not supported in this mode. Change the reader options.", string.Empty, StringComparison.Ordinal)
            .Replace(" Change the reader options.", string.Empty, StringComparison.Ordinal)
            .Replace(" is not supported in this mode", " is not allowed in JSON", StringComparison.Ordinal);
        return text.TrimEnd();
    }

    private const string DoubledKeyLead = "a key written twice in the record: ";

    /// <summary>The error of a record in which a key appears twice (in the record or in an object inside it).</summary>
    /// <param name="which">The key, quoted, or the JSON reader's own words about it.</param>
    public static string DoubledKey(string which) => $"{DoubledKeyLead}{which}; which of its two values is meant cannot be told";

    /// <summary>Whether a record's error is <see cref="DoubledKey"/>'s (a <c>duplicate-key</c> reject), not a type error.</summary>
    public static bool IsDoubledKey(string? error) => error is not null && error.StartsWith(DoubledKeyLead, StringComparison.Ordinal);

    /// <summary>The key System.Text.Json names in its duplicate-property error, quoted as the typed parsers quote it; its own words if it names none.</summary>
    public static string DoubledName(JsonException ex) =>
        System.Text.RegularExpressions.Regex.Match(ex.Message, "^Duplicate property '(.*)' encountered") is { Success: true } m ? $"\"{m.Groups[1].Value}\"" : InWords(ex);
}
