using System.Security.Cryptography;
using MllmData.Images;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// Whether two image references show the same picture: the same path, or, under an image root, two files of the same
/// size whose bytes hash alike (a copy under another name). Sizes are looked up once per path and hashes only when
/// sizes meet, so the check costs a stat per image, not a read.
/// </summary>
public sealed class ImageIdentity(ImageRootCheck? root)
{
    /// <summary>Entries kept before the caches start again: bounded memory on any input.</summary>
    private const int MaxEntries = 100_000;

    private readonly Dictionary<string, long> _sizes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _hashes = new(StringComparer.Ordinal);

    /// <summary>Files hashed so far (for tests: hashing happens only when sizes meet).</summary>
    public long Hashed { get; private set; }

    public bool Same(ImageRef a, ImageRef b)
    {
        if (a.Path == b.Path)
        {
            return true;
        }

        if (root is null || a.Inline || b.Inline)
        {
            return false;
        }

        var size = Size(a.Path);
        return size >= 0 && size == Size(b.Path) && Hash(a.Path) is { } hash && hash == Hash(b.Path);
    }

    private long Size(string path)
    {
        if (_sizes.TryGetValue(path, out var size))
        {
            return size;
        }

        Trim(_sizes);
        return _sizes[path] = root!.Resolve(path, out var full) is null && new FileInfo(full) is { Exists: true } info ? info.Length : -1;
    }

    private string? Hash(string path)
    {
        if (_hashes.TryGetValue(path, out var hash))
        {
            return hash;
        }

        Trim(_hashes);
        Hashed++;
        try
        {
            hash = root!.Resolve(path, out var full) is null ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(full))) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            hash = null;
        }

        return _hashes[path] = hash;
    }

    private static void Trim<T>(Dictionary<string, T> cache)
    {
        if (cache.Count >= MaxEntries)
        {
            cache.Clear();
        }
    }
}
