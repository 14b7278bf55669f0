using MllmData.Json;

namespace MllmData.Tests.Stats;

/// <summary>The young-generation collection every window of allocation, on a counter the test moves.</summary>
public class TheYoungGarbageWindow
{
    [Fact]
    public void It_Collects_Once_A_Full_Window_Has_Been_Allocated_Since_The_Last_Collection()
    {
        long allocated = 1_000;
        var young = new YoungGarbage(100, () => allocated);
        var before = GC.CollectionCount(0);

        young.Check(); // the first check sets the mark
        Assert.Equal(0, young.Collections);

        allocated += 99;
        young.Check();
        Assert.Equal(0, young.Collections);

        allocated += 1; // exactly one window
        young.Check();
        Assert.Equal(1, young.Collections);
        Assert.True(GC.CollectionCount(0) > before);

        // The window counts from the collection, not from the first mark.
        allocated += 99;
        young.Check();
        Assert.Equal(1, young.Collections);
        allocated += 250;
        young.Check();
        young.Check();
        Assert.Equal(2, young.Collections);
    }

    [Fact]
    public void The_Process_Count_Is_The_Default_And_A_Build_Uses_Eight_Megabytes()
    {
        Assert.Equal(8L << 20, YoungGarbage.DefaultWindow);
        var young = new YoungGarbage(1);
        young.Check();
        GC.KeepAlive(new byte[1 << 20]); // large: counted as soon as it is made
        young.Check();
        Assert.Equal(1, young.Collections);
    }
}
