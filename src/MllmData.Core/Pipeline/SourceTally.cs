using System.Globalization;
using MllmData.Adapters;
using MllmData.Records;

namespace MllmData.Pipeline;

/// <summary>What one source of a build gave: its records, and its rejects by reason with the first of each.</summary>
public sealed record SourceOutcome(string Name, string Adapter, IReadOnlyDictionary<string, string> Inputs, long Records, IReadOnlyDictionary<string, (long Count, Reject First)> Rejects);

/// <summary>Counts records and rejects per source as the build goes, so a source that yields nothing can be named.</summary>
public sealed class SourceTally
{
    private readonly Dictionary<string, Dictionary<string, (long Count, Reject First)>> _rejects = new(StringComparer.Ordinal);
    private readonly List<SourceOutcome> _sources = [];

    public IReadOnlyList<SourceOutcome> Sources => _sources;

    /// <summary>Counts a reject against its source; returns it unchanged.</summary>
    public Reject Add(Reject reject)
    {
        if (!_rejects.TryGetValue(reject.Source, out var byReason))
        {
            _rejects[reject.Source] = byReason = new(StringComparer.Ordinal);
        }

        byReason[reject.Reason] = byReason.TryGetValue(reject.Reason, out var seen) ? (seen.Count + 1, seen.First) : (1, reject);
        return reject;
    }

    /// <summary>Closes a source once its adapter is read to the end.</summary>
    public void End(string name, string adapter, IReadOnlyDictionary<string, string> inputs, long records) =>
        _sources.Add(new SourceOutcome(name, adapter, inputs, records, _rejects.GetValueOrDefault(name) ?? []));

    /// <summary>The first source that yielded no record, as an error saying why and what to try; nothing when <paramref name="allowEmpty"/>.</summary>
    /// <param name="sources">The sources as they ended.</param>
    /// <param name="allowEmpty">Whether an empty source is accepted.</param>
    /// <param name="staging">Where the failed build's files stay (the output folder itself is left as it was), if they do.</param>
    public static void ThrowIfEmpty(IEnumerable<SourceOutcome> sources, bool allowEmpty, string? staging = null)
    {
        if (allowEmpty || sources.FirstOrDefault(s => s.Records == 0) is not { } empty)
        {
            return;
        }

        var files = string.Join(", ", empty.Inputs.Select(kv => $"{kv.Key}={kv.Value}"));
        var head = $"source '{empty.Name}' yielded no records from {files}";
        if (empty.Rejects.Count == 0)
        {
            throw new EmptySourceException($"{head} and rejected none: the input holds no items, or none that its options select (--split, --splits, --domain); pass --allow-empty to accept an empty source{Kept(staging)}");
        }

        var total = empty.Rejects.Values.Sum(r => r.Count);
        var (reason, (count, first)) = empty.Rejects.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Key, StringComparer.Ordinal).First();
        throw new EmptySourceException(string.Create(
            CultureInfo.InvariantCulture,
            $"{head}: {total} rejects, most often {reason} ({count}), first at {first.Position}: {first.Detail}; hint: {Hint(reason, empty.Adapter)}; pass --allow-empty to accept an empty source{Kept(staging)}"));
    }

    private static string Kept(string? staging) => staging is null
        ? string.Empty
        : $" (the output folder was left as it was; this build's files, rejects.jsonl among them, are in {staging})";

    /// <summary>What usually causes a reason when it rejects everything.</summary>
    public static string Hint(string reason, string adapterName)
    {
        var adapter = AdapterRegistry.All.FirstOrDefault(a => a.Name == adapterName);
        var hasPattern = adapter?.Options.Any(o => o.Name == "image-pattern") == true;
        return reason switch
        {
            RejectReasons.UnknownImage when hasPattern => "the image ids do not fit the image pattern; ids that are not numbers need --image-pattern with %s",
            RejectReasons.UnknownImage => "the records name no usable image; check the image column (--map image=COLUMN)",
            RejectReasons.MissingImage when hasPattern => "no image file is where the records point: check --image-root and --image-pattern",
            RejectReasons.MissingImage => "no image file is where the records point: check --image-root (and --image-prefix)",
            RejectReasons.ImageOutsideRoot => "the image paths leave --image-root: point --image-root at the folder the paths start from",
            RejectReasons.WrongType or RejectReasons.MissingField or "not-json" =>
                $"the file does not have the layout adapter '{adapterName}' reads: is it the right file, or the right adapter? (`mllmdata sources` lists each adapter's files)",
            RejectReasons.NoAnnotation => "the annotations do not match the questions: are both files of the same split?",
            RejectReasons.DuplicateId => "every id repeats an earlier one: is the same file given twice?",
            RejectReasons.EmptyAnswer => "no record has an answer: is this a test split?",
            RejectReasons.LiteralImageToken => "the text holds the image placeholder: choose another with --image-token",
            Formats.FindingCodes.MissingAssistant => "the records have questions but no answers (question files?): --split-role eval builds an evaluation set from them",
            _ => "rejects.jsonl lists every reject",
        };
    }
}

/// <summary>A source yielded no records (exit code 2) and the build does not allow that.</summary>
public sealed class EmptySourceException : Exception
{
    public EmptySourceException(string message)
        : base(message)
    {
    }

    public EmptySourceException()
    {
    }

    public EmptySourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
