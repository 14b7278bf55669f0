using System.Text.Json;

namespace MllmData.Formats;

/// <summary>Small shared checks.</summary>
internal static class ValidationHelpers
{
    public static int Count(string text, string token)
    {
        if (token.Length == 0)
        {
            return 0;
        }

        var n = 0;
        for (var i = text.IndexOf(token, StringComparison.Ordinal); i >= 0; i = text.IndexOf(token, i + token.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    public static bool TryArray(JsonElement obj, string name, List<Finding> findings, out JsonElement array)
    {
        if (!obj.TryGetProperty(name, out array))
        {
            findings.Add(new(FindingCodes.MissingField, $"no \"{name}\""));
            return false;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            findings.Add(new(FindingCodes.WrongType, $"\"{name}\" is {array.ValueKind}, expected an array"));
            return false;
        }

        return true;
    }

    /// <summary>Image count of an optional <c>images</c>/<c>image</c> value: a string is one, an array its length.</summary>
    public static int ImageCount(JsonElement obj, string name, List<Finding> findings)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                return 1;
            case JsonValueKind.Array:
                foreach (var e in v.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.String || e.GetString()!.Length == 0)
                    {
                        findings.Add(new(FindingCodes.WrongType, $"\"{name}\" holds a non-string or empty entry"));
                        break;
                    }
                }

                return v.GetArrayLength();
            default:
                findings.Add(new(FindingCodes.WrongType, $"\"{name}\" is {v.ValueKind}, expected a string or an array"));
                return 0;
        }
    }
}
