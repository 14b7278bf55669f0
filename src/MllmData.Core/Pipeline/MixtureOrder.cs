using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace MllmData.Pipeline;

/// <summary>
/// The seeded choices of a mixture, each needing only counts, so no source is held in memory:
/// <list type="bullet">
/// <item>which records a source gives: selection sampling over its pool (record k of the pool is taken when
/// <c>U(seed, source, "take", k) × (pool − k) &lt; target − taken so far</c>), exactly <c>target</c> of them, in pool order;</item>
/// <item>the order of the mixture: the j-th record given by a source with target t gets the key
/// <c>(j + U(seed, source, "order", j)) / t</c>, and records go out by ascending key (ties to the earlier source):
/// each source is spread evenly over the whole output, jittered by the seed.</item>
/// </list>
/// <c>U</c> is a number in [0, 1): the top 53 bits of XxHash3 over <c>seed␟source␟purpose␟index</c> (UTF-8, ␟ = 0x1F), divided by 2⁵³.
/// </summary>
public static class MixtureOrder
{
    /// <summary>A seeded number in [0, 1) for one source, purpose and index.</summary>
    public static double Unit(long seed, string source, string purpose, long index)
    {
        var key = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{seed}\u001f{source}\u001f{purpose}\u001f{index}"));
        return (XxHash3.HashToUInt64(key) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>The order key of the j-th record a source gives to the mixture.</summary>
    public static double Key(long seed, string source, long j, long target) => (j + Unit(seed, source, "order", j)) / target;

    /// <summary>Whether record k of a pool of <paramref name="pool"/> is taken, with <paramref name="needed"/> still to take.</summary>
    public static bool Takes(long seed, string source, long k, long pool, long needed) =>
        needed > 0 && k < pool && Unit(seed, source, "take", k) * (pool - k) < needed;
}
