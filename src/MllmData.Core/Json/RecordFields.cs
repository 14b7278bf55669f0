using System.Globalization;
using System.Text.Json;

namespace MllmData.Json;

/// <summary>
/// Strict field access on one benchmark record: a field that is absent or null reads as absent, one of the kind asked for
/// is read, and one of another kind (a number where text belongs, a list where a number belongs, ...) reads as absent but
/// leaves <see cref="Wrong"/> naming the field, so the adapter rejects the record as <c>wrong-type</c> instead of building
/// it as if the field were not there. The first such field is the one named.
/// </summary>
public sealed class RecordFields(JsonElement record)
{
    /// <summary>The first field read that is of another kind, said in words (<c>"image" is the number 5, expected a string</c>); null while none is.</summary>
    public string? Wrong { get; private set; }

    /// <summary>A string field.</summary>
    public string? Text(string name) => Field(name) is { } v ? Text(v, $"\"{name}\"") : null;

    /// <summary>An id written as a number or a string (<see cref="JsonFields.Id"/>).</summary>
    public string? Id(string name)
    {
        if (Field(name) is not { } v)
        {
            return null;
        }

        if (v.ValueKind is JsonValueKind.String or JsonValueKind.Number)
        {
            return record.Id(name);
        }

        return Fail($"\"{name}\" is {JsonKinds.Describe(v)}, expected a number or string id");
    }

    /// <summary>A whole number that fits an int (<c>1.0</c>, <c>"1"</c> and <c>true</c> are of another kind).</summary>
    public int? Whole(string name)
    {
        if (Field(name) is not { } v)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n))
        {
            return n;
        }

        Wrong ??= $"\"{name}\" is {JsonKinds.Describe(v)}, expected a whole number";
        return null;
    }

    /// <summary>
    /// A list of strings; with <paramref name="objectField"/>, an element may also be an object whose
    /// <paramref name="objectField"/> is the string (VizWiz's <c>{"answer": ...}</c>; such an object without it, or with it
    /// null, counts as no answer and is left out). Any other element makes the whole list wrong: leaving it out would move
    /// the elements after it (an option's letter) or change a vote.
    /// </summary>
    public List<string>? Texts(string name, string? objectField = null)
    {
        if (Field(name) is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            return Fail<List<string>>($"\"{name}\" is {JsonKinds.Describe(v)}, expected a list of strings");
        }

        var list = new List<string>(v.GetArrayLength());
        var i = 0;
        foreach (var x in v.EnumerateArray())
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"\"{name}\"[{i++}]");
            if (x.ValueKind == JsonValueKind.String)
            {
                list.Add(x.GetString()!);
            }
            else if (objectField is not null && x.ValueKind == JsonValueKind.Object)
            {
                if (!x.TryGetProperty(objectField, out var inner) || inner.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (inner.ValueKind != JsonValueKind.String)
                {
                    return Fail<List<string>>($"{at}.{objectField} is {JsonKinds.Describe(inner)}, expected a string");
                }

                list.Add(inner.GetString()!);
            }
            else
            {
                return Fail<List<string>>($"{at} is {JsonKinds.Describe(x)}, expected {(objectField is null ? "a string" : $"a string or an object with an \"{objectField}\" string")}");
            }
        }

        return list;
    }

    /// <summary>The objects of a list field (each element an object); null when absent, or when it or an element is of another kind.</summary>
    public List<JsonElement>? Objects(string name)
    {
        if (Field(name) is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            return Fail<List<JsonElement>>($"\"{name}\" is {JsonKinds.Describe(v)}, expected a list of objects");
        }

        var list = new List<JsonElement>(v.GetArrayLength());
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Object)
            {
                return Fail<List<JsonElement>>(string.Create(CultureInfo.InvariantCulture, $"\"{name}\"[{list.Count}] is {JsonKinds.Describe(x)}, expected an object"));
            }

            list.Add(x);
        }

        return list;
    }

    /// <summary>Notes a problem found by the caller (the first one stands); returns null for use in expressions.</summary>
    public string? Fail(string problem) => Fail<string>(problem);

    private T? Fail<T>(string problem)
        where T : class
    {
        Wrong ??= problem;
        return null;
    }

    private string? Text(JsonElement v, string label) =>
        v.ValueKind == JsonValueKind.String ? v.GetString() : Fail($"{label} is {JsonKinds.Describe(v)}, expected a string");

    private JsonElement? Field(string name) =>
        record.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
}

/// <summary>JSON values described in words for messages.</summary>
public static class JsonKinds
{
    /// <summary>What a value is: <c>the number 3</c>, <c>a list</c>, <c>an object</c>, <c>the boolean true</c>, <c>null</c> or <c>a string</c>.</summary>
    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number => $"the number {Short(v.GetRawText())}",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {v.GetRawText()}",
        JsonValueKind.Null => "null",
        _ => "a string",
    };

    // A number's text is as long as its writer made it: a message keeps the first digits.
    private static string Short(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
