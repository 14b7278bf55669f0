using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serilog;

namespace MllmData.Output;

/// <summary>A shard an interrupted run finished, found again with the checksum its journal gives: where it lies now.</summary>
public sealed record HeldShard(int Index, string Path, long Records, long Bytes, string Sha256);

/// <summary>
/// What processing one image gave (a reject, or the image as written with its hashes), journalled so a resumed run
/// need not decode it again. <see cref="Kept"/> names the processed bytes kept in the staging folder for an
/// embedding build; a copy names its file under the output folder in <see cref="CopyPath"/>.
/// </summary>
public sealed record ImageEntry(
    string? Reason, string? Detail, string? SourceSha256, ulong? PerceptualHash,
    int Width, int Height, string? Format, string? Sha256, string? MediaType, string? CopyPath, string? Kept);

/// <summary>
/// The journal of a build's finished work, in its staging folder (<c>.staging/resume.jsonl</c>): one line per
/// finished shard (index, records, bytes, sha256) and per processed image. A build killed at any point leaves it
/// behind; a run with <c>--resume</c> and the same key (tool version, recipe, split and input files) verifies each
/// finished shard's checksum where it lies (staged, or already promoted), holds the good ones aside, and lets the
/// shard writer reuse them; processed images are taken from it instead of being decoded again. Lines are flushed as
/// they are written, so a kill loses at most the line being written, which the next reading ignores.
/// </summary>
public sealed class ResumeJournal : IDisposable
{
    public const string FileName = "resume.jsonl";

    /// <summary>The staging subfolder holding verified shards and kept image bytes across a resume.</summary>
    public const string HeldFolder = "resume";

    private readonly Lock _gate = new();
    private readonly Lock _keepGate = new();
    private readonly string _staging;
    private readonly Dictionary<int, HeldShard> _held = [];
    private readonly Dictionary<string, (long Size, long Ticks, ImageEntry Entry)> _images = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _placed = new(StringComparer.Ordinal);
    private FileStream? _stream;
    private long _imagesReused;

    private ResumeJournal(string staging)
    {
        _staging = staging;
    }

    /// <summary>Shards verified and held for reuse when the run started.</summary>
    public int HeldShards { get; private set; }

    /// <summary>Records in the held shards.</summary>
    public long HeldRecords { get; private set; }

    /// <summary>Images processed by an earlier run and taken from the journal in this one.</summary>
    public long ImagesReused => Interlocked.Read(ref _imagesReused);

    /// <summary>Journal lines of an earlier run that were not used, and why (for the log).</summary>
    public List<string> Dropped { get; } = [];

    /// <summary>Where kept image bytes go (embedding builds).</summary>
    public string KeptImages => Path.Combine(_staging, HeldFolder, "images");

    /// <summary>The key of a run: what decides its output bytes, besides the inputs' content (their size and time stand for it).</summary>
    public static string KeyOf(string toolVersion, string recipeSha256, string? split, IEnumerable<string> inputs)
    {
        var sb = new StringBuilder();
        sb.Append(toolVersion).Append('\n').Append(recipeSha256).Append('\n').Append(split ?? "-").Append('\n');
        foreach (var input in inputs.Order(StringComparer.Ordinal))
        {
            // A name no file system holds (a NUL in it) is refused later with its own reason; here it is only a name.
            var info = input.Contains('\0', StringComparison.Ordinal) ? null : new FileInfo(input);
            sb.Append(info?.FullName ?? input).Append('\t');
            sb.Append(info is { Exists: true } ? string.Create(CultureInfo.InvariantCulture, $"{info.Length}\t{info.LastWriteTimeUtc.Ticks}") : "-").Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>
    /// Starts the journal of a run in <paramref name="folder"/>'s staging. With <paramref name="resume"/>, an earlier
    /// run's journal with the same <paramref name="key"/> is read first: its finished shards named
    /// <paramref name="name"/> are verified and held, its images remembered; everything else in staging is cleared.
    /// </summary>
    public static ResumeJournal Start(OutputFolder folder, string key, bool resume, string name, string extension, ILogger log)
    {
        var journal = new ResumeJournal(folder.Staging);
        var path = Path.Combine(folder.Staging, FileName);
        var lines = new List<string>();
        if (resume)
        {
            journal.ReadEarlier(folder, path, key, name, extension, lines);
            if (journal.HeldShards > 0 || journal._images.Count > 0)
            {
                log.Information(
                    "resume: {Shards} finished shards verified and kept ({Records} records), {Images} processed images remembered",
                    journal.HeldShards, journal.HeldRecords, journal._images.Count);
            }
            else
            {
                log.Information("resume: no finished work of an earlier run of this recipe was found in {Folder}; building from the start", folder.Root);
            }

            foreach (var reason in journal.Dropped)
            {
                log.Warning("resume: {Reason}", reason);
            }
        }

        if (!resume)
        {
            ClearStaging(folder.Staging, keep: false);
        }

        // The journal starts again from what was kept, written whole before the old one is replaced; only then is the
        // rest of the earlier staging cleared, so a kill in between still finds every held shard listed.
        Directory.CreateDirectory(folder.Staging);
        AtomicFile.Write(path, s =>
        {
            s.Write(Encoding.UTF8.GetBytes(HeaderLine(key)));
            foreach (var line in lines)
            {
                s.Write(Encoding.UTF8.GetBytes(line + "\n"));
            }
        });
        if (resume)
        {
            ClearStaging(folder.Staging, keep: true);
            SweepTemporaries(journal.KeptImages);
        }

        Directory.CreateDirectory(folder.StagingData);
        journal._stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        return journal;
    }

    /// <summary>The verified shard of an earlier run with this index, if one is held.</summary>
    public HeldShard? Held(int index) => _held.GetValueOrDefault(index);

    /// <summary>Notes a finished shard (called after its bytes are flushed and its file closed).</summary>
    public void ShardDone(int index, string tempPath, long records, long bytes, string sha256)
    {
        Append(w =>
        {
            w.WriteNumber("shard", index);
            w.WriteString("file", Path.GetFileName(tempPath));
            w.WriteNumber("records", records);
            w.WriteNumber("bytes", bytes);
            w.WriteString("sha256", sha256);
        });
        OutputFolder.FaultPoint(string.Create(CultureInfo.InvariantCulture, $"shard-closed-{index}"));
    }

    /// <summary>What an earlier run made of the image file <paramref name="fullPath"/>, if the file has not changed since.</summary>
    public ImageEntry? Image(string fullPath, long size, long ticks)
    {
        lock (_gate)
        {
            return _images.TryGetValue(fullPath, out var e) && e.Size == size && e.Ticks == ticks ? e.Entry : null;
        }
    }

    /// <summary>The files this run placed (or found in place) under <c>images/</c>: after the commit, any other file there is an earlier build's and goes.</summary>
    public IReadOnlyCollection<string> PlacedImages => (IReadOnlyCollection<string>)_placed.Keys;

    /// <summary>Notes a file of <c>images/</c> the output refers to.</summary>
    public void Placed(string name) => _placed.TryAdd(name, 0);

    /// <summary>Keeps processed image bytes under <paramref name="name"/> (their sha256 and extension) for a resumed run; the name.</summary>
    public string Keep(string name, byte[] bytes)
    {
        lock (_keepGate)
        {
            // A file of that name that does not hold these bytes (damaged since, or cut short) is written again, so the
            // next resume finds it whole instead of making the image anew every time.
            var target = Path.Combine(KeptImages, name);
            if (!File.Exists(target) || new FileInfo(target).Length != bytes.Length || !File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes))
            {
                AtomicFile.Write(target, s => s.Write(bytes));
            }
        }

        return name;
    }

    /// <summary>Held shards that took their place in this run's output.</summary>
    public int ShardsReused { get; private set; }

    /// <summary>Counts a held shard that took its place (its records made again hashed to its checksum).</summary>
    public void ShardReused() => ShardsReused++;

    /// <summary>Counts an image taken from the journal.</summary>
    public void Reused() => Interlocked.Increment(ref _imagesReused);

    /// <summary>Notes what processing an image gave.</summary>
    public void ImageDone(string fullPath, long size, long ticks, ImageEntry entry)
    {
        lock (_gate)
        {
            _images[fullPath] = (size, ticks, entry);
        }

        Append(w =>
        {
            w.WriteString("image", fullPath);
            w.WriteNumber("size", size);
            w.WriteNumber("ticks", ticks);
            WriteEntry(w, entry);
        });
        OutputFolder.FaultPoint(string.Create(CultureInfo.InvariantCulture, $"image-{_images.Count}"));
    }

    private static string HeaderLine(string key) => $"{{\"journal\":1,\"key\":\"{key}\"}}\n";

    private void Append(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        lock (_gate)
        {
            if (_stream is null)
            {
                return;
            }

            _stream.Write(buffer.WrittenSpan);
            _stream.Write("\n"u8);
            _stream.Flush();
        }
    }

    private static void WriteEntry(Utf8JsonWriter w, ImageEntry e)
    {
        void Opt(string name, string? value)
        {
            if (value is not null)
            {
                w.WriteString(name, value);
            }
        }

        Opt("reason", e.Reason);
        Opt("detail", e.Detail);
        Opt("source_sha256", e.SourceSha256);
        if (e.PerceptualHash is { } hash)
        {
            w.WriteString("phash", hash.ToString("x16", CultureInfo.InvariantCulture));
        }

        if (e.Reason is null)
        {
            w.WriteNumber("width", e.Width);
            w.WriteNumber("height", e.Height);
        }

        Opt("format", e.Format);
        Opt("sha256", e.Sha256);
        Opt("media_type", e.MediaType);
        Opt("copy", e.CopyPath);
        Opt("kept", e.Kept);
    }

    private static ImageEntry ReadEntry(JsonElement o)
    {
        string? S(string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        int I(string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
        ulong? hash = S("phash") is { } h ? ulong.Parse(h, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture) : null;
        return new ImageEntry(S("reason"), S("detail"), S("source_sha256"), hash, I("width"), I("height"), S("format"), S("sha256"), S("media_type"), S("copy"), S("kept"));
    }

    /// <summary>Reads the earlier journal; verifies and holds its shards, remembers its images; the lines to carry over.</summary>
    private void ReadEarlier(OutputFolder folder, string path, string key, string name, string extension, List<string> carried)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var all = File.ReadAllLines(path);
        if (all.Length == 0 || !all[0].Equals(HeaderLine(key).TrimEnd('\n'), StringComparison.Ordinal))
        {
            Dropped.Add("the staged work of the interrupted run was made from another recipe, seed, tool version or other input files; it is discarded");
            return;
        }

        var shards = new SortedDictionary<int, (long Records, long Bytes, string Sha, string File)>();
        var garbled = 0;
        foreach (var line in all.Skip(1))
        {
            JsonElement o;
            try
            {
                using var doc = JsonDocument.Parse(line);
                o = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                // The line being written when the run was killed.
                continue;
            }

            try
            {
                if (o.TryGetProperty("shard", out var index) && o.TryGetProperty("sha256", out var sha) && o.TryGetProperty("records", out var records) && o.TryGetProperty("bytes", out var bytes) && o.TryGetProperty("file", out var file))
                {
                    // The file is a staged shard's bare name: a path elsewhere is no shard of this run.
                    var at = index.GetInt32();
                    var fileName = file.GetString();
                    if (at < 0 || string.IsNullOrEmpty(fileName) || Path.GetFileName(fileName) != fileName || fileName is "." or ".." || sha.GetString() is null)
                    {
                        throw new FormatException("not a shard of this run");
                    }

                    shards[at] = (records.GetInt64(), bytes.GetInt64(), sha.GetString()!, fileName);
                }
                else if (o.TryGetProperty("image", out var image) && o.TryGetProperty("size", out var size) && o.TryGetProperty("ticks", out var ticks))
                {
                    _images[image.GetString() ?? throw new FormatException("no image path")] = (size.GetInt64(), ticks.GetInt64(), ReadEntry(o));
                    carried.Add(line);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or OverflowException)
            {
                // A line damaged since it was written (its values of the wrong kind): its work is done again.
                garbled++;
            }
        }

        if (garbled > 0)
        {
            Dropped.Add(string.Create(CultureInfo.InvariantCulture, $"{garbled} lines of the journal are not as this tool writes them (damaged since); the work they stand for is done again"));
        }

        var held = Path.Combine(folder.Staging, HeldFolder);
        Directory.CreateDirectory(held);
        foreach (var (index, s) in shards)
        {
            var found = Candidates(folder, index, s.File, name, extension).FirstOrDefault(c => Matches(c, s.Bytes, s.Sha));
            if (found is null)
            {
                Dropped.Add(string.Create(CultureInfo.InvariantCulture, $"shard {index} of the interrupted run is missing or its bytes differ from its sha256 {s.Sha}; it is made again"));
                continue;
            }

            var target = HeldPath(folder, index, extension);
            if (found != target)
            {
                File.Move(found, target, overwrite: true);
            }

            _held[index] = new HeldShard(index, target, s.Records, s.Bytes, s.Sha);
            HeldShards++;
            HeldRecords += s.Records;
            carried.Add(ShardLine(index, s));
        }

        static string ShardLine(int index, (long Records, long Bytes, string Sha, string File) s) =>
            string.Create(CultureInfo.InvariantCulture, $"{{\"shard\":{index},\"file\":\"{s.File}\",\"records\":{s.Records},\"bytes\":{s.Bytes},\"sha256\":\"{s.Sha}\"}}");
    }

    /// <summary>Where a verified shard of an earlier run waits for its place in this one.</summary>
    private static string HeldPath(OutputFolder folder, int index, string extension) =>
        Path.Combine(folder.Staging, HeldFolder, string.Create(CultureInfo.InvariantCulture, $"shard-{index:D5}{extension}"));

    /// <summary>Where a finished shard can be: held by an earlier resume, staged under its temporary or final name, or promoted.</summary>
    private static IEnumerable<string> Candidates(OutputFolder folder, int index, string tempName, string name, string extension)
    {
        yield return HeldPath(folder, index, extension);
        yield return Path.Combine(folder.StagingData, tempName);
        var pattern = string.Create(CultureInfo.InvariantCulture, $"{name}-{index:D5}-of-*{extension}");
        foreach (var dir in new[] { folder.StagingData, Path.Combine(folder.Root, OutputFolder.DataFolder) }.Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal))
            {
                yield return file;
            }
        }
    }

    private static bool Matches(string file, long bytes, string sha)
    {
        var info = new FileInfo(file);
        if (!info.Exists || info.Length != bytes)
        {
            return false;
        }

        using var s = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(s)) == sha;
    }

    /// <summary>
    /// Deletes the dot-named temporary files a killed run left among the kept images (an image being kept when the kill
    /// came): a kept image is named by its sha256, so no such name is one, and they would take space until the end.
    /// </summary>
    private static void SweepTemporaries(string keptImages)
    {
        if (!Directory.Exists(keptImages))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(keptImages, ".*.tmp"))
        {
            File.Delete(file);
        }
    }

    /// <summary>Empties the staging folder; a resume keeps the journal, the held shards and the kept images.</summary>
    private static void ClearStaging(string staging, bool keep)
    {
        if (!Directory.Exists(staging))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(staging))
        {
            if (!keep || Path.GetFileName(file) != FileName)
            {
                File.Delete(file);
            }
        }

        foreach (var dir in Directory.EnumerateDirectories(staging))
        {
            if (keep && Path.GetFileName(dir) == HeldFolder)
            {
                continue;
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }
}
