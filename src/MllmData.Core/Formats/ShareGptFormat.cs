using MllmData.Output;

namespace MllmData.Formats;

/// <summary>
/// LLaMA-Factory's ShareGPT form: <c>{"messages":[{"role":"system"?},{"role":"user","content":"&lt;image&gt;…"},{"role":"assistant",…}],"images":[…]}</c>,
/// one <c>&lt;image&gt;</c> per image at the start of the first user message (<c>"images": []</c> on text-only rows), and a <c>dataset_info.json</c>
/// entry that registers the <c>data/</c> folder.
/// </summary>
public sealed class ShareGptFormat : ConversationFormat
{
    /// <summary>The only image placeholder LLaMA-Factory counts (IMAGE_PLACEHOLDER in extras/constants.py).</summary>
    public const string LlamaFactoryImageToken = "<image>";

    public override string Name => "sharegpt";

    public override string Description => "LLaMA-Factory ShareGPT: {messages:[{role, content}], images:[...] ([] when none)} plus dataset_info.json";

    public override string Consumer => "LLaMA-Factory src/llamafactory/data (loader.py, converter.py, mm_plugin.py)";

    // LLaMA-Factory's multimodal plugin (src/llamafactory/data/mm_plugin.py, _validate_input) counts the <video> and <audio>
    // placeholders of the messages against the record's videos and audios and raises a ValueError when they differ.
    public override FormatCapabilities Capabilities { get; } = new() { SystemMessage = true, Containers = ["jsonl", "json", "parquet"], InContextExamples = true, ToolUse = true, ReservedTags = ["<video>", "<audio>"], ImagesAreFiles = true, OpensUrl = ImageUrls.NoUrl };

    protected override ConversationShape Shape { get; } =
        new("sharegpt", "images", "messages", "role", "content", "user", "assistant", "system");

    protected override string PlaceholderSeparator => string.Empty;

    public override void CheckOptions(RenderOptions options)
    {
        if (options.ImageToken != LlamaFactoryImageToken)
        {
            throw new UsageException($"--image-token {options.ImageToken}: LLaMA-Factory counts only {LlamaFactoryImageToken} as an image placeholder; build sharegpt with the default token");
        }
    }

    /// <summary>LLaMA-Factory resolves image paths against media_dir, which defaults to dataset_dir (data_args.py).</summary>
    public override string? LoadHint(string outDir, string name, IReadOnlyList<string> shards, string? imageRoot) =>
        $"LLaMA-Factory: dataset_dir: {outDir}  dataset: {name}  media_dir: {imageRoot ?? "the folder the image paths are relative to (this build was given no --image-root)"}";

    public override void WriteSideFiles(SideFileContext context) =>
        AtomicFile.Write(Path.Combine(context.OutDir, ShareGptDatasetInfo.FileName), stream => ShareGptDatasetInfo.Write(stream, context));
}
