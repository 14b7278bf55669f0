using MllmData.Records;

namespace MllmData.Images;

/// <summary>Resolves a record's image paths under the image root: a path that escapes it, or a missing file, is a reject.</summary>
public sealed class ImageRootCheck(string root)
{
    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
    private string? _lastOk;

    public string Root => root;

    public Reject? Check(InstructionRecord record)
    {
        foreach (var image in record.Images)
        {
            // Consecutive records usually share an image (several questions per picture): check it once.
            if (image.Path == _lastOk)
            {
                continue;
            }

            if (Resolve(record, image, out _) is { } reject)
            {
                return reject;
            }

            _lastOk = image.Path;
        }

        return null;
    }

    /// <summary>The image's full path under the root, or the reject that says why there is none.</summary>
    public Reject? Resolve(InstructionRecord record, ImageRef image, out string full) =>
        Resolve(image.Path, out full) is { } failure
            ? new Reject(record.Source, record.Provenance.File, record.Id, failure.Reason, failure.Detail)
            : null;

    /// <summary>The full path of a dataset path under the root, or the reason and detail of the failure.</summary>
    public (string Reason, string Detail)? Resolve(string path, out string full)
    {
        full = string.Empty;
        if (Path.IsPathRooted(path))
        {
            return (RejectReasons.ImageOutsideRoot, $"image path '{path}' is absolute");
        }

        full = Path.GetFullPath(Path.Combine(_root, path));
        if (!full.StartsWith(_root, StringComparison.Ordinal))
        {
            return (RejectReasons.ImageOutsideRoot, $"image path '{path}' leaves the image root");
        }

        return File.Exists(full) ? null : (RejectReasons.MissingImage, $"no file {path} under {root}");
    }
}
