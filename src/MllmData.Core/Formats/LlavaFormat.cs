using System.Text.Json;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>
/// LLaVA conversation JSON: <c>{"id","image"?,"conversations":[{"from":"human"},{"from":"gpt"},...]}</c>.
/// One <c>&lt;image&gt;</c> line per image opens the first human turn; text-only records have neither;
/// several images make <c>image</c> a list. LLaVA's trainer reads a whole JSON list (<c>--container json</c>).
/// </summary>
public sealed class LlavaFormat : ConversationFormat
{
    public override string Name => "llava";

    public override string Description => "LLaVA conversations: {id, image?, conversations:[{from: human|gpt, value}]}";

    public override string Consumer => "LLaVA llava/train/train.py (LazySupervisedDataset)";

    public override FormatCapabilities Capabilities { get; } = new()
    {
        MetaByDefault = true,
        Containers = ["jsonl", "json", "parquet"],
        InContextExamples = true,
        ToolUse = true,
        ImagesAreFiles = true,
        OpensUrl = ImageUrls.NoUrl,
    };

    protected override ConversationShape Shape { get; } =
        new("llava", "image", "conversations", "from", "value", "human", "gpt", null, ImagesFirst: true);

    protected override string PlaceholderSeparator => "\n";

    /// <summary>LLaVA's trainer json.loads one file (--data_path) and joins images to --image_folder (train.py).</summary>
    public override string? LoadHint(string outDir, string name, IReadOnlyList<string> shards, string? imageRoot) =>
        shards.Count == 0 ? null
        : shards[0].EndsWith(".json", StringComparison.Ordinal)
            ? $"LLaVA: --data_path {Path.Combine(outDir, shards[0])}{(shards.Count > 1 ? $" (one run per shard, {shards.Count} shards)" : string.Empty)}  --image_folder {imageRoot ?? "IMAGE_FOLDER"}"
            : "LLaVA's trainer reads one JSON list: build with --container json";

    protected override bool HasId => true;

    protected override bool ImageAsString => true;

    protected override void WriteId(InstructionRecord record, Utf8JsonWriter w) => w.WriteString("id", record.Id);

    protected override void WriteImages(InstructionRecord record, Utf8JsonWriter w)
    {
        if (record.Images.Count == 1)
        {
            w.WriteString("image", record.Images[0].Path);
        }
        else if (record.Images.Count > 1)
        {
            RenderParts.WriteImagePaths(w, "image", record.Images);
        }
    }
}
