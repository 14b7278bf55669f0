using System.Numerics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MllmData.Images;

/// <summary>A 64-bit difference hash (dHash): brightness gradients of a 9×8 greyscale thumbnail.</summary>
public static class PerceptualHash
{
    public static ulong Of(Image<Rgb24> image)
    {
        using var small = image.Clone(x => x.Resize(9, 8).Grayscale());
        ulong hash = 0;
        small.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < 8; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < 8; x++)
                {
                    hash = (hash << 1) | (row[x].R > row[x + 1].R ? 1UL : 0UL);
                }
            }
        });
        return hash;
    }

    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);
}
