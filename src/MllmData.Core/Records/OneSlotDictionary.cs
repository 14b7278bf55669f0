using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace MllmData.Records;

/// <summary>
/// A turn's slots when there is exactly one (a VQA question): one small object where a dictionary of one entry takes
/// three (the map, its buckets and its entries), made once per record of a large build. Keys compare ordinally, as a
/// <see cref="Dictionary{TKey, TValue}"/> of strings compares them.
/// </summary>
public sealed class OneSlotDictionary(string key, string value) : IReadOnlyDictionary<string, string>
{
    public string Key { get; } = key ?? throw new ArgumentNullException(nameof(key));

    public string Value { get; } = value ?? throw new ArgumentNullException(nameof(value));

    public int Count => 1;

    public IEnumerable<string> Keys => [Key];

    public IEnumerable<string> Values => [Value];

    public string this[string key] => ContainsKey(key) ? Value : throw new KeyNotFoundException($"no slot '{key}'");

    public bool ContainsKey(string key) => string.Equals(key ?? throw new ArgumentNullException(nameof(key)), Key, StringComparison.Ordinal);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        var found = ContainsKey(key);
        value = found ? Value : null;
        return found;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        yield return new KeyValuePair<string, string>(Key, Value);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
