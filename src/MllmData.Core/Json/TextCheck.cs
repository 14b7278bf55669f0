using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace MllmData.Json;

/// <summary>Whether the bytes of a complete JSON value decode to text (valid UTF-8, no lone surrogate escape), and where text holds a control character.</summary>
/// <remarks>
/// Utf8JsonReader checks the structure but not the text of strings and keys; decoding bad text later throws
/// deep inside an adapter. One vectorised pass over the value's bytes finds it first, so it becomes a reject.
/// </remarks>
public static class TextCheck
{
    // C0 controls but tab and line breaks, DEL, and the C1 range: never text a trainer should see.
    private static readonly SearchValues<char> Controls = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Where(c => c is not ('\t' or '\n' or '\r')).Select(c => (char)c), '\u007f', .. Enumerable.Range(0x80, 0x20).Select(c => (char)c)]);

    /// <summary>
    /// Whether <paramref name="text"/> shows nothing: it is null or empty, or holds only white space and characters that
    /// take no room (see <see cref="IsInvisible"/>).
    /// </summary>
    public static bool IsBlank([System.Diagnostics.CodeAnalysis.NotNullWhen(false)] string? text)
    {
        if (text is null)
        {
            return true;
        }

        foreach (var r in text.EnumerateRunes())
        {
            if (!Rune.IsWhiteSpace(r) && !IsInvisible(r))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>As <see cref="IsBlank(string?)"/>, for text in UTF-8 (a sequence that is not valid UTF-8 is not blank).</summary>
    public static bool IsBlankUtf8(ReadOnlySpan<byte> utf8)
    {
        while (!utf8.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(utf8, out var r, out var used) != OperationStatus.Done || (!Rune.IsWhiteSpace(r) && !IsInvisible(r)))
            {
                return false;
            }

            utf8 = utf8[used..];
        }

        return true;
    }

    /// <summary>
    /// Unicode's default-ignorable code points (zero-width spaces and joiners, direction marks and embeddings, the byte
    /// order mark, variation selectors, the combining grapheme joiner, Hangul fillers, Mongolian free variation selectors,
    /// Khmer inherent vowels, shorthand format controls, musical format controls, tag characters), as DerivedCoreProperties
    /// lists them; and the blank Braille pattern, which renders as a space. Visible format characters (the Arabic number
    /// signs, for one) are not among them.
    /// </summary>
    private static readonly (int First, int Last)[] Invisible =
    [
        (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
        (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F),
        (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
    ];

    /// <summary>A character that takes no visible room (see <see cref="Invisible"/>).</summary>
    public static bool IsInvisible(Rune r)
    {
        foreach (var (first, last) in Invisible)
        {
            if (r.Value < first)
            {
                return false;
            }

            if (r.Value <= last)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Words for a blank text: "empty", "only white space" or "only invisible characters (U+200B first)".</summary>
    public static string BlankKind(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "empty";
        }

        foreach (var r in text.EnumerateRunes())
        {
            if (IsInvisible(r))
            {
                return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"only invisible characters (U+{r.Value:X4} first)");
            }
        }

        return "only white space";
    }

    /// <summary>Where the first control character of <paramref name="text"/> is (tab and line breaks are text), if it has one.</summary>
    public static int? ControlAt(string text) => text.AsSpan().IndexOfAny(Controls) is var i and >= 0 ? i : null;

    public static bool IsValid(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            return false;
        }

        // A backslash occurs only inside strings, and the reader has checked that every escape is well formed.
        var i = json.IndexOf((byte)'\\');
        while (i >= 0 && i + 1 < json.Length)
        {
            if (json[i + 1] != 'u' || !Hex(json[(i + 2)..], out var unit))
            {
                i += 2;
            }
            else if (unit is >= 0xD800 and <= 0xDBFF)
            {
                // A high surrogate must be followed at once by an escaped low one.
                if (json.Length < i + 12 || json[i + 6] != '\\' || json[i + 7] != 'u' || !Hex(json[(i + 8)..], out var low) || low is < 0xDC00 or > 0xDFFF)
                {
                    return false;
                }

                i += 12;
            }
            else if (unit is >= 0xDC00 and <= 0xDFFF)
            {
                return false;
            }
            else
            {
                i += 6;
            }

            var next = i < json.Length ? json[i..].IndexOf((byte)'\\') : -1;
            i = next < 0 ? -1 : i + next;
        }

        return true;
    }

    private static bool Hex(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        if (s.Length < 4)
        {
            return false;
        }

        for (var k = 0; k < 4; k++)
        {
            var d = s[k] switch
            {
                >= (byte)'0' and <= (byte)'9' => s[k] - '0',
                >= (byte)'a' and <= (byte)'f' => s[k] - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => s[k] - 'A' + 10,
                _ => -1,
            };
            if (d < 0)
            {
                return false;
            }

            value = (value << 4) | d;
        }

        return true;
    }
}
