using MllmData.Model;

namespace MllmData.Pipeline;

/// <summary>Resolves a record's image paths under the image root: a path that escapes it, or a missing file, is a reject.</summary>
public sealed class ImageRootCheck(string root)
{
    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
    private string? _lastOk;

    public Reject? Check(InstructionRecord record)
    {
        foreach (var image in record.Images)
        {
            // Consecutive records usually share an image (several questions per picture): check it once.
            if (image.Path == _lastOk)
            {
                continue;
            }

            if (Path.IsPathRooted(image.Path))
            {
                return new Reject(record.Source, record.Provenance.File, record.Id, RejectReasons.ImageOutsideRoot, $"image path '{image.Path}' is absolute");
            }

            var full = Path.GetFullPath(Path.Combine(_root, image.Path));
            if (!full.StartsWith(_root, StringComparison.Ordinal))
            {
                return new Reject(record.Source, record.Provenance.File, record.Id, RejectReasons.ImageOutsideRoot, $"image path '{image.Path}' leaves the image root");
            }

            if (!File.Exists(full))
            {
                return new Reject(record.Source, record.Provenance.File, record.Id, RejectReasons.MissingImage, $"no file {image.Path} under {root}");
            }

            _lastOk = image.Path;
        }

        return null;
    }
}
