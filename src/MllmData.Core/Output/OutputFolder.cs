using System.Diagnostics;

namespace MllmData.Output;

/// <summary>
/// An output folder being written. A run holds its lock, writes everything into a staging folder beside the
/// final files, and promotes it on <see cref="Commit"/>: the old manifest goes first, the new one last, so a
/// manifest that exists always describes the shards beside it. A run killed at any moment leaves either the
/// previous complete output, or no manifest at all (an incomplete folder the next run cleans up).
/// </summary>
public sealed class OutputFolder : IDisposable
{
    public const string DataFolder = "data";
    public const string ImagesFolder = "images";
    public const string ManifestFile = "manifest.json";
    public const string RejectsFile = "rejects.jsonl";
    public const string StagingFolder = ".staging";
    public const string LockFile = ".lock";

    /// <summary>The manifest of a worker's part (<c>--num-shards</c>): it stands where a build has manifest.json.</summary>
    public const string PartFile = "part.json";

    /// <summary>Top-level files a build may write besides the manifest; old ones are removed when a build does not write them again.</summary>
    public static readonly IReadOnlyList<string> SideFiles = [RejectsFile, "dataset_info.json", "answers.jsonl", "part.jsonl", "README.md"];

    private readonly FileStream _lock;
    private bool _committed;

    /// <summary>Whether this run made the folder: a run that fails before its commit then leaves nothing behind.</summary>
    private bool _createdRoot;

    private OutputFolder(string root, FileStream lockStream)
    {
        Root = root;
        _lock = lockStream;
        Staging = Path.Combine(root, StagingFolder);
    }

    /// <summary>The final output folder.</summary>
    public string Root { get; }

    /// <summary>Where this run writes; promoted into <see cref="Root"/> on commit.</summary>
    public string Staging { get; }

    public string StagingData => Path.Combine(Staging, DataFolder);

    /// <summary>The journal of this run's finished work (shards, images), kept in staging until the commit.</summary>
    public ResumeJournal? Journal { get; set; }

    /// <summary>
    /// The files of <c>images/</c> the output refers to, for a run without a journal (a merge): on commit any other file
    /// there is an earlier build's and goes, as after a build.
    /// </summary>
    public IReadOnlyCollection<string>? ImagesKept { get; set; }

    /// <summary>Keeps the staging folder when the run ends without its commit (it was cancelled): <c>--resume</c> goes on from it.</summary>
    public bool KeepStaging { get; set; }

    /// <summary>
    /// Takes the folder's lock (a second run on the same folder is refused), refuses a folder whose writing would
    /// replace one of <paramref name="inputs"/>, and starts a clean staging folder (removing a killed run's).
    /// </summary>
    /// <remarks>With <paramref name="keepStaging"/> (<c>--resume</c>) an interrupted run's staging folder stays for its <see cref="ResumeJournal"/> to read.</remarks>
    public static OutputFolder Open(string outDir, IEnumerable<string> inputs, bool keepStaging = false)
    {
        if (string.IsNullOrWhiteSpace(outDir))
        {
            throw new UsageException("--out: give a folder (the value is empty)");
        }

        var root = Path.GetFullPath(outDir);
        CheckInputs(root, inputs);
        CheckForeign(root);
        var existed = Directory.Exists(root);
        try
        {
            Directory.CreateDirectory(root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OutputException(root, $"cannot create the output folder: {ex.Message}", ex);
        }

        FileStream lockStream;
        try
        {
            // FileShare.None takes an exclusive advisory lock; the kernel drops it when the process dies.
            lockStream = new FileStream(Path.Combine(root, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new OutputException(root, $"cannot write to the output folder: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new OutputException(root, "another run is writing to this output folder (it holds .lock); wait for it or choose another --out", ex, refused: true);
        }

        var folder = new OutputFolder(root, lockStream) { _createdRoot = !existed };
        try
        {
            if (Directory.Exists(folder.Staging) && !keepStaging)
            {
                Directory.Delete(folder.Staging, recursive: true);
            }

            // Temporary files a killed run left beside the output (image copies, side files) go too.
            foreach (var dir in new[] { root, Path.Combine(root, ImagesFolder) }.Where(Directory.Exists))
            {
                foreach (var stale in Directory.EnumerateFiles(dir, ".*.tmp"))
                {
                    File.Delete(stale);
                }
            }

            Directory.CreateDirectory(folder.StagingData);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            folder.Dispose();
            throw new OutputException(root, $"cannot write to the output folder: {ex.Message}", ex);
        }

        return folder;
    }

    /// <summary>Whether writing into <paramref name="root"/> would replace or delete <paramref name="path"/>.</summary>
    public static bool WouldReplace(string root, string path)
    {
        // A name no file system can hold replaces nothing; reading it is refused with its own reason.
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        var real = RealPath.Of(path);
        var realRoot = RealPath.Of(root);
        foreach (var folder in new[] { DataFolder, ImagesFolder, StagingFolder })
        {
            var dir = Path.Combine(realRoot, folder) + Path.DirectorySeparatorChar;
            if (real.StartsWith(dir, StringComparison.Ordinal) || real + Path.DirectorySeparatorChar == dir)
            {
                return true;
            }
        }

        return real == realRoot || SideFiles.Append(ManifestFile).Append(PartFile).Append(LockFile).Any(f => real == Path.Combine(realRoot, f));
    }

    /// <summary>
    /// Refuses a folder that is not an earlier run's output (no manifest, part manifest or staged run in it) but holds files a
    /// run deletes or replaces there: anything in <c>data/</c> or <c>images/</c>, or a file named as one of the side files.
    /// Other files of a folder may stay beside the output; these would be lost without a word.
    /// </summary>
    private static void CheckForeign(string root)
    {
        if (!Directory.Exists(root) || new[] { ManifestFile, PartFile }.Any(f => File.Exists(Path.Combine(root, f))) || Directory.Exists(Path.Combine(root, StagingFolder)))
        {
            return;
        }

        var held = new[] { DataFolder, ImagesFolder }.Select(f => Path.Combine(root, f)).Where(d => Directory.Exists(d) && Directory.EnumerateFileSystemEntries(d).Any())
            .Concat(SideFiles.Select(f => Path.Combine(root, f)).Where(Path.Exists))
            .FirstOrDefault();
        if (held is not null)
        {
            throw new OutputException(root, $"this folder is not an earlier build's output (it has no {ManifestFile}), but a build would delete or replace {held}; choose a new or empty --out", null, refused: true);
        }
    }

    private static void CheckInputs(string root, IEnumerable<string> inputs)
    {
        foreach (var input in inputs)
        {
            if (WouldReplace(root, input))
            {
                throw new OutputException(root, $"writing here would replace or delete the input {input}; choose an --out outside the inputs' data", null, refused: true);
            }
        }
    }

    /// <summary>
    /// Promotes the staged output into the folder; the new manifest (<paramref name="manifestFile"/>: manifest.json, or
    /// part.json for a worker's part) is the last file to arrive, and any old one of either kind is the first to go.
    /// </summary>
    public void Commit(string manifestFile = ManifestFile)
    {
        FaultPoint("staged");
        var manifest = Path.Combine(Root, manifestFile);
        foreach (var old in new[] { ManifestFile, PartFile }.Select(f => Path.Combine(Root, f)).Where(File.Exists))
        {
            File.Delete(old);
        }

        FaultPoint("manifest-removed");
        var data = Path.Combine(Root, DataFolder);
        if (Directory.Exists(data))
        {
            foreach (var old in Directory.EnumerateFiles(data))
            {
                File.Delete(old);
            }
        }

        Directory.CreateDirectory(data);
        foreach (var shard in Directory.EnumerateFiles(StagingData).Order(StringComparer.Ordinal))
        {
            File.Move(shard, Path.Combine(data, Path.GetFileName(shard)));
            FaultPoint("shard-promoted");
        }

        foreach (var side in SideFiles)
        {
            var staged = Path.Combine(Staging, side);
            var final = Path.Combine(Root, side);
            if (File.Exists(staged))
            {
                File.Move(staged, final, overwrite: true);
            }
            else if (File.Exists(final))
            {
                File.Delete(final);
            }
        }

        FaultPoint("before-manifest");
        File.Move(Path.Combine(Staging, manifestFile), manifest);
        _committed = true;
        Journal?.Dispose();
        if ((Journal?.PlacedImages ?? ImagesKept) is { } placed)
        {
            RemoveStaleImages(placed);
        }

        Directory.Delete(Staging, recursive: true);
    }

    /// <summary>Removes the files of <c>images/</c> an earlier build left that this one does not refer to (hidden files aside).</summary>
    private void RemoveStaleImages(IReadOnlyCollection<string> placed)
    {
        var images = Path.Combine(Root, ImagesFolder);
        if (!Directory.Exists(images))
        {
            return;
        }

        var keep = placed.ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(images).Where(f => !Path.GetFileName(f).StartsWith('.') && !keep.Contains(Path.GetFileName(f))).ToList())
        {
            File.Delete(file);
        }

        if (keep.Count == 0 && !Directory.EnumerateFileSystemEntries(images).Any())
        {
            Directory.Delete(images);
        }
    }

    private static readonly string? Fault = Environment.GetEnvironmentVariable("MLLMDATA_FAULT");

    /// <summary>Test hook: <c>MLLMDATA_FAULT=kill-at:POINT</c> kills the process there, as a kill -9 would.</summary>
    public static void FaultPoint(string point)
    {
        if (Fault is { } fault && fault.StartsWith("kill-at:", StringComparison.Ordinal) && fault.AsSpan(8).SequenceEqual(point))
        {
            Process.GetCurrentProcess().Kill();
        }
    }

    public void Dispose()
    {
        Journal?.Dispose();
        if (!_committed && !KeepStaging)
        {
            try
            {
                if (Directory.Exists(Staging))
                {
                    Directory.Delete(Staging, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The next run removes what is left.
            }
        }

        // The lock file goes with the run; a run that opened it before this point still finds it held.
        try
        {
            File.Delete(Path.Combine(Root, LockFile));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        _lock.Dispose();
        if (!_committed && _createdRoot)
        {
            try
            {
                // Only when empty: a non-recursive delete never removes what another run put there meanwhile.
                Directory.Delete(Root);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}

/// <summary>The output folder cannot be written as asked: refused (exit 1: it would replace an input, or another run holds it) or failed (exit 2).</summary>
public sealed class OutputException(string folder, string message, Exception? inner, bool refused = false)
    : Exception($"{folder}: {message}", inner)
{
    public string Folder { get; } = folder;

    /// <summary>The folder was refused before anything was written (a usage error).</summary>
    public bool Refused { get; } = refused;
}

/// <summary>Paths with every symbolic link resolved, file and folder alike.</summary>
public static class RealPath
{
    /// <summary>The absolute path with links resolved component by component; parts that do not exist are kept as written.</summary>
    public static string Of(string path)
    {
        var full = Path.GetFullPath(path);
        for (var depth = 0; depth < 40; depth++)
        {
            var resolved = ResolveOnce(full);
            if (resolved == full)
            {
                return full;
            }

            full = resolved;
        }

        throw new IOException($"too many levels of symbolic links: {path}");
    }

    private static string ResolveOnce(string full)
    {
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = Path.GetPathRoot(full) ?? "/";
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                var absolute = Path.GetFullPath(target, current);
                return Path.Combine([absolute, .. parts[(i + 1)..]]);
            }

            current = next;
        }

        return current;
    }
}
