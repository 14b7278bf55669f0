using System.Globalization;

namespace MllmData.ModelCalls;

/// <summary>
/// Reads a server's requested wait from <c>retry-after-ms</c> or <c>Retry-After</c> (delta-seconds or an HTTP-date).
/// Never throws: garbage, NaN, infinities and negative numbers are ignored, and any wait is capped at
/// <see cref="Longest"/> so later arithmetic cannot overflow; the call path clamps it to the remaining deadline.
/// </summary>
public static class RetryAfterHeader
{
    /// <summary>The longest wait this reader returns, whatever the header says.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(1);

    private static readonly string[] HttpDateFormats =
    [
        "r", // RFC 1123: Sun, 06 Nov 1994 08:49:37 GMT
        "dddd, dd-MMM-yy HH:mm:ss 'GMT'", // RFC 850
        "ddd MMM d HH:mm:ss yyyy", // asctime
        "ddd MMM dd HH:mm:ss yyyy",
    ];

    /// <summary>The wait, or null when neither header holds a usable value; <c>retry-after-ms</c> wins when both do.</summary>
    public static TimeSpan? Parse(string? retryAfterMs, string? retryAfter, DateTimeOffset now) =>
        Milliseconds(retryAfterMs) ?? Seconds(retryAfter) ?? HttpDate(retryAfter, now);

    private static TimeSpan? Milliseconds(string? value) =>
        Number(value) is { } ms ? Clamp(ms / 1000) : null;

    private static TimeSpan? Seconds(string? value) =>
        Number(value) is { } seconds ? Clamp(seconds) : null;

    private static TimeSpan? HttpDate(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value)
            || !DateTimeOffset.TryParseExact(value.Trim(), HttpDateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var when))
        {
            return null;
        }

        // A date in the past means "now".
        return when <= now ? TimeSpan.Zero : Clamp((when - now).TotalSeconds);
    }

    /// <summary>A finite, non-negative decimal number, or null.</summary>
    private static double? Number(string? value) =>
        value is not null
        && double.TryParse(value.Trim(), NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)
        && double.IsFinite(n)
        && n >= 0
            ? n
            : null;

    private static TimeSpan Clamp(double seconds) =>
        seconds >= Longest.TotalSeconds ? Longest : TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond));
}
