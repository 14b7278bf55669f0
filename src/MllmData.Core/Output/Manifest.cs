using System.Text.Encodings.Web;
using System.Text.Json;

namespace MllmData.Output;

/// <summary>Describes a build: every shard with its checksum, the inputs with theirs, and what decided the output.</summary>
public sealed class Manifest
{
    public required string Name { get; init; }

    public required string Format { get; init; }

    public required string ToolVersion { get; init; }

    public long Seed { get; init; }

    public required string RecipeSha256 { get; init; }

    public long Records { get; init; }

    public required IReadOnlyList<ShardInfo> Shards { get; init; }

    public long Rejects { get; init; }

    public IReadOnlyDictionary<string, long> RejectsByReason { get; init; } = new Dictionary<string, long>();

    /// <summary>Input files by path as given, with sha256.</summary>
    public IReadOnlyDictionary<string, string> Inputs { get; init; } = new Dictionary<string, string>();

    /// <summary>Shard container (<c>jsonl</c>, <c>json</c> or <c>parquet</c>).</summary>
    public string Container { get; init; } = "jsonl";

    /// <summary>Parquet shards: how images are carried and the row-group bounds (a <c>parquet</c> section), else null.</summary>
    public ParquetSettings? Parquet { get; init; }

    /// <summary>The consumer's upload limits shards are split before, if the format has any.</summary>
    public ShardLimits? UploadLimits { get; init; }

    /// <summary>Why shards were split beyond the record bound (bytes, or the upload limits), if they were.</summary>
    public string? SplitReason { get; init; }

    /// <summary>How the sources were mixed, when the recipe has a mixture section.</summary>
    public MixtureReport? Mixture { get; init; }

    /// <summary>The dataset card written beside the shards (README.md), if the build wrote one.</summary>
    public CardInfo? Card { get; init; }

    /// <summary>The same manifest listing the card.</summary>
    public Manifest WithCard(CardInfo card) => new()
    {
        Name = Name, Format = Format, ToolVersion = ToolVersion, Seed = Seed, RecipeSha256 = RecipeSha256, Records = Records, Shards = Shards,
        Rejects = Rejects, RejectsByReason = RejectsByReason, Inputs = Inputs, Container = Container, Parquet = Parquet, UploadLimits = UploadLimits,
        SplitReason = SplitReason, Mixture = Mixture, WriteExtra = WriteExtra, Card = card,
    };

    /// <summary>Further sections (e.g. the rewrite summary), written after the standard ones.</summary>
    public Action<Utf8JsonWriter>? WriteExtra { get; init; }

    /// <summary>Written with sorted inputs and no timestamps, so identical builds give identical bytes.</summary>
    public void WriteTo(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("name", Name);
        w.WriteString("format", Format);
        w.WriteString("tool_version", ToolVersion);
        w.WriteNumber("seed", Seed);
        w.WriteString("recipe_sha256", RecipeSha256);
        w.WriteNumber("records", Records);
        w.WriteString("container", Container);
        if (Parquet is { } parquet)
        {
            w.WriteStartObject("parquet");
            if (parquet.Layout.ImageColumnHolds is { } holds)
            {
                w.WriteString("image_column", holds);
            }

            w.WriteNumber("row_group_records", parquet.RowGroupRecords);
            w.WriteNumber("row_group_bytes", parquet.RowGroupBytes);
            w.WriteString("compression", "snappy");
            w.WriteEndObject();
        }

        if (UploadLimits is { } limits)
        {
            w.WriteStartObject("upload_limits");
            w.WriteNumber("bytes", limits.MaxBytes);
            w.WriteNumber("image_records", limits.MaxImageRecords);
            w.WriteString("reason", limits.Reason);
            w.WriteEndObject();
        }

        if (SplitReason is not null)
        {
            w.WriteString("split_reason", SplitReason);
        }

        w.WriteStartArray("shards");
        foreach (var s in Shards)
        {
            w.WriteStartObject();
            w.WriteString("path", s.Path);
            w.WriteNumber("records", s.Records);
            w.WriteNumber("bytes", s.Bytes);
            w.WriteString("sha256", s.Sha256);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (Card is { } card)
        {
            w.WriteStartObject("card");
            w.WriteString("path", card.Path);
            w.WriteNumber("bytes", card.Bytes);
            w.WriteString("sha256", card.Sha256);
            w.WriteEndObject();
        }

        w.WriteNumber("rejects", Rejects);
        w.WriteStartObject("rejects_by_reason");
        foreach (var (reason, n) in RejectsByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WriteNumber(reason, n);
        }

        w.WriteEndObject();
        w.WriteString("rejects_file", "rejects.jsonl");
        w.WriteStartArray("inputs");
        foreach (var (path, sha) in Inputs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("path", path);
            w.WriteString("sha256", sha);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        Mixture?.WriteTo(w);
        WriteExtra?.Invoke(w);
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }
}

/// <summary>The dataset card as listed in the manifest: its path in the folder, size and sha256.</summary>
public sealed record CardInfo(string Path, long Bytes, string Sha256);

/// <summary>The manifest's <c>mixture</c> section: the rule, the total, and what each source had and gave.</summary>
public sealed record MixtureReport(string Sampling, long? RequestedTotal, long Total, IReadOnlyList<MixtureSourceReport> Sources)
{
    /// <summary>Digits a share is rounded to.</summary>
    public const int ShareDigits = 6;

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject("mixture");
        w.WriteString("sampling", Sampling);
        if (RequestedTotal is { } asked)
        {
            w.WriteNumber("requested_total", asked);
        }

        w.WriteNumber("total", Total);
        w.WriteStartArray("sources");
        foreach (var s in Sources)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteNumber("available", s.Available);
            w.WriteNumber("repeat", s.Repeat);
            if (s.MaxSamples is { } max)
            {
                w.WriteNumber("max_samples", max);
            }

            w.WriteNumber("weight", s.Weight);
            w.WriteNumber("target", s.Target);
            w.WriteNumber("taken", s.Taken);
            w.WriteNumber("share", Share(s.Taken, Total));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>taken / total, rounded to <see cref="ShareDigits"/> digits (0 for an empty mixture).</summary>
    public static double Share(long taken, long total) => total == 0 ? 0 : Math.Round((double)taken / total, ShareDigits, MidpointRounding.ToEven);
}

/// <summary>One source of a mixture: records available (after its steps), its keys, its target and the records written.</summary>
public sealed record MixtureSourceReport(string Name, long Available, int Repeat, long? MaxSamples, double Weight, long Target, long Taken);
