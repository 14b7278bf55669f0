using System.Globalization;
using System.Runtime.CompilerServices;
using MllmData.Pipeline.Steps;
using MllmData.Records;

namespace MllmData.Pipeline;

/// <summary>
/// One source of a mixture, read as a stream: counted once (pass 1), then read again (pass 2, once per epoch) giving only
/// the records its seeded selection takes, in pool order. Holds no records beyond the one being read.
/// </summary>
/// <param name="name">The source's name, which seeds its selection.</param>
/// <param name="read">The adapter's items for one epoch (true: the first, whose progress and rejects count).</param>
/// <param name="steps">The steps each item goes through before it counts as a record.</param>
public sealed class MixtureSource(string name, Func<bool, IAsyncEnumerable<SourceItem>> read, IReadOnlyList<IRecordStep> steps)
{
    public string Name => name;

    /// <summary>Pass 1: the records the source yields after its steps (rejects are not counted and not reported).</summary>
    public async Task<long> CountAsync(CancellationToken ct)
    {
        var n = 0L;
        await foreach (var item in read(false).WithCancellation(ct).ConfigureAwait(false))
        {
            n += Apply(item, count: false).Record is null ? 0 : 1;
        }

        return n;
    }

    /// <summary>
    /// Pass 2: the <paramref name="target"/> records taken from a pool of <paramref name="available"/> × <paramref name="repeat"/>,
    /// repeats renamed <c>ID-r2</c>, <c>ID-r3</c>, ...; rejects of the first epoch go to <paramref name="reject"/>. After the
    /// last taken record the first epoch is still read to its end, so every reject of the input is reported.
    /// </summary>
    public async IAsyncEnumerable<InstructionRecord> SelectAsync(long seed, long available, int repeat, long target, Action<Reject> reject, [EnumeratorCancellation] CancellationToken ct)
    {
        var pool = available * repeat;
        var taken = 0L;
        var k = 0L;
        for (var epoch = 0; epoch < repeat && (epoch == 0 || taken < target); epoch++)
        {
            var seen = 0L;
            await foreach (var item in read(epoch == 0).WithCancellation(ct).ConfigureAwait(false))
            {
                // Only the first epoch's pass counts its records in the steps' figures (as it alone reports rejects).
                var done = Apply(item, count: epoch == 0);
                if (done.Reject is { } r)
                {
                    if (epoch == 0)
                    {
                        reject(r);
                    }

                    continue;
                }

                // A file that grew between the passes gives no more than was counted.
                if (seen++ >= available || !MixtureOrder.Takes(seed, name, k++, pool, target - taken))
                {
                    continue;
                }

                taken++;
                var record = done.Record!;
                yield return epoch == 0 ? record : record with { Id = string.Create(CultureInfo.InvariantCulture, $"{record.Id}-r{epoch + 1}") };
            }
        }
    }

    private SourceItem Apply(SourceItem item, bool count)
    {
        foreach (var step in steps)
        {
            if (item.Reject is not null)
            {
                return item;
            }

            item = count ? step.Apply(item.Record!) : step.Peek(item.Record!);
        }

        return item;
    }
}
