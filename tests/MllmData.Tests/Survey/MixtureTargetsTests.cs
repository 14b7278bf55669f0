using MllmData.Pipeline;

namespace MllmData.Tests.Survey;

/// <summary>Each source's target in a mixture: the sampling rules, caps, weights, repeats and exact totals.</summary>
public class TheMixtureTargets
{
    private static long[] Targets(string sampling, long? total, params MixtureInput[] sources) => MixtureTargets.Compute(sampling, total, sources);

    [Fact]
    public void Proportional_Targets_Follow_The_Source_Sizes()
    {
        Assert.Equal([60L, 30, 10], Targets("proportional", 100, new("a", 600), new("b", 300), new("c", 100)));
    }

    [Fact]
    public void Proportional_Rounding_Gives_The_Largest_Remainder_Its_Record_So_The_Sum_Is_Exact()
    {
        // 7 × (5, 3, 2) / 10 = 3.5, 2.1, 1.4: floors 3, 2, 1 make 6; the one left goes to the largest remainder (.5).
        Assert.Equal([4L, 2, 1], Targets("proportional", 7, new("a", 5), new("b", 3), new("c", 2)));

        // Equal remainders: the earlier source gets the record (10 / 3 = 3.33 each).
        Assert.Equal([4L, 3, 3], Targets("uniform", 10, new("a", 50), new("b", 50), new("c", 50)));
    }

    [Fact]
    public void Sqrt_Samples_In_Proportion_To_The_Square_Root_Of_Source_Size_As_InstructBlip_Does()
    {
        // √400 : √100 : √25 = 20 : 10 : 5, so 21 records split 12, 6, 3; in proportion to size (16 : 4 : 1) they split 16, 4, 1.
        Assert.Equal([12L, 6, 3], Targets("sqrt", 21, new("a", 400), new("b", 100), new("c", 25)));
        Assert.Equal([16L, 4, 1], Targets("proportional", 21, new("a", 400), new("b", 100), new("c", 25)));
    }

    [Fact]
    public void Uniform_Splits_Evenly_And_A_Small_Source_Gives_All_It_Has_The_Rest_Shared_Again()
    {
        Assert.Equal([10L, 10, 10], Targets("uniform", 30, new("a", 1000), new("b", 50), new("c", 10)));
        Assert.Equal([25L, 25, 10], Targets("uniform", 60, new("a", 1000), new("b", 50), new("c", 10)));
    }

    [Fact]
    public void Weight_Multiplies_The_Share()
    {
        Assert.Equal([30L, 10], Targets("proportional", 40, new("a", 100, Weight: 3), new("b", 100)));
        Assert.Equal([20L, 10], Targets("sqrt", 30, new("a", 100, Weight: 2), new("b", 100)));
    }

    [Fact]
    public void Max_Samples_Caps_A_Source_And_Is_Its_Size_For_The_Sampling_Rule()
    {
        Assert.Equal([50L, 100], Targets("proportional", null, new("a", 1000, MaxSamples: 50), new("b", 100)));

        // Caps 50 and 100: proportional shares of 120 are 40 and 80.
        Assert.Equal([40L, 80], Targets("proportional", 120, new("a", 1000, MaxSamples: 50), new("b", 100)));
    }

    [Fact]
    public void Repeat_Multiplies_The_Pool_Before_Sampling()
    {
        Assert.Equal([30L, 5], Targets("proportional", null, new("a", 10, Repeat: 3), new("b", 5)));
        Assert.Equal([24L, 4], Targets("proportional", 28, new("a", 10, Repeat: 3), new("b", 5)));
    }

    [Fact]
    public void Without_A_Total_Every_Record_Is_Taken_Once_Whatever_The_Rule()
    {
        foreach (var rule in new[] { "proportional", "sqrt", "uniform" })
        {
            Assert.Equal([7L, 300, 0], Targets(rule, null, new("a", 7), new("b", 300, Weight: 5), new("c", 0)));
        }
    }

    [Fact]
    public void A_Total_Larger_Than_The_Sources_Is_Cut_To_What_They_Hold()
    {
        Assert.Equal([3L, 4], Targets("sqrt", 1000, new("a", 3), new("b", 4)));
    }
}
