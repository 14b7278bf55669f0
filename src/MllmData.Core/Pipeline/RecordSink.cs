using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Formats;
using MllmData.Records;
using MllmData.Output;
using MllmData.Parts;
using MllmData.Recipes;
using MllmData.Stats;
using Serilog;
using MllmData.Inputs;

namespace MllmData.Pipeline;

/// <summary>What a finished sink wrote.</summary>
public sealed record SinkResult(IReadOnlyList<ShardInfo> Shards, long Records, long Rejects, IReadOnlyDictionary<string, long> RejectsByReason, string? SplitReason);

/// <summary>The settings of a sink: where, in which format and how the shards are bounded.</summary>
public sealed record SinkSettings(string Name, IOutputFormat Format, RenderOptions Options, long ShardRecords, long ShardBytes, bool Strict);

/// <summary>
/// Where records end: rendered in the output format, checked by that format's validator, written to shards
/// in the output folder's staging area; rejects go to <c>rejects.jsonl</c>, and under <c>--strict</c> the first
/// one stops the run.
/// </summary>
public sealed class RecordSink : IDisposable
{
    private readonly OutputFolder _folder;
    private readonly SinkSettings _settings;
    private readonly ILogger _log;
    private readonly ProgressCounter _progress;
    private readonly IFormatValidator _validator;
    private readonly ShardWriter? _shards;
    private readonly RejectWriter? _rejects;
    private readonly PartWriter? _part;
    private readonly SortedDictionary<string, long> _partByReason = new(StringComparer.Ordinal);
    private long _seq = -1;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _json;
    private readonly List<Finding> _findings = [];
    private long _recordsWithImages;

    /// <summary>A sink that writes shards, or with <paramref name="part"/> a worker's part: its events numbered in single-run order.</summary>
    public RecordSink(OutputFolder folder, SinkSettings settings, ILogger log, ProgressCounter progress, bool part = false)
    {
        _folder = folder;
        _settings = settings;
        _log = log;
        _progress = progress;
        _validator = settings.Format.CreateValidator(settings.Options);
        if (part)
        {
            _part = new PartWriter(folder.Staging);
        }
        else
        {
            _shards = new ShardWriter(folder.StagingData, settings.Name, settings.ShardRecords, settings.ShardBytes, settings.Options.Container, settings.Format.Capabilities.UploadLimits, settings.Options.Parquet(settings.Format), folder.Journal);
            _rejects = new RejectWriter(folder.Staging);
        }

        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _embedInto = settings.Options.EmbedImageColumn ? settings.Options.Parquet(settings.Format)!.Layout : null;
    }

    /// <summary>An embedding Parquet build: the layout whose image column the images' bytes go in.</summary>
    private readonly ParquetLayout? _embedInto;

    public long Records => _part?.Records ?? _shards!.Records;

    /// <summary>Every event so far (records, rejects, and events skipped as another worker's), less one: the last event's place in the run.</summary>
    public long Sequence => _seq;

    /// <summary>The part's events file and its counts, after <see cref="Complete"/> of a part sink.</summary>
    public PartWriter? Part => _part;

    public IOutputFormat Format => _settings.Format;

    /// <summary>Placeholders the format's trainer counts against a record's media: the image token and the format's media tags.</summary>
    public IReadOnlyList<string> MediaPlaceholders => [_settings.Options.ImageToken, .. _settings.Format.Capabilities.ReservedTags];

    /// <summary>Sees every reject, the sink's own format-check rejects included (the build counts them per source).</summary>
    public Action<Reject>? Observer { get; init; }

    /// <summary>Sees every record written (an evaluation build writes its reference answers from it).</summary>
    public Action<InstructionRecord>? Written { get; init; }

    /// <summary>Gathers the dataset card's figures from every line written to a shard, as they are written.</summary>
    public StatsWorker? Stats { get; init; }

    /// <summary>Rewrites local paths in records and rejects so the output does not depend on the working directory.</summary>
    public SourcePaths? Paths { get; init; }

    /// <summary>What a part writes beside the next event (a step's facts the merge needs); "-" for none.</summary>
    public string PartFlags { get; set; } = "-";

    /// <summary>An event of another worker's record: counted in the run's order, written by that worker.</summary>
    public void Skip() => _seq++;

    public void Reject(Reject reject)
    {
        _seq++;
        reject = Paths?.Of(reject) ?? reject;
        Observer?.Invoke(reject);
        if (_part is not null)
        {
            _part.Reject(_seq, reject, PartFlags);
            _partByReason[reject.Reason] = _partByReason.GetValueOrDefault(reject.Reason) + 1;
        }
        else
        {
            _rejects!.Write(reject);
        }

        _progress.AddReject();
        _log.Debug("reject {Reason} {File} {Position}: {Detail}", reject.Reason, reject.File, reject.Position, reject.Detail);
        if (_settings.Strict)
        {
            throw new StrictRejectException(reject);
        }
    }

    /// <summary>The index of the first turn without an answer, if any.</summary>
    private static int? Unanswered(InstructionRecord record)
    {
        for (var i = 0; i < record.Turns.Count; i++)
        {
            if (record.Turns[i].Output is null)
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>Renders, validates and writes the record; false when it became a reject instead.</summary>
    public bool Write(InstructionRecord record)
    {
        record = Paths?.Of(record) ?? record;
        if (_settings.Format.Refuse(record, _settings.Options) is { } refused)
        {
            Reject(new Reject(record.Source, record.Provenance.File, record.Id, refused.Reason, refused.Detail));
            return false;
        }

        // A training record answers every turn; question-only records belong in an evaluation set, whatever the format's validator checks.
        if (_settings.Format is not Eval.EvalQuestionFormat && Unanswered(record) is { } turn)
        {
            Reject(new Reject(record.Source, record.Provenance.File, record.Id, FindingCodes.MissingAssistant,
                $"turn {turn + 1} has no answer (a training record answers every turn)"));
            return false;
        }

        if (_embedInto is not null && record.Images.FirstOrDefault(i => i.Bytes is null) is { } unloaded)
        {
            // A URL the image stage leaves to the consumer has no bytes to put in the image column.
            Reject(new Reject(record.Source, record.Provenance.File, record.Id, RejectReasons.BadImagePath,
                $"image '{unloaded.Path}' is a URL: a Parquet image column holds the images' bytes; download the images and give their paths (with --image-root)"));
            return false;
        }

        _buffer.ResetWrittenCount();
        _json.Reset();
        _settings.Format.Render(record, _json, _settings.Options);
        _json.Flush();

        // Every record passes its format's validator before it is written.
        _findings.Clear();
        _validator.ValidateWritten(_buffer.WrittenSpan, _findings);

        // Question-only evaluation records have no answer by design; in a training format the same record is a reject.
        if (_settings.Format is Eval.EvalQuestionFormat && record.Turns.All(t => t.Output is null))
        {
            _findings.RemoveAll(f => f.Code == FindingCodes.MissingAssistant);
        }

        if (_findings.Count > 0)
        {
            Reject(new Reject(record.Source, record.Provenance.File, record.Id, _findings[0].Code, string.Join("; ", _findings.Select(f => f.Message))));
            return false;
        }

        _buffer.Write("\n"u8);
        _seq++;

        // The checked record, with (in an embedding Parquet build) its images' bytes beside their paths: parts carry them to the merge.
        var line = _embedInto is null
            ? _buffer.WrittenSpan
            : _embedInto.WithImageBytes(_buffer.WrittenSpan, [.. record.Images.Select(i => (i.Path, i.Bytes ?? throw new InvalidOperationException($"image {i.Path} was not loaded for embedding")))]);
        if (_part is not null)
        {
            _part.Line(_seq, line, record.Images.Count > 0, PartFlags);
        }
        else
        {
            _shards!.WriteLine(line, record.Images.Count > 0);
            if (Stats is { } stats)
            {
                var (shard, number) = _shards.LastLine;
                stats.Add(_buffer.WrittenSpan[..^1], shard, number);
            }
        }

        _recordsWithImages += record.Images.Count > 0 ? 1 : 0;
        Written?.Invoke(record);
        _progress.AddRecord();
        return true;
    }

    /// <summary>Gives the shards and rejects their staged final names and writes the format's side files.</summary>
    public SinkResult Complete()
    {
        if (_part is not null)
        {
            PartSha256 = _part.Complete();
            return new SinkResult([], _part.Records, _part.Rejects, _partByReason, null);
        }

        var shards = _shards!.Complete(_folder.Staging);
        _rejects!.Complete();
        _settings.Format.WriteSideFiles(new SideFileContext(_folder.Staging, _settings.Name, shards, _settings.Options, _recordsWithImages));
        return new SinkResult(shards, _shards.Records, _rejects.Count, _rejects.ByReason, _shards.SplitReason);
    }

    /// <summary>The sha256 of the part's events file, once a part sink is complete.</summary>
    public string? PartSha256 { get; private set; }

    public void Dispose()
    {
        _json.Dispose();
        _shards?.Dispose();
        _rejects?.Dispose();
        _part?.Dispose();
    }
}
