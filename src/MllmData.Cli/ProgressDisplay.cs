using System.Diagnostics;
using System.Globalization;
using MllmData.Pipeline;

namespace MllmData.Cli;

/// <summary>A one-line progress display on stderr (records/s, percent and ETA by input bytes); silent when stderr is not a terminal.</summary>
public sealed class ProgressDisplay : IDisposable
{
    private readonly ProgressCounter _counter;
    private readonly TextWriter _error;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer? _timer;
    private bool _drawn;

    public ProgressDisplay(ProgressCounter counter, TextWriter error)
    {
        _counter = counter;
        _error = error;
        if (!Console.IsErrorRedirected && ReferenceEquals(error, Console.Error))
        {
            _timer = new Timer(_ => Draw(), null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
        }
    }

    private void Draw()
    {
        var secs = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        var records = _counter.Records;
        var rate = records / secs;
        var line = string.Create(CultureInfo.InvariantCulture, $"  {records:N0} records  {rate:N0}/s  {_counter.Rejects:N0} rejects");
        var total = _counter.TotalBytes;
        var done = _counter.DoneBytes;
        if (total > 0 && done > 0)
        {
            var fraction = Math.Min(1.0, (double)done / total);
            var eta = TimeSpan.FromSeconds(secs / fraction * (1 - fraction));
            line += string.Create(CultureInfo.InvariantCulture, $"  {fraction:P0}  ETA {eta:hh\\:mm\\:ss}");
        }

        lock (_error)
        {
            _error.Write("\r" + line.PadRight(78));
            _drawn = true;
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        if (_drawn)
        {
            lock (_error)
            {
                _error.Write("\r" + new string(' ', 78) + "\r");
            }
        }
    }
}
