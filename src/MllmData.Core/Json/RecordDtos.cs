namespace MllmData.Json;

/// <summary>A VQA question as read by <see cref="RecordParsers"/>.</summary>
public sealed class VqaQuestionDto
{
    public string? QuestionId { get; set; }

    public string? ImageId { get; set; }

    public string? Question { get; set; }
}

/// <summary>One of a VQA annotation's answers (a value: ten per annotation, no object each).</summary>
public readonly record struct VqaAnswer(string? Answer, string? RawAnswer);

/// <summary>The fields of an answer object while it is read (one per annotation, reused for its answers).</summary>
internal sealed class VqaAnswerDto
{
    public string? Answer { get; set; }

    public string? RawAnswer { get; set; }
}

/// <summary>A VQA annotation.</summary>
public sealed class VqaAnnotationDto
{
    public string? QuestionId { get; set; }

    public string? ImageId { get; set; }

    public string? QuestionType { get; set; }

    public string? AnswerType { get; set; }

    public string? MultipleChoiceAnswer { get; set; }

    public List<VqaAnswer>? Answers { get; set; }
}

/// <summary>An entry of a COCO file's images array.</summary>
public sealed class CocoImageDto
{
    public string? Id { get; set; }

    public string? FileName { get; set; }

    public int? Width { get; set; }

    public int? Height { get; set; }

    /// <summary>NoCaps: in-domain, near-domain or out-domain.</summary>
    public string? Domain { get; set; }

    /// <summary>NoCaps: the Open Images id of the image.</summary>
    public string? OpenImagesId { get; set; }
}

/// <summary>A COCO caption annotation.</summary>
public sealed class CocoCaptionDto
{
    public string? Id { get; set; }

    public string? ImageId { get; set; }

    public string? Caption { get; set; }
}

/// <summary>An object annotation of a COCO instances file (<c>instances_&lt;split&gt;.json</c>).</summary>
public sealed class CocoInstanceDto
{
    public string? Id { get; set; }

    public string? ImageId { get; set; }

    public string? CategoryId { get; set; }

    /// <summary>The <c>bbox</c> as [x, y, w, h] in pixels; null when absent or not four numbers (see <see cref="BboxProblem"/>).</summary>
    public double[]? Bbox { get; set; }

    /// <summary>Why <c>bbox</c> could not be read; the annotation still says its object is in the image.</summary>
    public string? BboxProblem { get; set; }

    /// <summary><c>iscrowd</c>: 1 (or true) for a crowd region.</summary>
    public bool IsCrowd { get; set; }
}

/// <summary>An entry of a COCO instances file's <c>categories</c> array.</summary>
public sealed class CocoCategoryDto
{
    public string? Id { get; set; }

    public string? Name { get; set; }
}
