using System.Text.Json;

namespace MllmData.Json;

/// <summary>
/// The strings of short JSON string values, made once per thread and given again when the same bytes come back: VQA files
/// repeat a few thousand answers ("yes", "2", "red") and answer types across millions of records, and each of them was a
/// new string. A small direct-mapped table per thread; a value that is escaped, split over buffers or longer than
/// <see cref="MaxBytes"/> is made as before.
/// </summary>
public static class ShortStrings
{
    /// <summary>Longest value (in UTF-8 bytes) kept in the table.</summary>
    public const int MaxBytes = 32;

    /// <summary>Slots of the table (a power of two).</summary>
    public const int Slots = 4096;

    [ThreadStatic]
    private static Entry[]? t_table;

    /// <summary>The reader's current string value, as <see cref="Utf8JsonReader.GetString"/> gives it.</summary>
    public static string? Of(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > MaxBytes)
        {
            return reader.GetString();
        }

        var bytes = reader.ValueSpan;
        var table = t_table ??= new Entry[Slots];
        ref var entry = ref table[(int)(System.IO.Hashing.XxHash3.HashToUInt64(bytes) & (Slots - 1))];
        if (entry.Bytes is { } held && bytes.SequenceEqual(held))
        {
            return entry.Text;
        }

        var text = reader.GetString()!;
        entry = new Entry(bytes.ToArray(), text);
        return text;
    }

    private readonly record struct Entry(byte[] Bytes, string Text);
}
