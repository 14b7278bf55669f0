using MllmData.Records;

namespace MllmData.Images;

/// <summary>
/// Resolves a record's image paths under the image root: a path that could escape it (any <c>..</c> part, an absolute
/// path, a symbolic link to a file or folder outside it), or a missing file, is a reject.
/// </summary>
public sealed class ImageRootCheck
{
    private const int MaxLinkHops = 40;
    private const int MaxCachedFolders = 1 << 16;

    private readonly string _root;
    private readonly string _realRoot;

    // Images of a dataset sit in few folders: each folder's real path is worked out once.
    private readonly Dictionary<string, string?> _realFolders = new(StringComparer.Ordinal);
    private string? _lastOk;

    public ImageRootCheck(string root)
    {
        if (root.Contains('\0', StringComparison.Ordinal))
        {
            throw new UsageException("--image-root contains a NUL character");
        }

        Root = root;
        _root = WithSeparator(Path.GetFullPath(root));
        _realRoot = WithSeparator(RealPath(Path.TrimEndingDirectorySeparator(_root)) ?? _root);
    }

    public string Root { get; }

    public Reject? Check(InstructionRecord record)
    {
        foreach (var image in record.Images)
        {
            // Consecutive records usually share an image (several questions per picture): check it once.
            if (image.Path == _lastOk)
            {
                continue;
            }

            if (Resolve(record, image, out _) is { } reject)
            {
                return reject;
            }

            _lastOk = image.Path;
        }

        return null;
    }

    /// <summary>The image's full path under the root, or the reject that says why there is none.</summary>
    public Reject? Resolve(InstructionRecord record, ImageRef image, out string full) =>
        Resolve(image.Path, out full) is { } failure
            ? new Reject(record.Source, record.Provenance.File, record.Id, failure.Reason, failure.Detail)
            : null;

    /// <summary>
    /// The real path (every link followed) of a dataset path under the root, or the reason and detail of the failure.
    /// The returned path is the one to open, so a link cannot be swapped in between check and use by name alone.
    /// </summary>
    public (string Reason, string Detail)? Resolve(string path, out string full)
    {
        full = string.Empty;
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return (RejectReasons.BadImagePath, $"image path '{path.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a NUL character");
        }

        if (Path.IsPathRooted(path))
        {
            return (RejectReasons.ImageOutsideRoot, $"image path '{path}' is absolute");
        }

        // Full paths are normalised here ('a.jpg/.' is 'a.jpg'), but a trainer opens the path as written, and a file is not a folder.
        if (path.EndsWith('/') || path.EndsWith('\\') || path.Split('/', '\\')[^1] is "." or "")
        {
            return (RejectReasons.BadImagePath, $"image path '{path}' ends as a folder does ('/' or '/.'): no file can be opened by it");
        }

        var lexical = Path.GetFullPath(Path.Combine(_root, path));
        if (!lexical.StartsWith(_root, StringComparison.Ordinal))
        {
            return (RejectReasons.ImageOutsideRoot, $"image path '{path}' leaves the image root");
        }

        // The operating system follows a link before the '..' after it, so 'link/../x' need not be the file 'x' under the
        // root that a check by name sees; and the trainer opens the path as written. Such a path is refused outright.
        if (path.Split('/', '\\').Contains(".."))
        {
            return (RejectReasons.ImageOutsideRoot, $"image path '{path}' has a '..' part: it is opened as written, links before the '..' decide where it leads");
        }

        var folder = Path.GetDirectoryName(lexical)!;
        string? realFolder;
        bool cached;
        lock (_realFolders)
        {
            cached = _realFolders.TryGetValue(folder, out realFolder);
        }

        if (!cached)
        {
            // The image stage resolves paths on several threads at once: the cache is shared, its updates one at a time.
            realFolder = RealPath(folder);
            lock (_realFolders)
            {
                if (_realFolders.Count >= MaxCachedFolders)
                {
                    _realFolders.Clear();
                }

                _realFolders[folder] = realFolder;
            }
        }

        if (realFolder is null)
        {
            return (RejectReasons.MissingImage, $"no file {path} under {Root}");
        }

        var real = RealPath(realFolder, [Path.GetFileName(lexical)]);
        if (real is null || !File.Exists(real))
        {
            return (RejectReasons.MissingImage, $"no file {path} under {Root}");
        }

        if (!real.StartsWith(_realRoot, StringComparison.Ordinal))
        {
            return (RejectReasons.ImageOutsideRoot, $"image path '{path}' is a link (or under a linked folder) that leads outside the image root");
        }

        full = real;
        return null;
    }

    private static string WithSeparator(string path) => Path.TrimEndingDirectorySeparator(path) + Path.DirectorySeparatorChar;

    /// <summary>The path with every symbolic link in it followed, as realpath(3) does; null when links loop or cannot be read.</summary>
    /// <remarks>A missing part is kept as written: whether the file exists is for the caller to check.</remarks>
    internal static string? RealPath(string fullPath) => RealPath(Path.GetPathRoot(fullPath)!, Parts(fullPath));

    /// <summary>Follows <paramref name="parts"/> from <paramref name="start"/>, a folder whose own path has no links.</summary>
    private static string? RealPath(string start, string[] parts)
    {
        var pending = new Stack<string>(Enumerable.Reverse(parts));
        var current = start;
        var hops = 0;
        while (pending.TryPop(out var part))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Join(current, part);
            string? target;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }

            if (target is null)
            {
                current = next;
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                return null;
            }

            // The link's own parts replace it; an absolute target starts again from the file system root.
            var targetParts = Parts(target);
            for (var k = targetParts.Length - 1; k >= 0; k--)
            {
                pending.Push(targetParts[k]);
            }

            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
            }
        }

        return current;
    }

    private static string[] Parts(string path) =>
        path.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
}
