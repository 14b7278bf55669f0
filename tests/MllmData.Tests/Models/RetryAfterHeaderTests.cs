using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

public class TheRetryAfterHeader
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("1500", null, 1.5)]
    [InlineData("0", null, 0)]
    [InlineData(" 250.5 ", null, 0.2505)]
    [InlineData(null, "3", 3)]
    [InlineData(null, "2.5", 2.5)]
    [InlineData(null, "0", 0)]
    [InlineData("700", "9", 0.7)] // retry-after-ms wins when both are usable
    [InlineData("NaN", "4", 4)] // an unusable retry-after-ms falls back to Retry-After
    [InlineData("-1", "4", 4)]
    [InlineData(null, "Sat, 28 Nov 2026 12:00:20 GMT", 20)]
    [InlineData(null, "Saturday, 28-Nov-26 12:00:45 GMT", 45)]
    [InlineData(null, "Sat Nov 28 12:01:00 2026", 60)]
    [InlineData(null, "Fri, 27 Nov 2026 12:00:00 GMT", 0)] // a past date means now
    public void Should_Read_Every_Valid_Form(string? ms, string? retryAfter, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryAfterHeader.Parse(ms, retryAfter, Now));

    [Theory]
    [InlineData(null, "999999999")]
    [InlineData("99999999999999999999999", null)]
    [InlineData(null, "Fri, 31 Dec 9999 23:59:59 GMT")]
    public void Should_Cap_Huge_Waits_Instead_Of_Overflowing(string? ms, string? retryAfter) =>
        Assert.Equal(RetryAfterHeader.Longest, RetryAfterHeader.Parse(ms, retryAfter, Now));

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "")]
    [InlineData("NaN", "NaN")]
    [InlineData("Infinity", "-Infinity")]
    [InlineData("-5", "-5")]
    [InlineData("soon", "soon")]
    [InlineData("0x10", "1,5")]
    [InlineData(null, "Sat, 99 Nov 2026 12:00:20 GMT")]
    [InlineData(null, "1e400")]
    [InlineData(null, "1e308")]
    public void Should_Ignore_Every_Invalid_Form_Without_Throwing(string? ms, string? retryAfter) =>
        Assert.Null(RetryAfterHeader.Parse(ms, retryAfter, Now));
}
