using System.Text.RegularExpressions;

namespace MllmData.Formats;

/// <summary>
/// Whether an image value is a URI (a URL, a <c>data:</c> URI, or any other scheme) rather than a file path, and which URIs
/// name an image a consumer could load at all.
/// </summary>
/// <remarks>
/// The rule is RFC 3986's: a value that starts (after white space) with a scheme, a letter then letters, digits, <c>+</c>,
/// <c>-</c> or <c>.</c>, and a colon, is a URI: <c>https://a/b.jpg</c>, <c>data:image/png;base64,...</c>, but also
/// <c>mailto:x@y</c>, <c>javascript:...</c>, <c>urn:isbn:...</c> and <c>http:b.jpg</c>. A scheme of one letter is a
/// Windows drive (<c>C:\x.jpg</c>, <c>C:/x.jpg</c>, <c>C:x.jpg</c>, <c>C://x.jpg</c>) and stays a path. (RFC 3986 spells a
/// relative path whose first segment holds a colon as <c>./a:b.jpg</c>; written so, it is a path here too.)
/// </remarks>
public static partial class ImageUrls
{
    /// <summary>A URI scheme and its colon, after any white space; two characters at least, so a Windows drive stays a path.</summary>
    [GeneratedRegex(@"^\s*[A-Za-z][A-Za-z0-9+.-]+:")]
    private static partial Regex Scheme();

    /// <summary>A scheme followed by <c>//</c> and an authority: a URL that says where to fetch from.</summary>
    [GeneratedRegex(@"^\s*[A-Za-z][A-Za-z0-9+.-]+://")]
    private static partial Regex NetworkScheme();

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

    /// <summary>
    /// What a consumer that loads URLs may take, when its format does not say which (<see cref="FormatCapabilities.OpensUrl"/>):
    /// a URL with an authority (<c>scheme://</c>) or a <c>data:</c> URI. Other URIs (<c>mailto:</c>, <c>javascript:</c>,
    /// <c>urn:</c>, <c>http:b.jpg</c>) name no image any consumer fetches.
    /// </summary>
    public static bool IsLocator(string url) => NetworkScheme().IsMatch(url) || IsData(url);

    /// <summary>Whether the value is a URI of any scheme rather than a file path (see the remarks of <see cref="ImageUrls"/>).</summary>
    /// <remarks>A scheme ends at a colon: a path without one (every image of a VQA build) is answered without the pattern.</remarks>
    public static bool IsUrl(ReadOnlySpan<char> path) => path.Contains(':') && Scheme().IsMatch(path);

    /// <summary>The scheme of a URI as written (<c>mailto</c>), or null for a path.</summary>
    public static string? SchemeOf(string path) =>
        Scheme().Match(path) is { Success: true } m ? m.Value.Trim()[..^1] : null;

    /// <summary>
    /// Whether the value is a URI other than a <c>data:</c> one (for the validators of consumers that open files only; a
    /// Parquet shard's embedded image column reads back as a <c>data:</c> URI).
    /// </summary>
    public static bool IsUrlOtherThanData(ReadOnlySpan<char> path) => IsUrl(path) && !IsData(path);

    /// <summary>The same for a JSON string value read in place (UTF-8, unescaped): only its start can hold a scheme.</summary>
    public static bool IsUrlOtherThanData(ReadOnlySpan<byte> utf8)
    {
        Span<char> start = stackalloc char[Math.Min(utf8.Length, 64)];
        for (var i = 0; i < start.Length; i++)
        {
            start[i] = (char)utf8[i];
        }

        return IsUrlOtherThanData(start);
    }

    private static bool IsData(ReadOnlySpan<char> path) => path.TrimStart().StartsWith("data:", StringComparison.OrdinalIgnoreCase);
}
