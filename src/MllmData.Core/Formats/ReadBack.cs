using System.Globalization;
using System.Security.Cryptography;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>Pieces every format uses to read its lines back into canonical records.</summary>
public static class ReadBack
{
    /// <summary>A record read from a built or third-party file; the instructions adapter gives it its source name and id.</summary>
    public static InstructionRecord Record(string id, LineOrigin origin, IReadOnlyList<string> images, string? system, IReadOnlyList<Turn> turns) => new()
    {
        Id = id,
        Source = "instructions",
        Task = images.Count > 0 ? "instructions" : "text",
        System = system,
        Images = Images(images),
        Turns = turns,
        Provenance = new Provenance
        {
            Adapter = "instructions",
            File = origin.File,
            Ids = [new("line", origin.Line.ToString(CultureInfo.InvariantCulture))],
        },
    };

    private static ImageRef[] Images(IReadOnlyList<string> images)
    {
        var refs = new ImageRef[images.Count];
        for (var i = 0; i < refs.Length; i++)
        {
            refs[i] = Image(images[i]);
        }

        return refs;
    }

    /// <summary>
    /// The text with its image placeholders taken out, each with the line break beside it, and the ends trimmed:
    /// LLaVA's own preprocessing strips the token and the text around it the same way. The placeholders followed by a
    /// line break go first, then those after one, then the rest.
    /// </summary>
    public static string WithoutPlaceholders(string text, string token) =>
        OnePlaceholderCut(text, token, out var none) ?? (none ? text : AllPlaceholdersCut(text, token));

    /// <summary>As <see cref="WithoutPlaceholders(string, string)"/> for characters not yet made a string (one string is made).</summary>
    public static string WithoutPlaceholders(ReadOnlySpan<char> text, string token) =>
        OnePlaceholderCut(text, token, out var none) ?? (none ? text.ToString() : AllPlaceholdersCut(text.ToString(), token));

    /// <summary>The text with its one placeholder cut, or null: when there is none (<paramref name="none"/>), or more, or the cut forms one.</summary>
    private static string? OnePlaceholderCut(ReadOnlySpan<char> text, string token, out bool none)
    {
        var at = token.Length == 0 ? -1 : text.IndexOf(token, StringComparison.Ordinal);
        none = at < 0;
        if (none || text[(at + token.Length)..].Contains(token, StringComparison.Ordinal))
        {
            return null;
        }

        // One placeholder (every line a build writes for one image): cut it and its line break in one copy. A token
        // that the cut itself forms ("<ima" + "ge>") is left to the general way.
        var (start, end) = (at, at + token.Length);
        if (end < text.Length && text[end] == '\n')
        {
            end++;
        }
        else if (start > 0 && text[start - 1] == '\n')
        {
            start--;
        }

        var cut = string.Concat(text[..start], text[end..]);
        return cut.Contains(token, StringComparison.Ordinal) ? null : cut.Trim();
    }

    private static string AllPlaceholdersCut(string text, string token) =>
        text.Replace(token + "\n", string.Empty, StringComparison.Ordinal)
            .Replace("\n" + token, string.Empty, StringComparison.Ordinal)
            .Replace(token, string.Empty, StringComparison.Ordinal)
            .Trim();

    /// <summary>The text without the lines (compared trimmed) in <paramref name="drop"/>; every other line as it was.</summary>
    public static string WithoutLines(string text, IReadOnlySet<string> drop) => EditLines(text, l => drop.Contains(l.Trim()) ? null : l);

    /// <summary>The text with each line edited (null takes it out); the text itself when no line changes.</summary>
    public static string EditLines(string text, Func<string, string?> edit)
    {
        var lines = text.Split('\n');
        var edited = lines.Select(edit).ToList();
        return edited.SequenceEqual(lines, StringComparer.Ordinal) ? text : string.Join("\n", edited.OfType<string>());
    }

    /// <summary>A question as shown to a rewriting model: no placeholders, no response-format suffix lines.</summary>
    public static string Question(string text, ExchangeOptions options)
    {
        var clean = WithoutPlaceholders(text, options.ImageToken);
        return options.DropLines is { Count: > 0 } drop
            ? string.Join("\n", clean.Split('\n').Where(l => !drop.Contains(l.Trim()))).Trim()
            : clean.Trim();
    }

    /// <summary>A path or URL as it stands; a base64 data URL keeps its bytes, named by their hash.</summary>
    public static ImageRef Image(string pathOrUrl)
    {
        if (!pathOrUrl.StartsWith("data:", StringComparison.Ordinal))
        {
            return new ImageRef(pathOrUrl);
        }

        var comma = pathOrUrl.IndexOf(',', StringComparison.Ordinal);
        var semicolon = pathOrUrl.IndexOf(';', StringComparison.Ordinal);
        var bytes = Convert.FromBase64String(pathOrUrl[(comma + 1)..]);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var media = semicolon > 5 && semicolon < comma ? pathOrUrl[5..semicolon] : ImageMedia.Sniff(bytes) ?? "application/octet-stream";
        return new ImageRef($"images/{sha}{ImageMedia.Extension(media)}") { Bytes = bytes, MediaType = media, Sha256 = sha, Inline = true };
    }
}
