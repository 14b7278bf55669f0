using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MllmData.Json;

namespace MllmData.Inputs;

/// <summary>Opens input files for reading, and hashes each file once for the manifest.</summary>
/// <remarks>
/// A file an adapter reads (with progress) is hashed from the bytes as they are read, by the first stream opened on it:
/// a second pass over the file, on another thread, cost as much as a fifth of a large build's CPU at its start. A file
/// that stream did not read to its end (a reader that stopped early), and one opened without progress (a stream its
/// reader may seek in), is hashed apart, reading it again on a background task.
/// </remarks>
public sealed class InputFiles
{
    private readonly ConcurrentDictionary<string, FileHash> _hashes = new(StringComparer.Ordinal);

    /// <summary>Progress is reported against the sum of the sizes of opened files.</summary>
    public Stream Open(string path, ProgressCounter? progress = null)
    {
        var inner = OpenChecked(path);
        var hash = _hashes.GetOrAdd(path, p => new FileHash(p));
        if (progress is null)
        {
            hash.Apart();
            return inner;
        }

        progress.AddTotal(inner.Length);
        return hash.TryClaim() ? new HashingReadStream(inner, progress, hash) : new CountingReadStream(inner, progress);
    }

    /// <summary>
    /// Opens a file the user named, for reading: a missing file, a folder, a FIFO or device, a dangling link or a file that
    /// cannot be opened is an <see cref="InputDataException"/> naming it (exit 2), never a stack trace or a wait.
    /// </summary>
    public static FileStream OpenChecked(string path)
    {
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new InputDataException(path.Replace("\0", "\\0", StringComparison.Ordinal), "-", "bad-file-name", "the file name contains a NUL character");
        }

        if (Missing(path) is { } missing)
        {
            throw missing;
        }

        // Opening a FIFO blocks until something writes to it, and a device never ends: only regular files are read.
        if (FileType.Of(path) is { } kind && kind != FileType.Regular)
        {
            throw new InputDataException(path, "-", "not-a-file", $"is {FileType.Describe(kind)}, not a regular file");
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InputDataException(path, "-", "unreadable-file", ex.Message);
        }
    }

    /// <summary>The whole of a small file the user named (a manifest), opened as <see cref="OpenChecked"/> does.</summary>
    public static byte[] ReadChecked(string path)
    {
        using var stream = OpenChecked(path);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Why <paramref name="path"/> cannot be read as an input file (no such file, or a folder), or null when it is a file.</summary>
    public static InputDataException? Missing(string path) =>
        File.Exists(path) ? null
        : Directory.Exists(path) ? new InputDataException(path, "-", "not-a-file", "is a folder, not a file: name a file in it")
        : new InputDataException(path, "-", "missing-file", "no such file");

    /// <summary>A file read by other means (a frame, an in-context pool) whose sha256 the manifest lists too.</summary>
    public void Track(string path) => _hashes.GetOrAdd(path, p => new FileHash(p)).Apart();

    /// <summary>sha256 (lowercase hex) of every file opened, by path as given. Called once the files have been read.</summary>
    public async Task<IReadOnlyDictionary<string, string>> HashesAsync()
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, hash) in _hashes)
        {
            result[path] = await hash.Result().ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>One file's sha256: taken by the stream that reads it whole, else by reading it apart.</summary>
    private sealed class FileHash(string path)
    {
        private readonly Lock _gate = new();
        private int _claimed;
        private string? _read;
        private Task<string>? _apart;

        /// <summary>Whether the caller's stream is to hash the file as it reads it (no other stream does, or did).</summary>
        public bool TryClaim() => Interlocked.CompareExchange(ref _claimed, 1, 0) == 0;

        /// <summary>The claiming stream ended before the end of the file: a later stream may hash it.</summary>
        public void Release() => Volatile.Write(ref _claimed, 0);

        /// <summary>The claiming stream read the whole file.</summary>
        public void Read(string hex) => Volatile.Write(ref _read, hex);

        /// <summary>Starts hashing the file apart, unless it is already hashed or being hashed.</summary>
        public void Apart() => _ = Separately();

        public Task<string> Result() => Volatile.Read(ref _read) is { } hex ? Task.FromResult(hex) : Separately();

        private Task<string> Separately()
        {
            lock (_gate)
            {
                return _apart ??= Task.Run(() => HashFile(path));
            }
        }
    }

    /// <summary>A stream that hashes the bytes it reads and reports them as progress; the hash is the file's once it reads to the end.</summary>
    private sealed class HashingReadStream(FileStream inner, ProgressCounter progress, FileHash hash) : CountingReadStream(inner, progress)
    {
        private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private bool _ended;

        public override int Read(Span<byte> buffer)
        {
            var n = base.Read(buffer);
            if (n > 0)
            {
                _sha.AppendData(buffer[..n]);
            }
            else if (buffer.Length > 0 && !_ended)
            {
                _ended = true;
                hash.Read(Convert.ToHexStringLower(_sha.GetHashAndReset()));
            }

            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                if (!_ended)
                {
                    _ended = true;
                    hash.Release();
                }

                _sha.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private static async Task<string> HashFile(string path)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(fs).ConfigureAwait(false));
    }

    private class CountingReadStream(FileStream inner, ProgressCounter progress) : ReadOnlyStream<FileStream>(inner)
    {
        public override long Length => Inner.Length;

        public override long Position
        {
            get => Inner.Position;
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer)
        {
            var n = Inner.Read(buffer);
            progress.AddDone(n);
            return n;
        }
    }

    /// <summary>The type of a file as the kernel reports it (following links), where the platform can say.</summary>
    private static class FileType
    {
        public const int Regular = 0x8000;
        private const int AtCurrentDirectory = -100;
        private const uint StatxType = 0x1;
        private static bool _unavailable;

        /// <summary>The S_IFMT bits of the file's mode, or null when they cannot be read here (not Linux, an old libc).</summary>
        public static int? Of(string path)
        {
            if (!OperatingSystem.IsLinux() || _unavailable)
            {
                return null;
            }

            // struct statx has one layout on every Linux architecture; stx_mode is the 16 bits at offset 28.
            var buffer = new byte[256];
            try
            {
                return statx(AtCurrentDirectory, path, 0, StatxType, buffer) == 0 ? BitConverter.ToUInt16(buffer, 28) & 0xF000 : null;
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                _unavailable = true;
                return null;
            }
        }

        public static string Describe(int kind) => kind switch
        {
            0x1000 => "a FIFO (named pipe)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0x4000 => "a folder",
            _ => "not a regular file",
        };

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code enabled for the whole project.
        private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string pathname, int flags, uint mask, byte[] statxbuf);
#pragma warning restore SYSLIB1054
    }
}
