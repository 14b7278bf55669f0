using MllmData.Json;

namespace MllmData.Tests.Adapters;

/// <summary>The compact set of joined ids answers as an exact set of id texts would.</summary>
public sealed class JoinedIdsTests
{
    [Fact]
    public void AnswersAsAnExactSetOfIdTexts()
    {
        var rnd = new Random(7);
        var ids = new JoinedIds();
        var exact = new HashSet<string>(StringComparer.Ordinal);
        string Next() => rnd.Next(8) switch
        {
            0 => rnd.Next(200_000).ToString(System.Globalization.CultureInfo.InvariantCulture),           // dense: blocks turn into bitmaps
            1 => "0" + rnd.Next(1000).ToString(System.Globalization.CultureInfo.InvariantCulture),         // leading zero: a text, not a number
            2 => ((ulong)rnd.NextInt64() * 2).ToString(System.Globalization.CultureInfo.InvariantCulture), // up to 2^64
            3 => $"q-{rnd.Next(5000)}",
            4 => "18446744073709551616",                                                                    // 2^64: a text
            5 => "-" + rnd.Next(100).ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => ((long)rnd.Next(500_000) * 1000 + rnd.Next(10)).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        for (var i = 0; i < 300_000; i++)
        {
            var id = Next();
            Assert.Equal(exact.Contains(id), ids.Contains(id));
            if (rnd.Next(3) > 0)
            {
                exact.Add(id);
                ids.Add(id);
            }
        }

        Assert.Equal(exact.Count, ids.Count);
        Assert.True(ids.Contains("0") == exact.Contains("0") && !ids.Contains("00") == !exact.Contains("00"));
    }
}
