using System.Collections.Concurrent;
using System.Security.Cryptography;
using MllmData.Json;

namespace MllmData.Pipeline;

/// <summary>Opens input files for reading and records the sha256 of every file read to its end.</summary>
public sealed class InputFiles
{
    private readonly ConcurrentDictionary<string, string> _hashes = new(StringComparer.Ordinal);

    /// <summary>Files read completely, by path as given, with their sha256 (lowercase hex).</summary>
    public IReadOnlyDictionary<string, string> Hashes => _hashes;

    /// <summary>Progress is reported against the sum of the sizes of opened files.</summary>
    public Stream Open(string path, ProgressCounter? progress = null)
    {
        if (!File.Exists(path))
        {
            throw new InputDataException(path, "-", "missing-file", Directory.Exists(path) ? "is a folder, not a file" : "no such file");
        }

        FileStream inner;
        try
        {
            inner = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InputDataException(path, "-", "unreadable-file", ex.Message);
        }

        progress?.AddTotal(inner.Length);
        return new HashingReadStream(inner, hash => _hashes[path] = hash, progress);
    }

    private sealed class HashingReadStream(FileStream inner, Action<string> onComplete, ProgressCounter? progress) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private bool _done;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            if (n > 0)
            {
                _hash.AppendData(buffer[..n]);
                progress?.AddDone(n);
            }
            else if (!_done)
            {
                _done = true;
                onComplete(Convert.ToHexStringLower(_hash.GetHashAndReset()));
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
