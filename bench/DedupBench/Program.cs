// The near-duplicate filter over generated questions: time for N questions, and a check against brute force.
// Usage: dotnet run -c Release --project bench/DedupBench [questions=50000] [check=3000]
using System.Diagnostics;
using System.Globalization;
using MllmData.Generation;

var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50_000;
var check = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3_000;

// Questions shaped like generated ones: a question word, 6 to 12 content words from a 3,000-word vocabulary
// with a Zipf-like skew, and every tenth one a near copy of an earlier question with one word changed.
string[] starts = ["what", "how", "why", "where", "which", "is", "can", "does", "who", "when"];
string[] syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "or", "pin", "da", "que", "ro", "ban", "ti", "el", "mon"];
var vocabulary = Enumerable.Range(0, 3000).Select(i => syllables[i % 16] + syllables[(i / 16) % 16] + syllables[(i / 256) % 16]).ToArray();
var rnd = new Random(42);
string Word() => vocabulary[(int)(vocabulary.Length * Math.Pow(rnd.NextDouble(), 2.5))];
var questions = new List<string>(n);
for (var i = 0; i < n; i++)
{
    if (i > 10 && i % 10 == 0)
    {
        var words = questions[rnd.Next(i)].TrimEnd('?').Split(' ');
        words[1 + rnd.Next(words.Length - 1)] = Word();
        questions.Add(string.Join(' ', words) + "?");
        continue;
    }

    questions.Add(starts[rnd.Next(starts.Length)] + " " + string.Join(' ', Enumerable.Range(0, rnd.Next(6, 13)).Select(_ => Word())) + "?");
}

var clock = Stopwatch.StartNew();
var filter = new NearDuplicateFilter(0.7);
var kept = questions.Count(q => filter.TryAdd(q, out _));
clock.Stop();
Console.WriteLine(FormattableString.Invariant(
    $"{n} questions: {kept} kept, {n - kept} near-duplicates, {clock.Elapsed.TotalSeconds:0.00} s, {filter.Comparisons} exact ROUGE-L comparisons ({filter.Comparisons / (double)n:0.0} per question)"));

// Brute force on a prefix of the same stream must keep exactly the same questions.
var sample = questions.Take(check).ToList();
var indexed = new NearDuplicateFilter(0.7);
var fast = sample.Select(q => indexed.TryAdd(q, out _)).ToList();
var pool = new List<string[]>();
var slowClock = Stopwatch.StartNew();
var slow = new List<bool>();
foreach (var q in sample)
{
    var t = NearDuplicateFilter.Tokens(q);
    var keep = pool.All(p => NearDuplicateFilter.RougeL(t, p) <= 0.7);
    if (keep)
    {
        pool.Add(t);
    }

    slow.Add(keep);
}

slowClock.Stop();
Console.WriteLine(FormattableString.Invariant(
    $"check on the first {check}: brute force {slowClock.Elapsed.TotalSeconds:0.00} s, same decisions: {fast.SequenceEqual(slow)}"));
return fast.SequenceEqual(slow) ? 0 : 1;
