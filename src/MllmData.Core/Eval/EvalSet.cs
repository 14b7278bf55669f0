using System.Text;
using System.Text.Json;
using MllmData.Json;
using MllmData.Records;

namespace MllmData.Eval;

/// <summary>
/// The images and questions of one or more evaluation sets, read from their <c>answers.jsonl</c> (or a LLaVA question
/// file), so training records that share an image or a question with them can be dropped. Held in memory: its size is
/// that of the evaluation sets, not of the training input.
/// </summary>
public sealed class EvalSet
{
    private readonly HashSet<string> _imageIds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _imageNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _imageHashes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _questions = new(StringComparer.Ordinal);

    /// <summary>The files read, with the number of questions each held.</summary>
    public IReadOnlyList<(string File, long Questions)> Files => _files;

    private readonly List<(string File, long Questions)> _files = [];

    /// <summary>
    /// Reads each path: an evaluation build's folder or its <c>manifest.json</c> (then the <c>answers.jsonl</c> beside
    /// it), an <c>answers.jsonl</c>, or a LLaVA question file (<c>question_id</c>, <c>image</c>, <c>text</c>).
    /// </summary>
    public static EvalSet Load(IEnumerable<string> paths)
    {
        var set = new EvalSet();
        foreach (var path in paths)
        {
            var file = Directory.Exists(path) ? Path.Combine(path, AnswerFileWriter.FileName)
                : Path.GetFileName(path) == "manifest.json" ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, AnswerFileWriter.FileName)
                : path;
            if (!File.Exists(file))
            {
                throw new UsageException(file == path
                    ? $"--exclude {path}: no such file or folder"
                    : $"--exclude {path}: no {AnswerFileWriter.FileName} there; give an evaluation build's folder (built with --split-role eval or --unanswered eval) or an answers file");
            }

            set.Read(file);
        }

        return set;
    }

    private void Read(string file)
    {
        long n = 0;
        foreach (var (e, lineNo) in JsonLines.Read(file))
        {
            if (!e.TryGetProperty("question_id", out _))
            {
                throw new InputDataException(file, $"line {lineNo}", "unknown-layout", "not an answers or question line: no \"question_id\"");
            }

            n++;
            var question = Str(e, "question", file, lineNo) ?? FirstLine(Str(e, "text", file, lineNo));
            if (question is not null && NormalizeQuestion(question) is { Length: > 0 } q)
            {
                _questions.Add(q);
            }

            if (Str(e, "image", file, lineNo) is { Length: > 0 } image)
            {
                _imageNames.Add(Path.GetFileName(image));
            }

            if (Str(e, "image_id", file, lineNo) is { Length: > 0 } imageId)
            {
                _imageIds.Add(IdSpace(Str(e, "adapter", file, lineNo)) + ":" + imageId);
            }

            if (Str(e, "image_sha256", file, lineNo) is { Length: > 0 } sha)
            {
                _imageHashes.Add(sha);
            }
        }

        _files.Add((file, n));
    }

    // A field that decides what is excluded and holds something else (a list of images, an object) would let a
    // contaminated record through unnoticed: it stops the build instead, naming the line.
    private static string? Str(JsonElement e, string key, string file, long line) =>
        e.TryGetProperty(key, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.Null => null,
            _ => throw new InputDataException(file, $"line {line}", Records.RejectReasons.WrongType, $"\"{key}\" is {AnswerKey.Kind(v)}, expected a string"),
        } : null;

    // A question line's text is the question, then options and the answer-format line.
    private static string? FirstLine(string? text) => text?.Split('\n')[0];

    /// <summary>
    /// Image ids are compared within an id space: the COCO-based benchmarks share COCO's image ids; any other
    /// adapter's ids are its own, so a GQA id never matches a COCO id that happens to be the same number.
    /// </summary>
    public static string IdSpace(string? adapter) => adapter switch
    {
        "vqav2" or "okvqa" or "aokvqa" or "coco-captions" => "coco",
        null => "?",
        _ => adapter,
    };

    /// <summary>Questions compared case-blind, with punctuation and runs of spaces ignored.</summary>
    public static string NormalizeQuestion(string question)
    {
        var sb = new StringBuilder(question.Length);
        var space = false;
        foreach (var c in question.Trim())
        {
            if (char.IsLetterOrDigit(c))
            {
                if (space && sb.Length > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(char.ToLowerInvariant(c));
                space = false;
            }
            else if (char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c))
            {
                space = true;
            }
        }

        return sb.ToString();
    }

    /// <summary>Whether the record's image is in the set: by image id (within its id space), file name, or content hash when known.</summary>
    public string? ImageMatch(InstructionRecord record)
    {
        if (record.Provenance.Ids.FirstOrDefault(kv => kv.Key == "image_id").Value is { } id && _imageIds.Contains(IdSpace(record.Provenance.Adapter) + ":" + id))
        {
            return $"image_id {id}";
        }

        foreach (var image in record.Images)
        {
            if (_imageNames.Contains(Path.GetFileName(image.Path)))
            {
                return $"image {Path.GetFileName(image.Path)}";
            }

            if (image.Sha256 is { } sha && _imageHashes.Contains(sha))
            {
                return $"image sha256 {sha}";
            }
        }

        return null;
    }

    /// <summary>Whether one of the record's questions is in the set (normalised).</summary>
    public string? QuestionMatch(InstructionRecord record)
    {
        foreach (var turn in record.Turns)
        {
            if (turn.Slots.TryGetValue("question", out var q) && _questions.Contains(NormalizeQuestion(q)))
            {
                return $"question \"{q.Trim()}\"";
            }
        }

        return null;
    }
}
