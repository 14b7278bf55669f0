namespace MllmData.Adapters;

/// <summary>OK-VQA: the VQAv2 layout (OpenEnded_mscoco_&lt;split&gt;_questions.json, mscoco_&lt;split&gt;_annotations.json) on COCO 2014 images.</summary>
public sealed class OkVqaAdapter : VqaV2Adapter
{
    public override string Name => "okvqa";

    public override string Description => "OK-VQA (OpenEnded_mscoco_<split>_questions.json + mscoco_<split>_annotations.json, VQAv2 layout; answers may carry raw_answer)";
}
