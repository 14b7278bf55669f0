using System.Text.RegularExpressions;

namespace MllmData.Formats;

/// <summary>Whether an image value is a URL or a <c>data:</c> URI rather than a file path (for consumers that open files only).</summary>
public static partial class ImageUrls
{
    /// <summary>
    /// Any URL scheme (<c>https://</c>, <c>file://</c>, <c>s3://</c>, ...), as RFC 3986 spells one, after any white space; two
    /// characters at least, so a Windows drive (<c>C://x.jpg</c>) stays a path.
    /// </summary>
    [GeneratedRegex(@"^\s*[A-Za-z][A-Za-z0-9+.-]+://")]
    private static partial Regex Scheme();

    /// <summary>For consumers that open files only (LLaVA L6, LLaMA-Factory F5): no URL.</summary>
    public static bool NoUrl(string url) => false;

    /// <summary>
    /// What ms-swift's <c>load_file</c> loads (S5): a value starting with <c>http</c> is fetched and one starting with
    /// <c>data:</c> decoded, compared as written once white space is stripped (an <c>s3://</c> or <c>HTTPS://</c> value is
    /// taken for a local path).
    /// </summary>
    public static bool SwiftLoads(string url)
    {
        var u = url.AsSpan().Trim();
        return u.StartsWith("http://", StringComparison.Ordinal) || u.StartsWith("https://", StringComparison.Ordinal) || u.StartsWith("data:", StringComparison.Ordinal);
    }

    /// <summary>What an OpenAI <c>image_url</c> takes: an http(s) URL or a <c>data:</c> URI (schemes in any case).</summary>
    public static bool OpenAiTakes(string url) =>
        url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("data:", StringComparison.OrdinalIgnoreCase);

    public static bool IsUrl(ReadOnlySpan<char> path) =>
        path.TrimStart().StartsWith("data:", StringComparison.OrdinalIgnoreCase) || HasScheme(path);

    /// <summary>Whether the value starts with a URL scheme and <c>://</c> (a <c>data:</c> URI has none).</summary>
    public static bool HasScheme(ReadOnlySpan<char> path) => Scheme().IsMatch(path);

    /// <summary>The same for a JSON string value read in place (UTF-8, unescaped): only its start can hold a scheme.</summary>
    public static bool HasScheme(ReadOnlySpan<byte> utf8)
    {
        Span<char> start = stackalloc char[Math.Min(utf8.Length, 64)];
        for (var i = 0; i < start.Length; i++)
        {
            start[i] = (char)utf8[i];
        }

        return HasScheme(start);
    }
}
