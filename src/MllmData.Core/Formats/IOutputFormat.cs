using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Records;
using MllmData.Output;

namespace MllmData.Formats;

/// <summary>
/// One output format, whole: how a canonical record is written, how a written line is checked, how a line
/// is read back, what a rewrite may edit in it, what it can hold, and which side files go with it.
/// Each format is one file in this folder, registered once in <see cref="FormatRegistry"/>.
/// </summary>
public interface IOutputFormat
{
    /// <summary>The name used with <c>--format</c>.</summary>
    string Name { get; }

    /// <summary>One line for help texts and <c>mllmdata formats</c>.</summary>
    string Description { get; }

    /// <summary>The trainer or API that reads this format, for help texts.</summary>
    string Consumer { get; }

    FormatCapabilities Capabilities { get; }

    /// <summary>Refuses settings this format cannot honour (exit 1 before any file is touched).</summary>
    void CheckOptions(RenderOptions options)
    {
    }

    /// <summary>Why this record cannot be written in this format (a reject reason and detail), or null when it can.</summary>
    (string Reason, string Detail)? Refuse(InstructionRecord record, RenderOptions options) => FormatRules.Refuse(this, record, options);

    /// <summary>Writes the record as one JSON value.</summary>
    void Render(InstructionRecord record, Utf8JsonWriter w, RenderOptions options);

    /// <summary>The checks the format's consumer applies, on one rendered record.</summary>
    IFormatValidator CreateValidator(RenderOptions options);

    /// <summary>Whether a line looks like this format (for reading files of unknown format).</summary>
    bool Recognizes(JsonElement line) => false;

    /// <summary>Reads a line (already valid for this format) back into the canonical record.</summary>
    InstructionRecord Read(JsonElement line, LineOrigin origin, RenderOptions options) =>
        throw new NotSupportedException($"{Name} lines cannot be read back");

    /// <summary>The question/answer exchanges of a line, editable in place; empty when the format cannot be edited.</summary>
    IReadOnlyList<Exchange> Exchanges(JsonObject line, ExchangeOptions options) => [];

    /// <summary>The line's images (paths, URLs or data URLs), in placeholder order.</summary>
    IReadOnlyList<string> Images(JsonObject line) => [];

    /// <summary>How to point the consumer at a finished build (printed after it), or null.</summary>
    string? LoadHint(string outDir, string name, IReadOnlyList<string> shards, string? imageRoot) => null;

    /// <summary>
    /// The record's shape as Parquet columns, in the order of its JSON keys (<c>--container parquet</c>); null when
    /// the format is not written as Parquet. The one place the format's Parquet rows are described.
    /// </summary>
    IReadOnlyList<PqColumn>? ParquetColumns => null;

    /// <summary>Files written beside the shards when a build completes (e.g. LLaMA-Factory's <c>dataset_info.json</c>).</summary>
    void WriteSideFiles(SideFileContext context)
    {
    }
}

/// <summary>What a format can hold and how it is carried.</summary>
public sealed record FormatCapabilities
{
    /// <summary>Several images in one record.</summary>
    public bool MultiImage { get; init; } = true;

    /// <summary>Most images one record may carry; null for no limit.</summary>
    public int? MaxImages { get; init; }

    /// <summary>Several exchanges in one record.</summary>
    public bool MultiTurn { get; init; } = true;

    /// <summary>A system message.</summary>
    public bool SystemMessage { get; init; }

    /// <summary>Records without an image.</summary>
    public bool TextOnly { get; init; } = true;

    /// <summary>Whether the <c>meta</c> object is written unless asked otherwise: yes where the consumer ignores unknown keys per record.</summary>
    public bool MetaByDefault { get; init; }

    /// <summary>How images travel in this format.</summary>
    public ImageCarriage Images { get; init; } = ImageCarriage.Paths;

    /// <summary>The instruction and the per-sample input go in separate fields, so templates must not carry the question.</summary>
    public bool SeparateInput { get; init; }

    /// <summary>Lines can be read back into canonical records (instructions adapter, round trips).</summary>
    public bool Readable { get; init; } = true;

    /// <summary>Shard containers this format can be written in (<c>jsonl</c>, <c>json</c>, <c>parquet</c>); the first is the default.</summary>
    public IReadOnlyList<string> Containers { get; init; } = ["jsonl"];

    /// <summary>Embedded images must be RGB or RGBA (greyscale, palette and CMYK ones are converted).</summary>
    public bool RgbImagesOnly { get; init; }

    /// <summary>Solved in-context examples before the query (M-ICL), each with its own image(s).</summary>
    public bool InContextExamples { get; init; }

    /// <summary>Tool-use records: tool calls, observations and the tool list (as text or as the format's own tool messages).</summary>
    public bool ToolUse { get; init; }

    /// <summary>Limits of the consumer's upload that shards are split before, with the reason written to the manifest.</summary>
    public ShardLimits? UploadLimits { get; init; }

    /// <summary>
    /// Tags besides the image placeholder that the consumer reads in message text as media or objects to fill in: dataset
    /// text holding one (a literal "&lt;video&gt;" in a question) fails the consumer's count of them, so it is rejected.
    /// </summary>
    public IReadOnlyList<string> ReservedTags { get; init; } = [];

    /// <summary>
    /// The consumer opens every image as a file under its image folder, and nothing else: an image given as a URL or a
    /// <c>data:</c> URI cannot be loaded (LLaVA joins it to its image folder, LLaMA-Factory to <c>media_dir</c>), so such a
    /// record is rejected. Formats that fetch URLs (ms-swift) or carry them (OpenAI) leave this off.
    /// </summary>
    public bool ImagesAreFiles { get; init; }

    /// <summary>
    /// Which image URIs (<see cref="ImageUrls.IsUrl"/>) the consumer can load: a record with another one is rejected
    /// (<c>bad-image-path</c>) before it is written. Null: the format does not say, and URLs with <c>//</c> and <c>data:</c>
    /// URIs are taken (<see cref="ImageUrls.IsLocator"/>), other URIs refused.
    /// </summary>
    public Func<string, bool>? OpensUrl { get; init; }
}

/// <summary>How a format carries images.</summary>
public enum ImageCarriage
{
    /// <summary>Paths relative to an image folder.</summary>
    Paths,

    /// <summary>The bytes, base64, always.</summary>
    Embedded,

    /// <summary>Embedded bytes, or URLs under <c>--image-url-prefix</c>.</summary>
    EmbeddedOrUrl,
}

/// <summary>Where a line being read back came from.</summary>
public sealed record LineOrigin(string File, long Line);

/// <summary>Settings of the exchange view used by rewrite.</summary>
public sealed record ExchangeOptions
{
    public string ImageToken { get; init; } = "<image>";

    /// <summary>Lines taken out of questions (response-format suffixes) before they are shown to a model.</summary>
    public IReadOnlySet<string>? DropLines { get; init; }
}

/// <summary>One question/answer exchange of a rendered record, with a way to replace the answer in place.</summary>
public sealed record Exchange(string Question, string Answer, Action<string> SetAnswer)
{
    /// <summary>
    /// Edits the question's text where the line holds it, line by line: each line is given to the edit, which returns it
    /// (kept), another text (replaced) or null (taken out). A question no edit changes keeps its bytes.
    /// </summary>
    public Action<Func<string, string?>>? EditQuestionLines { get; init; }

    /// <summary>Takes whole lines (compared trimmed) out of the question as the line holds it; placeholders and other lines stay.</summary>
    public void DropQuestionLines(IReadOnlySet<string> drop) => EditQuestionLines?.Invoke(l => drop.Contains(l.Trim()) ? null : l);
}

/// <summary>What a format's side files are written from.</summary>
public sealed record SideFileContext(string OutDir, string Name, IReadOnlyList<ShardInfo> Shards, RenderOptions Options, long RecordsWithImages);
