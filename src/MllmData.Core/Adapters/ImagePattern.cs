using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MllmData.Adapters;

/// <summary>
/// Turns an image id into a file name: <c>&lt;split&gt;</c> is replaced by the split, and a printf-style
/// <c>%012d</c>, <c>%d</c> or <c>%s</c> by the id (ids that are not numbers only fit <c>%s</c>).
/// </summary>
public sealed partial class ImagePattern
{
    private readonly string _prefix;
    private readonly string _suffix;
    private readonly char _kind;
    private readonly int _width;

    public ImagePattern(string pattern, string split)
    {
        Pattern = pattern;
        var withSplit = pattern.Replace("<split>", split, StringComparison.Ordinal).Replace("{split}", split, StringComparison.Ordinal);
        var m = Placeholder().Match(withSplit);
        if (!m.Success)
        {
            throw new UsageException($"image pattern '{pattern}' has no %d, %0Nd or %s for the image id");
        }

        _prefix = withSplit[..m.Index];
        _suffix = withSplit[(m.Index + m.Length)..];
        _kind = m.Groups[2].Value[0];
        _width = m.Groups[1].Success && m.Groups[1].Value.Length > 0 ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    public string Pattern { get; }

    [GeneratedRegex(@"%0?(\d*)([ds])")]
    private static partial Regex Placeholder();

    /// <summary>The file name for an image id, or null when the id cannot fill a numeric pattern.</summary>
    public string? Format(string imageId)
    {
        // Benchmarks list an image's questions together: the last name made is given again, not made again.
        if (_last is { } last && string.Equals(last.Id, imageId, StringComparison.Ordinal))
        {
            return last.Name;
        }

        var name = Make(imageId);
        _last = new Made(imageId, name);
        return name;
    }

    /// <summary>The last id formatted and its name (one reference, so a reader on another thread sees a matching pair).</summary>
    private sealed record Made(string Id, string? Name);

    private Made? _last;

    private string? Make(string imageId)
    {
        var sb = new StringBuilder(_prefix.Length + _suffix.Length + 16).Append(_prefix);
        if (_kind == 'd')
        {
            if (!long.TryParse(imageId, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            {
                return null;
            }

            sb.Append(n.ToString(CultureInfo.InvariantCulture).PadLeft(_width, '0'));
        }
        else
        {
            sb.Append(imageId);
        }

        return sb.Append(_suffix).ToString();
    }

    [GeneratedRegex(@"(train|val|test|test-dev)(\d{4})")]
    private static partial Regex SplitInName();

    /// <summary>The split named in a benchmark file name, e.g. <c>train2014</c>, or null.</summary>
    public static string? SplitFromFileName(string path)
    {
        var m = SplitInName().Match(Path.GetFileName(path));
        return m.Success ? m.Value : null;
    }

    /// <summary>Widest zero padding accepted (a long has 19 digits).</summary>
    public const int MaxWidth = 20;

    /// <summary>What is wrong with a pattern, checked before any file is read; null when it can be used.</summary>
    public static string? Problem(string pattern)
    {
        var m = Placeholder().Match(pattern);
        if (!m.Success)
        {
            return $"has no %d, %0Nd or %s for the image id: '{pattern}'";
        }

        if (m.Groups[1].Value.Length > 0 && (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var width) || width > MaxWidth))
        {
            return $"pads the image id to more than {MaxWidth} digits: '{pattern}'";
        }

        return Path.IsPathRooted(pattern) || pattern.Replace('\\', '/').Split('/').Contains("..")
            ? $"must be a relative path under --image-root, without '..': '{pattern}'"
            : null;
    }
}
