namespace MllmData.Pipeline;

/// <summary>One source as the mixture sees it: its records after the steps, and its recipe keys.</summary>
public sealed record MixtureInput(string Name, long Available, double Weight = 1, long? MaxSamples = null, int Repeat = 1)
{
    /// <summary>Records to draw from: every record once per epoch.</summary>
    public long Pool => Available * Repeat;

    /// <summary>Most records the source can give: its pool, capped by max_samples.</summary>
    public long Cap => MaxSamples is { } max ? Math.Min(Pool, max) : Pool;
}

/// <summary>
/// How many records each source gives to a mixture. Each source's share is weight × f(cap), f = cap (proportional),
/// √cap (sqrt) or 1 (uniform); a source whose share would pass its cap gives its cap and the rest is shared again among
/// the others; the shares are rounded by largest remainder (ties to the earlier source), so the targets sum to the total exactly.
/// </summary>
public static class MixtureTargets
{
    /// <summary>The target count of each source, in source order; the total is the requested one, or every capped record once, whichever is smaller.</summary>
    public static long[] Compute(string sampling, long? total, IReadOnlyList<MixtureInput> sources)
    {
        var n = sources.Count;
        var targets = new long[n];
        var fixedAt = new bool[n];
        var raw = new double[n];
        var all = 0L;
        for (var i = 0; i < n; i++)
        {
            var cap = sources[i].Cap;
            all += cap;
            raw[i] = sources[i].Weight * sampling switch
            {
                "sqrt" => Math.Sqrt(cap),
                "uniform" => 1.0,
                _ => cap,
            };
            fixedAt[i] = cap == 0;
        }

        var goal = Math.Min(total ?? all, all);
        while (true)
        {
            var remaining = goal - Sum(targets, fixedAt, true);
            var weights = 0.0;
            for (var i = 0; i < n; i++)
            {
                weights += fixedAt[i] ? 0 : raw[i];
            }

            if (remaining <= 0 || weights <= 0)
            {
                return targets;
            }

            // Sources whose share reaches their cap give all they have; the others share what is left.
            var saturated = false;
            for (var i = 0; i < n; i++)
            {
                if (!fixedAt[i] && remaining * raw[i] / weights >= sources[i].Cap)
                {
                    (targets[i], fixedAt[i], saturated) = (sources[i].Cap, true, true);
                }
            }

            if (saturated)
            {
                continue;
            }

            var fractions = new List<(double Fraction, int Index)>();
            for (var i = 0; i < n; i++)
            {
                if (!fixedAt[i])
                {
                    var ideal = remaining * raw[i] / weights;
                    targets[i] = (long)Math.Floor(ideal);
                    fractions.Add((ideal - targets[i], i));
                }
            }

            var left = remaining - Sum(targets, fixedAt, false);
            var order = fractions.OrderByDescending(f => f.Fraction).ThenBy(f => f.Index).ToList();
            for (var k = 0; left > 0 && order.Count > 0; k = (k + 1) % order.Count)
            {
                var i = order[k].Index;
                if (targets[i] < sources[i].Cap)
                {
                    targets[i]++;
                    left--;
                }
            }

            return targets;
        }
    }

    private static long Sum(long[] targets, bool[] fixedAt, bool which)
    {
        var sum = 0L;
        for (var i = 0; i < targets.Length; i++)
        {
            sum += fixedAt[i] == which ? targets[i] : 0;
        }

        return sum;
    }
}
