using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace MllmData.Templates;

/// <summary>Deterministic per-sample choices: the same seed, sample and purpose always pick the same index.</summary>
public static class SeededChoice
{
    /// <summary>An index in [0, count) derived from the run seed, the sample id, the turn and a purpose label.</summary>
    public static int Pick(long seed, string sampleId, int turn, string purpose, int count)
    {
        if (count <= 1)
        {
            return 0;
        }

        var key = string.Create(CultureInfo.InvariantCulture, $"{seed}\u001f{sampleId}\u001f{turn}\u001f{purpose}");
        var hash = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key));
        return (int)(hash % (ulong)count);
    }
}
