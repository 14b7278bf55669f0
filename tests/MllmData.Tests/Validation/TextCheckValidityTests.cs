using System.Text;
using MllmData.Json;

namespace MllmData.Tests.Validation;

/// <summary>
/// TextCheck.IsValid against System.Text.Json's own decoding: a JSON value is text when every string in it decodes to
/// UTF-16 without a lone surrogate. Each case pins one branch: escapes of every hex case, pairs cut short, escaped backslashes.
/// </summary>
public class TheJsonTextCheck
{
    [Theory]
    [InlineData("\"plain\"", true)]
    [InlineData("\"\\ud83d\\ude00\"", true)] // a pair, lower case
    [InlineData("\"\\uD83D\\uDE00\"", true)] // upper case
    [InlineData("\"\\uD83d\\udE00\"", true)] // mixed
    [InlineData("\"a\\u00e9b\\u00C9\"", true)] // plain escapes either case
    [InlineData("\"\\u0041\\n\\t\\\\\"", true)] // other escapes
    [InlineData("\"\\\\ud800\"", true)] // an escaped backslash, then text: no escape at all
    [InlineData("\"\\\\\\ud83d\\ude00\"", true)] // an escaped backslash, then a pair
    [InlineData("[\"\\ud83d\\ude00\",\"\\u00e9\",\"x\\ud83d\\ude01y\"]", true)] // several strings
    [InlineData("\"\\ud800\"", false)] // a lone high surrogate
    [InlineData("\"\\udbff\"", false)] // the last high one
    [InlineData("\"\\udc00\"", false)] // a lone low surrogate
    [InlineData("\"\\udfff\"", false)] // the last low one
    [InlineData("\"\\ud800x\\udc00\"", false)] // a high one not followed at once by the low one
    [InlineData("\"\\ud800\\u0041\"", false)] // followed by an escape that is no low surrogate
    [InlineData("\"\\ud800\\ud800\"", false)] // followed by another high one
    [InlineData("\"\\ud800\\ue000\"", false)] // followed by a unit just past the low range
    [InlineData("\"\\ud83d\\n\"", false)] // followed by another kind of escape
    [InlineData("\"ok\\u00e9\\ud800\"", false)] // after a plain escape
    [InlineData("\"\\ud7ff\\ue000\"", true)] // just outside both ranges
    public void A_Json_Value_Is_Text_When_Every_String_Decodes(string json, bool valid)
    {
        Assert.Equal(valid, TextCheck.IsValid(Encoding.UTF8.GetBytes(json)));

        // The reference: System.Text.Json reads a string with a lone surrogate escape only to throw when it is decoded.
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(valid, Decodes(doc.RootElement));
    }

    private static bool Decodes(System.Text.Json.JsonElement e)
    {
        try
        {
            return e.ValueKind switch
            {
                System.Text.Json.JsonValueKind.String => e.GetString() is not null,
                System.Text.Json.JsonValueKind.Array => e.EnumerateArray().All(Decodes),
                _ => true,
            };
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    [Fact]
    public void Bad_Utf8_Bytes_Are_Not_Text()
    {
        Assert.False(TextCheck.IsValid([(byte)'"', 0xC3, (byte)'"'])); // a truncated sequence
        Assert.False(TextCheck.IsValid([(byte)'"', 0xED, 0xA0, 0x80, (byte)'"'])); // an encoded surrogate
        Assert.True(TextCheck.IsValid([(byte)'"', 0xC3, 0xA9, (byte)'"']));
    }
}
