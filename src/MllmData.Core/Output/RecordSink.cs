using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Model;
using MllmData.Pipeline;
using MllmData.Rendering;
using MllmData.Validation;
using Serilog;

namespace MllmData.Output;

/// <summary>What a finished sink wrote.</summary>
public sealed record SinkResult(IReadOnlyList<ShardInfo> Shards, long Records, long Rejects, IReadOnlyDictionary<string, long> RejectsByReason);

/// <summary>
/// Where records end: rendered in the output format, checked by that format's validator, written to shards;
/// rejects go to <c>rejects.jsonl</c>, and under <c>--strict</c> the first one stops the run.
/// </summary>
public sealed class RecordSink : IDisposable
{
    private readonly string _outDir;
    private readonly string _name;
    private readonly string _format;
    private readonly bool _strict;
    private readonly ILogger _log;
    private readonly ProgressCounter _progress;
    private readonly IRecordRenderer _renderer;
    private readonly IFormatValidator _validator;
    private readonly ShardWriter _shards;
    private readonly RejectWriter _rejects;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _json;
    private readonly List<Finding> _findings = [];

    public RecordSink(string outDir, string name, string format, RenderOptions options, long shardRecords, long shardBytes, bool strict, ILogger log, ProgressCounter progress)
    {
        _outDir = outDir;
        _name = name;
        _format = format;
        _strict = strict;
        _log = log;
        _progress = progress;
        _renderer = RendererRegistry.Create(format, options);
        _validator = ValidatorRegistry.Create(format, options);
        _shards = new ShardWriter(outDir, name, shardRecords, shardBytes);
        _rejects = new RejectWriter(outDir);
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public long Records => _shards.Records;

    /// <summary>Sees every reject, the sink's own format-check rejects included (the build counts them per source).</summary>
    public Action<Reject>? Observer { get; init; }

    public void Reject(Reject reject)
    {
        Observer?.Invoke(reject);
        _rejects.Write(reject);
        _progress.AddReject();
        _log.Debug("reject {Reason} {File} {Position}: {Detail}", reject.Reason, reject.File, reject.Position, reject.Detail);
        if (_strict)
        {
            throw new StrictRejectException(reject);
        }
    }

    /// <summary>Renders, validates and writes the record; false when it became a reject instead.</summary>
    public bool Write(InstructionRecord record)
    {
        _buffer.ResetWrittenCount();
        _json.Reset();
        _renderer.Render(record, _json);
        _json.Flush();

        // Every record passes its format's validator before it is written.
        _findings.Clear();
        if (_validator is ConversationValidator direct)
        {
            // The conversation formats are checked on the bytes, without building a document.
            direct.Validate(_buffer.WrittenSpan, _findings);
        }
        else
        {
            using var doc = JsonDocument.Parse(_buffer.WrittenMemory);
            _validator.Validate(doc.RootElement, _findings);
        }

        // Question-only evaluation records have no answer by design.
        if (record.Turns.All(t => t.Output is null))
        {
            _findings.RemoveAll(f => f.Code == FindingCodes.MissingAssistant);
        }

        if (_findings.Count > 0)
        {
            Reject(new Reject(record.Source, record.Provenance.File, record.Id, _findings[0].Code, string.Join("; ", _findings.Select(f => f.Message))));
            return false;
        }

        _buffer.Write("\n"u8);
        _shards.WriteLine(_buffer.WrittenSpan);
        _progress.AddRecord();
        return true;
    }

    /// <summary>Gives the shards and rejects their final names; ShareGPT output gets its dataset_info.json entry.</summary>
    public SinkResult Complete()
    {
        var shards = _shards.Complete();
        _rejects.Complete();
        if (_format == "sharegpt")
        {
            AtomicFile.Write(Path.Combine(_outDir, "dataset_info.json"), stream => DatasetInfo.Write(stream, _name, shards));
        }

        return new SinkResult(shards, _shards.Records, _rejects.Count, _rejects.ByReason);
    }

    public void Dispose()
    {
        _json.Dispose();
        _shards.Dispose();
        _rejects.Dispose();
    }
}
