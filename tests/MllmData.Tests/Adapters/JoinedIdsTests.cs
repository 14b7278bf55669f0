using MllmData.Json;

namespace MllmData.Tests.Adapters;

/// <summary>The compact set of joined ids answers as an exact set of id texts would.</summary>
public sealed class JoinedIdsTests
{
    [Fact]
    public void Consecutive_Ids_Across_Block_Edges_And_Lookups_In_Blocks_Not_Made_Answer_Exactly()
    {
        // Runs of one block are looked up through the block asked for last; a block asked for and not there, or made
        // since, must not leave a stale answer behind.
        var ids = new JoinedIds();
        string Id(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (long n = 65_530; n < 65_545; n++)
        {
            Assert.False(ids.Contains(Id(n)));
            ids.Add(Id(n));
            Assert.True(ids.Contains(Id(n)));
            Assert.False(ids.Contains(Id(200_000 + n)));
            Assert.True(ids.Contains(Id(n)));
        }

        Assert.Equal(15, ids.Count);
        Assert.Equal(2, ids.Blocks);
        Assert.True(ids.Contains("65535") && ids.Contains("65536") && !ids.Contains("65529") && !ids.Contains("65545"));
        ids.Add("265535");
        Assert.Equal(3, ids.Blocks);
        Assert.True(ids.Contains("265535") && ids.Contains("65535") && !ids.Contains("265536") && ids.Contains("65540"));
        ids.Add("65535");
        Assert.Equal(16, ids.Count);
    }

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

    [Fact]
    public void Keeps_Thinly_Spread_Numbers_As_Hashes_And_Dense_Ones_In_Blocks()
    {
        var rnd = new Random(11);
        var sparse = new JoinedIds();
        var exact = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 50_000; i++)
        {
            var id = (100_000_000_000_000_000UL + ((ulong)rnd.NextInt64() % 800_000_000_000_000_000UL)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(exact.Contains(id), sparse.Contains(id));
            exact.Add(id);
            sparse.Add(id);
            sparse.Add(id); // a second add changes nothing
        }

        Assert.Equal(exact.Count, sparse.Count);
        Assert.Equal(JoinedIds.BlocksFirst, sparse.Blocks);
        Assert.All(exact.Take(2000), id => Assert.True(sparse.Contains(id)));
        Assert.False(sparse.Contains("100000000000000000"));

        // Dense ids (VQA's question ids: an image id times 1000 plus a few) stay in blocks of their own.
        var dense = new JoinedIds();
        for (var image = 0; image < 20_000; image++)
        {
            for (var k = 0; k < 5; k++)
            {
                dense.Add(((image * 1000L) + k).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        Assert.Equal(100_000, dense.Count);
        Assert.Equal((int)((19_999L * 1000 + 4) >> 16) + 1, dense.Blocks);
    }
}
