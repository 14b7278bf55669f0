using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MllmData.Stats;

/// <summary>The figures of <see cref="DatasetStats"/> as JSON and as text lines, for one build or two side by side.</summary>
public static class StatsReport
{
    public const int TopAnswersShown = 20;
    public const int TemplatesShown = 50;

    /// <summary>The percentile rule, stated in every report.</summary>
    public const string PercentileMethod = "nearest-rank: the smallest value with at least ceil(p/100*n) values at or below it";

    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Json(DatasetStats s) => Write(w => WriteStats(w, s));

    public static string CompareJson(DatasetStats a, DatasetStats b) => Write(w =>
    {
        w.WriteStartObject();
        w.WritePropertyName("a");
        WriteStats(w, a);
        w.WritePropertyName("b");
        WriteStats(w, b);
        w.WriteEndObject();
    });

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented))
        {
            body(w);
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    public static void WriteStats(Utf8JsonWriter w, DatasetStats s)
    {
        var m = s.Manifest;
        w.WriteStartObject();
        w.WriteString("folder", s.Folder);
        w.WriteString("name", (string?)m["name"]);
        w.WriteString("format", (string?)m["format"]);
        w.WriteString("container", (string?)m["container"]);
        w.WriteString("tool_version", (string?)m["tool_version"]);
        if (m["seed"] is JsonValue seed)
        {
            w.WriteNumber("seed", (long)seed);
        }

        w.WriteNumber("records", s.Overall.Records);
        w.WriteNumber("manifest_records", (long?)m["records"] ?? 0);
        w.WriteBoolean("readable", s.Readable);
        w.WriteString("percentiles", PercentileMethod);
        w.WriteString("tokens", "o200k_base");
        w.WriteStartObject("token_sample");
        w.WriteNumber("records", s.TokenRecords);
        w.WriteNumber("of", s.Overall.Records);
        w.WriteNumber("limit", s.TokenSample);
        w.WriteEndObject();
        w.WritePropertyName("overall");
        WriteGroup(w, s.Overall);
        WriteGroups(w, "sources", s.BySource);
        WriteGroups(w, "tasks", s.ByTask);
        WriteTop(w, "top_answers", s.TopAnswers, TopAnswersShown);
        WriteTop(w, "templates", s.Templates, TemplatesShown);
        w.WriteStartObject("images");
        w.WriteNumber("with_size", s.ImageLongSide.N);
        w.WriteNumber("without_size", s.ImagesWithoutSize);
        w.WritePropertyName("long_side_px");
        WriteDistribution(w, s.ImageLongSide);
        if (m["images"] is JsonObject stage)
        {
            w.WritePropertyName("build");
            stage.WriteTo(w);
        }

        w.WriteEndObject();
        w.WriteStartObject("rejects");
        w.WriteNumber("total", (long?)m["rejects"] ?? 0);
        w.WritePropertyName("by_reason");
        (m["rejects_by_reason"] as JsonObject ?? []).WriteTo(w);
        w.WriteEndObject();
        foreach (var section in new[] { "rewrite", "self_instruct", "usage", "mixture" })
        {
            if (m[section] is JsonObject o)
            {
                w.WritePropertyName(section);
                o.WriteTo(w);
            }
        }

        w.WriteEndObject();
    }

    private static void WriteGroups(Utf8JsonWriter w, string name, SortedDictionary<string, GroupStats> groups)
    {
        w.WriteStartObject(name);
        foreach (var (key, g) in groups)
        {
            w.WritePropertyName(key);
            WriteGroup(w, g);
        }

        w.WriteEndObject();
    }

    private static void WriteGroup(Utf8JsonWriter w, GroupStats g)
    {
        w.WriteStartObject();
        w.WriteNumber("records", g.Records);
        w.WriteNumber("turns", g.TurnsPerRecord.Sum);
        w.WriteNumber("images", g.ImagesPerRecord.Sum);
        w.WritePropertyName("turns_per_record");
        WriteDistribution(w, g.TurnsPerRecord);
        w.WritePropertyName("images_per_record");
        WriteDistribution(w, g.ImagesPerRecord);
        w.WritePropertyName("instruction_tokens");
        WriteDistribution(w, g.InstructionTokens);
        w.WritePropertyName("question_tokens");
        WriteDistribution(w, g.QuestionTokens);
        w.WriteNumber("questions_unrecovered", g.QuestionsUnrecovered);
        w.WritePropertyName("answer_tokens");
        WriteDistribution(w, g.AnswerTokens);
        w.WriteNumber("answers", g.Answers);
        w.WriteNumber("short_answers", g.ShortAnswers);
        w.WriteNumber("short_answer_share", g.ShortAnswerShare);
        w.WriteStartObject("answer_kinds");
        foreach (var (k, n) in g.AnswerKinds)
        {
            w.WriteNumber(k, n);
        }

        w.WriteEndObject();
        w.WriteNumber("yes_share", g.YesShare);
        w.WriteNumber("rewritten_records", g.RewrittenRecords);
        w.WriteEndObject();
    }

    private static void WriteDistribution(Utf8JsonWriter w, ValueCounts v)
    {
        w.WriteStartObject();
        w.WriteNumber("n", v.N);
        w.WriteNumber("sum", v.Sum);
        w.WriteNumber("mean", v.Mean);
        w.WriteNumber("min", v.Min);
        w.WriteNumber("p50", v.Percentile(50));
        w.WriteNumber("p90", v.Percentile(90));
        w.WriteNumber("p99", v.Percentile(99));
        w.WriteNumber("max", v.Max);
        w.WriteStartArray("histogram");
        if (v.N > 0)
        {
            foreach (var (label, count) in v.Buckets())
            {
                w.WriteStartObject();
                w.WriteString("bucket", label);
                w.WriteNumber("count", count);
                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTop(Utf8JsonWriter w, string name, TopCounts top, int k)
    {
        w.WriteStartObject(name);
        w.WriteBoolean("exact", top.Exact);
        w.WriteNumber("total", top.Total);
        w.WriteNumber("distinct", top.Distinct);
        w.WriteStartArray("items");
        foreach (var (key, count) in top.Top(k))
        {
            w.WriteStartObject();
            w.WriteString("value", key);
            w.WriteNumber("count", count);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Dist(ValueCounts v) => v.N == 0 ? "-" : I($"mean {v.Mean:0.##}, p50 {v.Percentile(50)}, p90 {v.Percentile(90)}, p99 {v.Percentile(99)}, max {v.Max} (n {v.N})");

    /// <summary>Which records the token figures (and unrecovered questions) cover.</summary>
    public static string TokenSampleLine(DatasetStats s) => s.TokensSampled
        ? I($"token figures: the {s.TokenRecords} of {s.Overall.Records} records with the smallest id hash (token sample {s.TokenSample}); other figures: every record")
        : I($"token figures: every record ({s.TokenRecords})");

    /// <summary>The report as text lines for stdout.</summary>
    public static IReadOnlyList<string> Lines(DatasetStats s)
    {
        var m = s.Manifest;
        var o = s.Overall;
        var lines = new List<string>
        {
            I($"build {m["name"]} ({m["format"]}, {m["container"]}), tool {m["tool_version"]}, seed {m["seed"]}: {s.Folder}"),
            I($"records {o.Records}, turns {(o.TurnsPerRecord.N == 0 && o.Records > 0 ? "-" : o.TurnsPerRecord.Sum)}, images {o.ImagesPerRecord.Sum}, rejects {m["rejects"]}"),
            I($"turns/record: {Dist(o.TurnsPerRecord)}"),
            I($"images/record: {Dist(o.ImagesPerRecord)}"),
            TokenSampleLine(s),
            I($"instruction tokens (o200k): {Dist(o.InstructionTokens)}"),
            I($"question tokens (o200k): {Dist(o.QuestionTokens)}; unrecovered {o.QuestionsUnrecovered}"),
            I($"answer tokens (o200k): {Dist(o.AnswerTokens)}"),
            I($"answers of <=3 words: {o.ShortAnswers} of {o.Answers} ({o.ShortPercent})"),
            I($"answer kinds: {string.Join(", ", o.AnswerKinds.Select(kv => $"{kv.Key} {kv.Value}"))}; yes share of yes/no {o.YesPercent}"),
            "answer tokens histogram: " + string.Join(", ", o.AnswerTokens.N == 0 ? [] : o.AnswerTokens.Buckets().Select(b => I($"{b.Label}: {b.Count}"))),
        };
        if (!s.Readable)
        {
            lines.Add(I($"note: {m["format"]} lines cannot be read back into turns; text figures are left out"));
        }

        lines.Add("per source:");
        lines.AddRange(s.BySource.Select(kv => GroupLine(kv.Key, kv.Value)));
        lines.Add("per task:");
        lines.AddRange(s.ByTask.Select(kv => GroupLine(kv.Key, kv.Value)));
        lines.Add("top answers" + (s.TopAnswers.Exact ? string.Empty : " (approximate counts)") + ": "
            + string.Join(", ", s.TopAnswers.Top(TopAnswersShown).Select(t => I($"\"{t.Key}\" {t.Count}"))));
        lines.Add("templates" + (s.Templates.Exact ? string.Empty : " (approximate counts)") + ": "
            + string.Join(", ", s.Templates.Top(TemplatesShown).Select(t => I($"{t.Key} {t.Count}"))));
        lines.Add(I($"image long side (px): {Dist(s.ImageLongSide)}; images without a size in meta: {s.ImagesWithoutSize}"));
        if (m["images"] is JsonObject stage)
        {
            lines.Add(I($"image stage ({stage["mode"]}): checked {stage["checked"]}, exact duplicates {stage["exact_duplicates"]}, near duplicates {stage["near_duplicates"]}, rejected {Compact(stage["rejected"])}"));
        }

        lines.Add("rejects by reason: " + Compact(m["rejects_by_reason"]));
        if (m["rewrite"] is JsonObject rw)
        {
            lines.Add(I($"rewrite: model {rw["model"]}, prompt {rw["prompt_version"]}, {rw["rewritten_answers"]} answers rewritten, {o.RewrittenRecords} records carry meta.rewrite, capped {rw["capped"]}"));
        }

        if (m["self_instruct"] is JsonObject si)
        {
            lines.Add(I($"self-instruct: model {si["model"]}, records by kind {Compact(si["records_by_kind"])}"));
        }

        if (m["usage"] is JsonObject u)
        {
            var cost = u["estimated_cost_usd"] is JsonValue c ? I($"${(decimal)c}") : "unknown";
            lines.Add(I($"model usage: {u["requests"]} requests, {u["cache_hits"]} cache hits, {u["input_tokens"]} tokens in, {u["output_tokens"]} tokens out, estimated cost {cost}"));
        }

        lines.Add("percentiles: " + PercentileMethod);
        return lines;
    }

    private static string Compact(JsonNode? node) => node is JsonObject { Count: > 0 } o ? string.Join(", ", o.Select(kv => I($"{kv.Key} {kv.Value}"))) : "none";

    private static string GroupLine(string name, GroupStats g) =>
        I($"  {name}: records {g.Records}, turns/record {GroupStats.Mean(g.TurnsPerRecord)}, images/record {GroupStats.Mean(g.ImagesPerRecord)}, answer tokens p50 {GroupStats.Percentile(g.AnswerTokens, 50)} mean {GroupStats.Mean(g.AnswerTokens)}, <=3 words {g.ShortPercent}, yes share {g.YesPercent}");

    /// <summary>Rows of the side-by-side comparison: figure, A, B, and B − A where both are numbers.</summary>
    public static IReadOnlyList<(string Figure, string A, string B, string Change)> CompareRows(DatasetStats a, DatasetStats b)
    {
        var rows = new List<(string, string, string, string)>();

        // A figure with nothing to count (no values, no answers to share) is "-" on its side, and the change is "-" too.
        static string Shown(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";
        void Row(string figure, double? x, double? y, string format = "0.##") =>
            rows.Add((figure, Shown(x, format), Shown(y, format), x is { } p && y is { } q ? (q - p).ToString("+0.##;-0.##;0", CultureInfo.InvariantCulture) : "-"));
        static double? Of(ValueCounts v, Func<ValueCounts, double> figure) => v.N == 0 ? null : figure(v);
        static double? Percent(long part, long whole) => whole == 0 ? null : GroupStats.Share(part, whole) * 100;
        static double? Sum(GroupStats g, ValueCounts v) => v.N == 0 && g.Records > 0 ? null : v.Sum;
        var (oa, ob) = (a.Overall, b.Overall);
        Row("records", oa.Records, ob.Records);
        Row("turns", Sum(oa, oa.TurnsPerRecord), Sum(ob, ob.TurnsPerRecord));
        Row("images", oa.ImagesPerRecord.Sum, ob.ImagesPerRecord.Sum);
        Row("turns/record mean", Of(oa.TurnsPerRecord, v => v.Mean), Of(ob.TurnsPerRecord, v => v.Mean));
        Row("instruction tokens mean", Of(oa.InstructionTokens, v => v.Mean), Of(ob.InstructionTokens, v => v.Mean));
        Row("question tokens mean", Of(oa.QuestionTokens, v => v.Mean), Of(ob.QuestionTokens, v => v.Mean));
        Row("answer tokens mean", Of(oa.AnswerTokens, v => v.Mean), Of(ob.AnswerTokens, v => v.Mean));
        Row("answer tokens p50", Of(oa.AnswerTokens, v => v.Percentile(50)), Of(ob.AnswerTokens, v => v.Percentile(50)));
        Row("answer tokens p90", Of(oa.AnswerTokens, v => v.Percentile(90)), Of(ob.AnswerTokens, v => v.Percentile(90)));
        Row("answer tokens max", Of(oa.AnswerTokens, v => v.Max), Of(ob.AnswerTokens, v => v.Max));
        Row("answers <=3 words %", Percent(oa.ShortAnswers, oa.Answers), Percent(ob.ShortAnswers, ob.Answers));
        Row("yes share of yes/no %", Percent(oa.AnswerKinds[AnswerKind.Yes], oa.AnswerKinds[AnswerKind.Yes] + oa.AnswerKinds[AnswerKind.No]), Percent(ob.AnswerKinds[AnswerKind.Yes], ob.AnswerKinds[AnswerKind.Yes] + ob.AnswerKinds[AnswerKind.No]));
        foreach (var kind in AnswerKind.All)
        {
            Row($"answers: {kind}", oa.AnswerKinds[kind], ob.AnswerKinds[kind]);
        }

        Row("rejects", (long?)a.Manifest["rejects"] ?? 0, (long?)b.Manifest["rejects"] ?? 0);
        Row("rewritten records", oa.RewrittenRecords, ob.RewrittenRecords);
        foreach (var source in a.BySource.Keys.Union(b.BySource.Keys).Order(StringComparer.Ordinal))
        {
            Row($"source {source}: records", a.BySource.GetValueOrDefault(source)?.Records ?? 0, b.BySource.GetValueOrDefault(source)?.Records ?? 0);
            Row($"source {source}: answer tokens mean", a.BySource.GetValueOrDefault(source) is { } ga ? Of(ga.AnswerTokens, v => v.Mean) : null, b.BySource.GetValueOrDefault(source) is { } gb ? Of(gb.AnswerTokens, v => v.Mean) : null);
        }

        return rows;
    }

    public static IReadOnlyList<string> CompareLines(DatasetStats a, DatasetStats b)
    {
        var rows = CompareRows(a, b);
        var width = Math.Max(6, rows.Max(r => r.Figure.Length));
        var wa = Math.Max(1, rows.Max(r => r.A.Length));
        var wb = Math.Max(1, rows.Max(r => r.B.Length));
        var lines = new List<string>
        {
            I($"A: {a.Folder} ({a.Manifest["name"]}, {a.Manifest["format"]})"),
            I($"B: {b.Folder} ({b.Manifest["name"]}, {b.Manifest["format"]})"),
            I($"{"figure".PadRight(width)}  {"A".PadLeft(wa)}  {"B".PadLeft(wb)}  B-A"),
        };
        lines.AddRange(rows.Select(r => I($"{r.Figure.PadRight(width)}  {r.A.PadLeft(wa)}  {r.B.PadLeft(wb)}  {r.Change}")));
        lines.Add("answer tokens histogram (A | B): " + string.Join(", ", HistogramPairs(a.Overall.AnswerTokens, b.Overall.AnswerTokens).Select(p => I($"{p.Label}: {p.A} | {p.B}"))));
        lines.Add("percentiles: " + PercentileMethod);
        return lines;
    }

    /// <summary>Both histograms over the same buckets.</summary>
    public static IReadOnlyList<(string Label, long A, long B)> HistogramPairs(ValueCounts a, ValueCounts b)
    {
        var ba = a.N == 0 ? [] : a.Buckets();
        var bb = b.N == 0 ? [] : b.Buckets();
        var longer = ba.Count >= bb.Count ? ba : bb;
        return [.. longer.Select((x, i) => (x.Label, i < ba.Count ? ba[i].Count : 0, i < bb.Count ? bb[i].Count : 0))];
    }
}
