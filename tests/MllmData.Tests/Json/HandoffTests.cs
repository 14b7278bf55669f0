using MllmData.Json;

namespace MllmData.Tests.Json;

/// <summary>The bounded hand-off between the build's threads: order, bounds, completion and abandonment.</summary>
public class TheHandoff
{
    [Fact]
    public void Items_Come_Out_In_The_Order_They_Went_In_And_Completion_Ends_The_Taking_After_Them()
    {
        var handoff = new Handoff<int>(3);
        Assert.True(handoff.Add(1));
        Assert.True(handoff.Add(2));
        Assert.Equal(2, handoff.Count);
        handoff.Complete();
        Assert.True(handoff.TryTake(out var a));
        Assert.True(handoff.TryTake(out var b));
        Assert.False(handoff.TryTake(out var none));
        Assert.Equal((1, 2, 0), (a, b, none));
        var late = Assert.Throws<InvalidOperationException>(() => handoff.Add(3));
        Assert.Equal("the hand-off is complete: nothing more can be added", late.Message);
    }

    [Fact]
    public void A_Full_Handoff_Holds_The_Adder_Until_An_Item_Is_Taken()
    {
        var handoff = new Handoff<int>(2);
        handoff.Add(1);
        handoff.Add(2);
        using var added = new ManualResetEventSlim();
        var adder = new Thread(() =>
        {
            handoff.Add(3);
            added.Set();
        });
        adder.Start();

        // Full: the third item waits (the adder is parked, not done) ...
        Assert.False(added.Wait(200));
        Assert.Equal(2, handoff.Count);

        // ... until one is taken.
        Assert.True(handoff.TryTake(out var first));
        Assert.True(added.Wait(TimeSpan.FromSeconds(20)));
        adder.Join();
        Assert.Equal(1, first);
        Assert.Equal(2, handoff.Count);
    }

    [Fact]
    public void An_Empty_Handoff_Holds_The_Taker_Until_An_Item_Comes()
    {
        var handoff = new Handoff<string>(1);
        string? got = null;
        var taker = new Thread(() => handoff.TryTake(out got));
        taker.Start();
        Assert.False(taker.Join(200));
        handoff.Add("x");
        Assert.True(taker.Join(TimeSpan.FromSeconds(20)));
        Assert.Equal("x", got);
    }

    [Fact]
    public void Abandoning_Releases_A_Waiting_Adder_With_False_And_Ends_Taking()
    {
        var handoff = new Handoff<int>(1);
        handoff.Add(1);
        var result = true;
        var adder = new Thread(() => result = handoff.Add(2));
        adder.Start();
        Assert.False(adder.Join(200));
        handoff.Abandon();
        Assert.True(adder.Join(TimeSpan.FromSeconds(20)));
        Assert.False(result);
        Assert.False(handoff.TryTake(out _));
        Assert.False(handoff.Add(3));
        Assert.Equal(0, handoff.Count);
    }

    [Fact]
    public void Abandoning_Releases_A_Waiting_Taker_With_False()
    {
        var handoff = new Handoff<int>(1);
        var result = true;
        var taker = new Thread(() => result = handoff.TryTake(out _));
        taker.Start();
        Assert.False(taker.Join(200));
        handoff.Abandon();
        Assert.True(taker.Join(TimeSpan.FromSeconds(20)));
        Assert.False(result);
    }

    [Fact]
    public void A_Capacity_Below_One_Is_Refused() => Assert.Throws<ArgumentOutOfRangeException>(() => new Handoff<int>(0));

    [Fact]
    public void Many_Items_Through_A_Small_Handoff_Between_Two_Threads_Arrive_All_And_In_Order()
    {
        var handoff = new Handoff<int>(4);
        var producer = new Thread(() =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                handoff.Add(i);
            }

            handoff.Complete();
        });
        producer.Start();
        var expected = 0;
        while (handoff.TryTake(out var item))
        {
            Assert.Equal(expected++, item);
        }

        producer.Join();
        Assert.Equal(50_000, expected);
    }
}
