using MllmData.Json;

namespace MllmData.Tests.Stats;

public sealed class LargeGarbageTests
{
    [Fact]
    public void Collects_Once_A_Window_Is_Full_And_Counts_Only_Lines_Long_Enough_For_Large_Object_Memory()
    {
        var garbage = new LargeGarbage(100);
        garbage.Add(60);
        Assert.Equal(0, garbage.Collections);
        garbage.Add(39);
        Assert.Equal(0, garbage.Collections);
        garbage.Add(1);
        Assert.Equal(1, garbage.Collections);

        // The window starts again after a collection.
        garbage.Add(99);
        Assert.Equal(1, garbage.Collections);

        var lines = new LargeGarbage(170_000);
        lines.AddLine(LargeGarbage.LargeLine - 1);
        lines.AddLine(LargeGarbage.LargeLine);
        Assert.Equal(0, lines.Collections);
        lines.AddLine(LargeGarbage.LargeLine);
        Assert.Equal(1, lines.Collections);
    }
}
