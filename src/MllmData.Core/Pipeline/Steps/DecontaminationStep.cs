using MllmData.Eval;
using MllmData.Records;

namespace MllmData.Pipeline.Steps;

/// <summary>
/// Drops records that share an image or a question with an evaluation set (<c>--exclude</c>), as rejects with reason
/// <c>contaminated</c>. Runs before the image stage (ids, file names, questions) and again after it, when content hashes are known.
/// </summary>
public sealed class DecontaminationStep(EvalSet set) : IRecordStep
{
    public long ExcludedByImage { get; private set; }

    public long ExcludedByQuestion { get; private set; }

    public SourceItem Apply(InstructionRecord record) => Decide(record, count: true);

    /// <summary>The same decision, not counted in the manifest section.</summary>
    public SourceItem Peek(InstructionRecord record) => Decide(record, count: false);

    private SourceItem Decide(InstructionRecord record, bool count)
    {
        if (set.ImageMatch(record) is { } image)
        {
            ExcludedByImage += count ? 1 : 0;
            return Rejected(record, image);
        }

        if (set.QuestionMatch(record) is { } question)
        {
            ExcludedByQuestion += count ? 1 : 0;
            return Rejected(record, question);
        }

        return SourceItem.Of(record);
    }

    private static SourceItem Rejected(InstructionRecord record, string what) =>
        SourceItem.Rejected(record, RejectReasons.Contaminated, $"{what} is in the evaluation set");

    /// <summary>The manifest's <c>decontamination</c> section.</summary>
    public void WriteManifestSection(System.Text.Json.Utf8JsonWriter w, Func<string, string> show)
    {
        w.WriteStartObject("decontamination");
        w.WriteStartArray("sets");
        foreach (var (file, questions) in set.Files)
        {
            w.WriteStartObject();
            w.WriteString("path", show(file));
            w.WriteNumber("questions", questions);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNumber("excluded_by_image", ExcludedByImage);
        w.WriteNumber("excluded_by_question", ExcludedByQuestion);
        w.WriteEndObject();
    }
}
