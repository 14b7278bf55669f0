namespace MllmData.Formats;

/// <summary>
/// ms-swift's standard form: <c>{"messages":[{"role":"system"?},{"role":"user","content":"&lt;image&gt;…"},{"role":"assistant",…}],"images":[…]}</c>,
/// one <c>&lt;image&gt;</c> per image at the start of the first user message (<c>"images": []</c> on text-only rows).
/// </summary>
public sealed class SwiftFormat : ConversationFormat
{
    public override string Name => "swift";

    public override string Description => "ms-swift messages: {messages:[{role: system|user|assistant, content}], images:[...] ([] when none)}";

    public override string Consumer => "ms-swift swift/llm/dataset/preprocessor/core.py (MessagesPreprocessor)";

    // ms-swift's Template (swift/llm/template/base.py, special_tokens) splits message text at <video>, <audio>, <bbox> and
    // <ref-object> (besides <image>) and fills each from the record's videos, audios and objects, which these records lack.
    public override FormatCapabilities Capabilities { get; } = new() { SystemMessage = true, Containers = ["jsonl", "parquet"], InContextExamples = true, ToolUse = true, ReservedTags = ["<video>", "<audio>", "<bbox>", "<ref-object>"], OpensUrl = ImageUrls.SwiftLoads };

    protected override ConversationShape Shape { get; } =
        new("swift", "images", "messages", "role", "content", "user", "assistant", "system");

    protected override string PlaceholderSeparator => string.Empty;

    /// <summary>ms-swift resolves relative image paths against its working directory (vision_utils.py load_file).</summary>
    public override string? LoadHint(string outDir, string name, IReadOnlyList<string> shards, string? imageRoot) =>
        $"ms-swift: run from {imageRoot ?? outDir} with --dataset {string.Join(' ', shards.Select(s => Path.Combine(outDir, s)))}";
}
