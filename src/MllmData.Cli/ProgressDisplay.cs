using System.Diagnostics;
using System.Globalization;
using Serilog.Core;
using Serilog.Events;
using MllmData.Inputs;

namespace MllmData.Cli;

/// <summary>
/// Progress on stderr: on a terminal, one line redrawn in place (cleared before any log line is written);
/// elsewhere (CI, nohup, Slurm logs) a timestamped line every few seconds with records, records/s and ETA.
/// </summary>
public sealed class ProgressDisplay : IDisposable
{
    private readonly ProgressCounter _counter;
    private readonly TextWriter _error;
    private readonly bool _inPlace;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Func<DateTimeOffset> _now;
    private readonly Timer? _timer;

    /// <param name="counter">What the build counts.</param>
    /// <param name="error">Where progress goes (stderr).</param>
    /// <param name="interval">Between two lines when stderr is not a terminal; null = MLLMDATA_PROGRESS_SECONDS, else 10 s.</param>
    /// <param name="now">The clock for timestamps.</param>
    public ProgressDisplay(ProgressCounter counter, TextWriter error, TimeSpan? interval = null, Func<DateTimeOffset>? now = null)
    {
        _counter = counter;
        _error = error;
        _now = now ?? (() => DateTimeOffset.Now);
        var console = ReferenceEquals(error, Console.Error);
        _inPlace = console && !Console.IsErrorRedirected;
        var every = interval ?? (double.TryParse(Environment.GetEnvironmentVariable("MLLMDATA_PROGRESS_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.FromSeconds(10));

        // Only the process's own stderr gets progress unless a caller asks for it with an interval.
        if (_inPlace)
        {
            _timer = new Timer(_ => Tick(), null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
        }
        else if (console || interval is not null)
        {
            _timer = new Timer(_ => Tick(), null, every, every);
        }
    }

    /// <summary>One progress report: records, rate, rejects, and percent and ETA when the input size is known.</summary>
    public static string Line(long records, long rejects, long doneBytes, long totalBytes, double seconds)
    {
        var secs = Math.Max(seconds, 0.001);
        var line = string.Create(CultureInfo.InvariantCulture, $"{records:N0} records  {records / secs:N0}/s  {rejects:N0} rejects");
        if (totalBytes > 0 && doneBytes > 0)
        {
            var fraction = Math.Min(1.0, (double)doneBytes / totalBytes);
            var eta = TimeSpan.FromSeconds(secs / fraction * (1 - fraction));
            line += string.Create(CultureInfo.InvariantCulture, $"  {fraction * 100:0}%  ETA {eta:hh\\:mm\\:ss}");
        }

        return line;
    }

    /// <summary>Writes one report now (the timer calls this).</summary>
    public void Tick()
    {
        var line = Line(_counter.Records, _counter.Rejects, _counter.DoneBytes, _counter.TotalBytes, _clock.Elapsed.TotalSeconds);
        lock (ConsoleLine.Lock)
        {
            if (_inPlace)
            {
                _error.Write("\r  " + line.PadRight(76));
                ConsoleLine.Drawn = true;
            }
            else
            {
                _error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_now():yyyy-MM-dd HH:mm:ss}] progress: {line}"));
            }
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        lock (ConsoleLine.Lock)
        {
            ConsoleLine.Clear(_error);
        }
    }
}

/// <summary>The in-place progress line on the terminal, shared by the display and the log sink.</summary>
public static class ConsoleLine
{
    public static readonly Lock Lock = new();

    /// <summary>Whether a progress line stands on the terminal now.</summary>
    public static bool Drawn { get; set; }

    /// <summary>Clears the progress line, if one is drawn; call under <see cref="Lock"/>.</summary>
    public static void Clear(TextWriter error)
    {
        if (Drawn)
        {
            error.Write("\r" + new string(' ', 78) + "\r");
            Drawn = false;
        }
    }
}

/// <summary>A log sink that clears the progress line before each event, so a log line never lands on it.</summary>
public sealed class ProgressAwareSink(ILogEventSink inner) : ILogEventSink, IDisposable
{
    public void Emit(LogEvent logEvent)
    {
        lock (ConsoleLine.Lock)
        {
            ConsoleLine.Clear(Console.Error);
            inner.Emit(logEvent);
        }
    }

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
