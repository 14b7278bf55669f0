using System.Text.Json;
using MllmData.Records;

namespace MllmData.Images;

/// <summary>Counts of a run's image work, for the log and the manifest.</summary>
public sealed class ImageSummary
{
    public long Checked { get; set; }

    public long ExactDuplicates { get; set; }

    public long NearDuplicates { get; set; }

    public Dictionary<string, long> Rejected { get; } = new(StringComparer.Ordinal);

    /// <summary>The sum of several sources' counts.</summary>
    public static ImageSummary Total(IEnumerable<ImageSummary> parts)
    {
        var total = new ImageSummary();
        foreach (var part in parts)
        {
            total.Checked += part.Checked;
            total.ExactDuplicates += part.ExactDuplicates;
            total.NearDuplicates += part.NearDuplicates;
            foreach (var (k, v) in part.Rejected)
            {
                total.Rejected[k] = total.Rejected.GetValueOrDefault(k) + v;
            }
        }

        return total;
    }

    public void WriteTo(Utf8JsonWriter w, string mode)
    {
        w.WriteStartObject("images");
        w.WriteString("mode", mode);
        w.WriteNumber("checked", Checked);
        w.WriteNumber("exact_duplicates", ExactDuplicates);
        w.WriteNumber("near_duplicates", NearDuplicates);
        w.WriteStartObject("rejected");
        foreach (var (k, v) in Rejected.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WriteNumber(k, v);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>
/// The image stage between adapter and renderer: processes the images of a window of records in parallel on
/// all cores, then decides duplicates and rejects in record order, so the output does not depend on timing.
/// </summary>
public sealed class ImageStage(ImageSettings settings, string imageRoot, string outDir, Output.ResumeJournal? journal = null)
{
    private readonly ImageProcessor _processor = new(settings, imageRoot, outDir, journal);

    // Several records often share an image (five captions, several questions): process each file once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<ImageOutcome>>> _recent = new(StringComparer.Ordinal);
    private readonly SeenImages _seen = new(settings.NearDuplicateDistance);

    public ImageSummary Summary { get; } = new();

    /// <summary>How many records to gather before processing them together: few when each carries its image bytes.</summary>
    public int WindowRecords => settings.Mode == "embed" ? Math.Max(4, 2 * settings.Workers) : 64;

    public const string DuplicateImage = "duplicate-image";
    public const string NearDuplicateImage = "near-duplicate-image";

    /// <summary>The records with their images processed, or the reject that replaces each, in input order.</summary>
    /// <remarks>With <c>facts</c>: for each record, what the duplicate check saw of its images (a split build's merge counts repeats from them).</remarks>
    public async Task<List<(InstructionRecord? Record, Reject? Reject)>> ProcessAsync(IReadOnlyList<InstructionRecord> records, CancellationToken ct, List<List<ImageFact>>? facts = null)
    {
        var outcomes = new ImageOutcome?[records.Count][];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, records.Count),
            new ParallelOptions { MaxDegreeOfParallelism = settings.Workers, CancellationToken = ct },
            async (i, _) =>
            {
                var images = records[i].Images;
                var list = new ImageOutcome?[images.Count];
                for (var k = 0; k < images.Count; k++)
                {
                    var image = images[k];
                    if (!image.Inline && Formats.ImageUrls.IsUrl(image.Path))
                    {
                        // A URL the format's consumer loads itself (the others were rejected before): there is no file here to process.
                        continue;
                    }

                    var outcome = await _recent.GetOrAdd(image.Path, _ => new Lazy<Task<ImageOutcome>>(() => _processor.ProcessAsync(image))).Value.ConfigureAwait(false);

                    // The outcome keeps the record's own image entry (its width/height from the source, if any) where it can.
                    list[k] = outcome;
                }

                if (_recent.Count > 4096)
                {
                    _recent.Clear();
                }

                outcomes[i] = list;
            }).ConfigureAwait(false);

        if (settings.Mode == "embed")
        {
            // Embedded outcomes carry the image bytes: keeping them past their window would hold every image of the run.
            _recent.Clear();
        }

        var results = new List<(InstructionRecord?, Reject?)>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            Reject? reject = null;
            var images = new List<ImageRef>(record.Images.Count);
            var seen = facts is null ? null : new List<ImageFact>(record.Images.Count);
            facts?.Add(seen!);
            for (var k = 0; k < outcomes[i].Length; k++)
            {
                if (outcomes[i][k] is not { } outcome)
                {
                    images.Add(record.Images[k]);
                    continue;
                }

                Summary.Checked++;
                if (outcome.Reason is { } reason)
                {
                    Summary.Rejected[reason] = Summary.Rejected.GetValueOrDefault(reason) + 1;
                    reject ??= new Reject(record.Source, record.Provenance.File, record.Id, reason, outcome.Detail!);
                    continue;
                }

                seen?.Add(new ImageFact(outcome.SourceSha256, outcome.PerceptualHash, outcome.Image!.Path));
                var duplicate = Duplicate(record, outcome);
                if (duplicate is not null && settings.Dedup)
                {
                    reject ??= duplicate;
                    continue;
                }

                images.Add(outcome.Image!);
            }

            results.Add(reject is null ? (record with { Images = images }, null) : (null, reject));
        }

        return results;
    }

    /// <summary>Counts the image as an exact or near repeat of an earlier one; the reject to use when dropping repeats.</summary>
    private Reject? Duplicate(InstructionRecord record, ImageOutcome outcome)
    {
        return _seen.See(outcome.SourceSha256, outcome.PerceptualHash, outcome.Image!.Path) switch
        {
            (DuplicateKind.Exact, var first) => Counted(DuplicateImage, $"{outcome.Image.Path} has the same bytes as {first}", exact: true),
            (DuplicateKind.Near, var near) => Counted(NearDuplicateImage, $"{outcome.Image.Path} looks like {near} (perceptual hash within {settings.NearDuplicateDistance} bits)", exact: false),
            _ => null,
        };

        Reject Counted(string reason, string detail, bool exact)
        {
            if (exact)
            {
                Summary.ExactDuplicates++;
            }
            else
            {
                Summary.NearDuplicates++;
            }

            return new Reject(record.Source, record.Provenance.File, record.Id, reason, detail);
        }
    }
}

/// <summary>Whether an image repeats an earlier one.</summary>
public enum DuplicateKind
{
    None,
    Exact,
    Near,
}

/// <summary>
/// The images seen so far, by content hash and perceptual hash: decides exact repeats (the same bytes under another
/// path) and near repeats. The image stage asks it in record order; <c>mllmdata merge</c> asks it again over every
/// part's images in run order, so a split build counts repeats as one process does.
/// </summary>
public sealed class SeenImages(int nearDistance)
{
    private readonly Dictionary<string, string> _exact = new(StringComparer.Ordinal);
    private readonly NearHashIndex _near = new();

    /// <summary>Registers the image; what it repeats, and the earlier path.</summary>
    public (DuplicateKind Kind, string? Earlier) See(string? sha, ulong? perceptualHash, string path)
    {
        if (sha is not null)
        {
            if (_exact.TryGetValue(sha, out var first))
            {
                // The same file under several records (several questions on one image) is the dataset's shape,
                // not a repeat; only a different path with the same bytes is one.
                return first != path ? (DuplicateKind.Exact, first) : (DuplicateKind.None, null);
            }

            _exact[sha] = path;
        }

        if (perceptualHash is { } hash)
        {
            if (_near.Find(hash, nearDistance) is { } near)
            {
                return (DuplicateKind.Near, near);
            }

            _near.Add(hash, path);
        }

        return (DuplicateKind.None, null);
    }
}

/// <summary>What the duplicate check sees of one image: its content hash, perceptual hash and path.</summary>
public sealed record ImageFact(string? Sha256, ulong? PerceptualHash, string Path);

/// <summary>
/// Finds a stored 64-bit hash within a Hamming distance: the hash is split into distance + 1 chunks, and any
/// hash that close must match at least one chunk exactly, so only those buckets are compared.
/// </summary>
internal sealed class NearHashIndex
{
    private const int Chunks = 8;
    private readonly Dictionary<(int Chunk, ulong Value), List<(ulong Hash, string Path)>> _buckets = [];

    public void Add(ulong hash, string path)
    {
        for (var c = 0; c < Chunks; c++)
        {
            var key = (c, Part(hash, c));
            (_buckets.TryGetValue(key, out var list) ? list : _buckets[key] = []).Add((hash, path));
        }
    }

    /// <summary>An earlier image within <paramref name="distance"/> bits (up to 7), or null.</summary>
    public string? Find(ulong hash, int distance)
    {
        for (var c = 0; c < Chunks; c++)
        {
            if (_buckets.TryGetValue((c, Part(hash, c)), out var list))
            {
                foreach (var (other, path) in list)
                {
                    if (PerceptualHash.Distance(hash, other) <= distance)
                    {
                        return path;
                    }
                }
            }
        }

        return null;
    }

    private static ulong Part(ulong hash, int chunk) => (hash >> (chunk * 8)) & 0xFF;
}
