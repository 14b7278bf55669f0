using System.Text.RegularExpressions;

namespace MllmData.Generation;

/// <summary>Checks on generated text: length bounds, and answers that give away the symbolic source.</summary>
public static partial class SampleFilters
{
    [GeneratedRegex(@"\bbounding[\s-]?box(es)?\b|\bcaptions?\b|\bcoordinates?\b|\bbbox\b|\[\s*0?\.\d+\s*,|\b0\.\d{2,3}\b|\bthe (given|provided) (description|information|context)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Leak();

    public static bool Leaks(string text) => Leak().IsMatch(text);

    public static int Words(string text) => text.Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).Length;
}
