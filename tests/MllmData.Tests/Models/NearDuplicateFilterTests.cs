using MllmData.Generation;

namespace MllmData.Tests.Models;

public class TheNearDuplicateFilter
{
    [Fact]
    public void Should_Compute_Rouge_L_F_Measure()
    {
        // LCS of "the cat sat on the mat" and "the cat lay on a mat" is "the cat on mat": 2·4/(6+6).
        Assert.Equal(8.0 / 12, NearDuplicateFilter.RougeL(NearDuplicateFilter.Tokens("The cat sat on the mat."), NearDuplicateFilter.Tokens("the cat lay on a mat")), 6);
        Assert.Equal(1.0, NearDuplicateFilter.RougeL(["a", "b"], ["a", "b"]));
        Assert.Equal(0.0, NearDuplicateFilter.RougeL(["a"], ["b"]));
    }

    [Fact]
    public void Should_Decide_Exactly_As_Brute_Force_Does()
    {
        var rnd = new Random(7);
        string[] words = ["what", "is", "the", "dog", "cat", "on", "near", "red", "table", "man", "holding", "a", "kite", "why", "there", "two", "blue", "car"];
        var questions = Enumerable.Range(0, 1500).Select(_ => string.Join(' ', Enumerable.Range(0, rnd.Next(3, 10)).Select(_ => words[rnd.Next(words.Length)]))).ToList();
        var filter = new NearDuplicateFilter(0.7);
        var pool = new List<string[]>();
        var rejected = 0;
        foreach (var q in questions)
        {
            var tokens = NearDuplicateFilter.Tokens(q);
            var expected = pool.All(p => NearDuplicateFilter.RougeL(tokens, p) <= 0.7);
            Assert.Equal(expected, filter.TryAdd(q, out _));
            if (expected)
            {
                pool.Add(tokens);
            }
            else
            {
                rejected++;
            }
        }

        // The word list is small, so both branches are exercised.
        Assert.InRange(rejected, 100, 1400);
        Assert.True(filter.MaxKeptScore <= 0.7);
    }
}
