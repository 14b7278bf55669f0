using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace MllmData.Recipes;

/// <summary>
/// Bounds a recipe before it is deserialized: its size on disk, its nesting, and what it grows to once YAML aliases are
/// expanded, so an alias bomb ("billion laughs") is refused after reading its parser events, in bounded memory.
/// </summary>
public static class RecipeBounds
{
    public const int MaxFileBytes = 1 << 20;

    /// <summary>Nodes (values, lists, mappings) after alias expansion.</summary>
    public const long MaxNodes = 100_000;

    /// <summary>Characters of all plain values after alias expansion.</summary>
    public const long MaxCharacters = 4L << 20;

    public const int MaxDepth = 64;

    /// <summary>Reads the file, refusing more than <see cref="MaxFileBytes"/> without reading further.</summary>
    public static string ReadText(string path)
    {
        var buffer = new byte[MaxFileBytes + 1];
        int total = 0;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            int n;
            while (total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += n;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot read the recipe: {ex.Message}");
        }

        if (total > MaxFileBytes)
        {
            throw new UsageException($"{path}: a recipe may be at most {MaxFileBytes / 1024 / 1024} MB");
        }

        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(buffer, 0, total).TrimStart('\uFEFF');
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new UsageException($"{path}: the recipe is not UTF-8 text");
        }
    }

    /// <summary>Walks the parser events once, adding up what every alias would expand to; throws a one-line usage error past a bound.</summary>
    public static void Check(string path, string text)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, (long Nodes, long Chars)>(StringComparer.Ordinal);
        var open = new Stack<(string? Anchor, long Nodes, long Chars)>();
        long nodes = 0, chars = 0;

        void Add(long n, long c, Mark at)
        {
            nodes += n;
            chars += c;
            if (open.Count > 0)
            {
                var top = open.Pop();
                open.Push((top.Anchor, top.Nodes + n, top.Chars + c));
            }

            if (nodes > MaxNodes || chars > MaxCharacters)
            {
                throw new UsageException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{path}: line {at.Line}: the recipe expands (through YAML aliases) to more than {MaxNodes} values or {MaxCharacters} characters"));
            }
        }

        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case AnchorAlias alias:
                    if (!anchors.TryGetValue(alias.Value.Value, out var size))
                    {
                        throw new UsageException($"{path}: line {alias.Start.Line}: alias *{alias.Value.Value} refers to no complete anchor before it");
                    }

                    Add(size.Nodes, size.Chars, alias.Start);
                    break;
                case Scalar scalar:
                    Add(1, scalar.Value.Length, scalar.Start);
                    if (!scalar.Anchor.IsEmpty)
                    {
                        anchors[scalar.Anchor.Value] = (1, scalar.Value.Length);
                    }

                    break;
                case NodeEvent start when start is MappingStart or SequenceStart:
                    if (open.Count >= MaxDepth)
                    {
                        throw new UsageException($"{path}: line {start.Start.Line}: the recipe nests deeper than {MaxDepth} levels");
                    }

                    Add(1, 0, start.Start);
                    open.Push((start.Anchor.IsEmpty ? null : start.Anchor.Value, 0, 0));
                    break;
                case MappingEnd or SequenceEnd:
                    var done = open.Pop();
                    if (done.Anchor is not null)
                    {
                        anchors[done.Anchor] = (done.Nodes + 1, done.Chars);
                    }

                    // Its contents were already counted in the totals; only the enclosing anchor still needs them.
                    if (open.Count > 0)
                    {
                        var top = open.Pop();
                        open.Push((top.Anchor, top.Nodes + done.Nodes, top.Chars + done.Chars));
                    }

                    break;
            }
        }
    }
}
