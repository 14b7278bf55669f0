namespace MllmData.Formats;

/// <summary>Settings every format reads when it writes or checks records.</summary>
public sealed record RenderOptions
{
    public string Bos { get; init; } = "<BOS>";

    public string Eos { get; init; } = "<EOS>";

    public string ImageToken { get; init; } = "<image>";

    /// <summary>Write a <c>meta</c> object with provenance beside the format's own keys.</summary>
    public bool IncludeMeta { get; init; } = true;

    /// <summary>A system message put first in every record of formats that have one (openai, sharegpt, swift).</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>openai: images as URLs under this prefix instead of embedded data URLs.</summary>
    public string? ImageUrlPrefix { get; init; }

    /// <summary>openai: the <c>detail</c> of image parts (auto, low or high); null leaves it out.</summary>
    public string? ImageDetail { get; init; }

    /// <summary>Shard container: <c>jsonl</c> (a record per line) or <c>json</c> (one JSON list per shard).</summary>
    public string Container { get; init; } = "jsonl";

    /// <summary>template: the layout of the whole record; null for the plain frame (today's flat form).</summary>
    public Templates.Frame? Frame { get; init; }
}
