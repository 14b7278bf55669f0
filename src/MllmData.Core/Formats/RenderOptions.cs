namespace MllmData.Formats;

/// <summary>Settings every format reads when it writes or checks records.</summary>
public sealed record RenderOptions
{
    public string Bos { get; init; } = "<BOS>";

    public string Eos { get; init; } = "<EOS>";

    public string ImageToken { get; init; } = "<image>";

    /// <summary>
    /// Validators hold image values to what the format's consumer can open (no URL where it opens files only). Set by
    /// <c>validate</c>; input read back (the instructions adapter, in-context pools) may carry URLs for another format.
    /// </summary>
    public bool ImageFilesOnly { get; init; }

    /// <summary>Write a <c>meta</c> object with provenance beside the format's own keys.</summary>
    public bool IncludeMeta { get; init; } = true;

    /// <summary>A system message put first in every record of formats that have one (openai, sharegpt, swift).</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>openai: images as URLs under this prefix instead of embedded data URLs.</summary>
    public string? ImageUrlPrefix { get; init; }

    /// <summary>openai: the <c>detail</c> of image parts (auto, low or high); null leaves it out.</summary>
    public string? ImageDetail { get; init; }

    /// <summary>Shard container: <c>jsonl</c> (a record per line), <c>json</c> (one JSON list per shard) or <c>parquet</c> (a row per record).</summary>
    public string Container { get; init; } = "jsonl";

    /// <summary>parquet: the images' bytes go in the image column (Hugging Face Image structs) instead of paths (<c>--images embed</c> with a paths format).</summary>
    public bool EmbedImageColumn { get; init; }

    /// <summary>parquet: most rows per row group.</summary>
    public long RowGroupRecords { get; init; } = Output.ParquetSettings.DefaultRowGroupRecords;

    /// <summary>parquet: most string and image bytes per row group (a row larger than this is a group alone).</summary>
    public long RowGroupBytes { get; init; } = Output.ParquetSettings.DefaultRowGroupBytes;

    /// <summary>How shards of <paramref name="format"/> are written as Parquet with these settings, or null for a JSON container.</summary>
    public Output.ParquetSettings? Parquet(IOutputFormat format) =>
        Container != "parquet" ? null
        : new Output.ParquetSettings(
            new Output.ParquetLayout(format.Name, format.ParquetColumns ?? throw new UsageException($"--container parquet: {format.Name} is not written as Parquet"), EmbedImageColumn),
            RowGroupRecords,
            RowGroupBytes);

    /// <summary>template: the layout of the whole record; null for the plain frame (today's flat form).</summary>
    public Templates.Frame? Frame { get; init; }
}
