using MllmData.Records;

namespace MllmData.Recipes;

/// <summary>
/// How local paths appear in what a build writes (<c>meta.file</c>, rejects' <c>file</c> and detail, the manifest's
/// <c>inputs[].path</c>, <c>recipe_sha256</c>): never absolute, and the same from any working directory.
/// </summary>
/// <remarks>
/// A recipe build shows paths relative to the recipe's folder (<c>../data/x.json</c> when outside it). A build from flags
/// shows them relative to the current folder when inside it, else as the bare file name (relative to the parent folders
/// where two inputs share a file name), since flag paths have no other anchor.
/// </remarks>
public sealed class SourcePaths
{
    private readonly string _base;
    private readonly bool _fromFlags;
    private readonly Dictionary<string, string> _shown = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sharedNames = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> _inDetails = [];
    private string? _lastIn;
    private string? _lastOut;
    private string? _beforeIn;
    private string? _beforeOut;

    private SourcePaths(string baseDir, bool fromFlags, IEnumerable<string> known)
    {
        _base = Path.TrimEndingDirectorySeparator(Path.GetFullPath(baseDir));
        _fromFlags = fromFlags;
        // A name with a NUL is no path at all (it is refused when read); it is shown as given.
        var full = known.Where(p => !p.Contains('\0', StringComparison.Ordinal)).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        foreach (var group in full.GroupBy(Path.GetFileName, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            _sharedNames.Add(group.Key!);
        }

        // Local paths quoted inside reject details (e.g. "no file x.jpg under /data/images") are shown the same way.
        foreach (var path in known.Distinct(StringComparer.Ordinal).Where(p => p.Length > 0))
        {
            var shown = Show(path);
            if (shown != path)
            {
                _inDetails.Add(new(path, shown));
            }
        }

        _inDetails.Sort((a, b) => b.Key.Length.CompareTo(a.Key.Length));
    }

    /// <summary>For a recipe: relative to its folder; from flags (<see cref="Recipe.Folder"/> null): relative to the current folder.</summary>
    public static SourcePaths For(Recipe recipe)
    {
        var known = new List<string>();
        foreach (var s in recipe.Sources)
        {
            known.AddRange(s.Inputs.Values);
            if (s.ImageRoot is { } root)
            {
                known.Add(root);
            }
        }

        if (recipe.SelfInstruct is { } generate)
        {
            known.AddRange(generate.Inputs.Values);
        }

        return new SourcePaths(recipe.Folder ?? Directory.GetCurrentDirectory(), recipe.Folder is null, known);
    }

    /// <summary>For inputs given outside a recipe's sources (self-instruct from flags): relative to the folder, or the current one.</summary>
    public static SourcePaths ForInputs(string? folder, IEnumerable<string> inputs) =>
        new(folder ?? Directory.GetCurrentDirectory(), folder is null, inputs);

    /// <summary>The path as output shows it.</summary>
    public string Show(string path)
    {
        // Records of one file come one after another: one of the last two answers (a record's file and its answer file,
        // VQAv2's questions and annotations) is usually the one asked for.
        if (ReferenceEquals(path, _lastIn))
        {
            return _lastOut!;
        }

        if (ReferenceEquals(path, _beforeIn))
        {
            (_lastIn, _lastOut, _beforeIn, _beforeOut) = (_beforeIn, _beforeOut, _lastIn, _lastOut);
            return _lastOut!;
        }

        if (!_shown.TryGetValue(path, out var shown))
        {
            _shown[path] = shown = Compute(path);

            // A path already shown stays as it is when it comes by again.
            _shown.TryAdd(shown, shown);
        }

        // A path shown as it was given is given back itself, so the record that holds it need not be copied.
        shown = string.Equals(shown, path, StringComparison.Ordinal) ? path : shown;
        (_beforeIn, _beforeOut) = (_lastIn, _lastOut);
        _lastIn = path;
        _lastOut = shown;
        return shown;
    }

    public Reject Of(Reject reject)
    {
        var file = Show(reject.File);
        var detail = reject.Detail;
        foreach (var (local, shown) in _inDetails)
        {
            if (detail.Contains(local, StringComparison.Ordinal))
            {
                detail = detail.Replace(local, shown, StringComparison.Ordinal);
            }
        }

        return ReferenceEquals(file, reject.File) && ReferenceEquals(detail, reject.Detail) ? reject : reject with { File = file, Detail = detail };
    }

    public InstructionRecord Of(InstructionRecord record)
    {
        var file = Show(record.Provenance.File);
        var answers = record.Provenance.AnswerFile is { } a ? Show(a) : null;
        return ReferenceEquals(file, record.Provenance.File) && ReferenceEquals(answers, record.Provenance.AnswerFile)
            ? record
            : record with { Provenance = record.Provenance with { File = file, AnswerFile = answers } };
    }

    /// <summary>A map keyed by local path, re-keyed by shown path (the manifest's inputs).</summary>
    public IReadOnlyDictionary<string, string> Keys(IReadOnlyDictionary<string, string> byPath)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, value) in byPath)
        {
            result[Show(path)] = value;
        }

        return result;
    }

    private string Compute(string path)
    {
        if (path.Length == 0 || path == "-" || path.Contains('\0', StringComparison.Ordinal))
        {
            return path;
        }

        var full = Path.GetFullPath(path);
        var relative = Path.GetRelativePath(_base, full);
        var outside = Path.IsPathRooted(relative) || relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (outside && (_fromFlags || Path.IsPathRooted(relative)) && !_sharedNames.Contains(Path.GetFileName(full)))
        {
            return Path.GetFileName(full);
        }

        return Path.IsPathRooted(relative) ? Path.GetFileName(full) : relative.Replace(Path.DirectorySeparatorChar, '/');
    }
}
