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
        NumberOrNull(w, "manifest_records", (long?)m["records"]);
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
        WriteTop(w, "top_answers", s.TopAnswers, TopAnswersShown, s.Overall.TextKnown);
        WriteTop(w, "templates", s.Templates, TemplatesShown, s.TemplatesKnown);
        w.WriteStartObject("images");
        var images = s.Overall.ImagesKnown;
        NumberOrNull(w, "with_size", images ? s.ImageLongSide.N : null);
        NumberOrNull(w, "without_size", images ? s.ImagesWithoutSize : null);
        w.WritePropertyName("long_side_px");
        WriteDistribution(w, s.ImageLongSide, images);
        if (m["images"] is JsonObject stage)
        {
            w.WritePropertyName("build");
            stage.WriteTo(w);
        }

        w.WriteEndObject();
        w.WriteStartObject("rejects");
        NumberOrNull(w, "total", (long?)m["rejects"]);
        w.WritePropertyName("by_reason");
        if (m["rejects_by_reason"] is JsonObject reasons)
        {
            reasons.WriteTo(w);
        }
        else
        {
            w.WriteNullValue(); // a manifest without it: not known, not "no rejects"
        }

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

    // A count or figure that is not known (a template build's texts, a record without meta) is null, never 0; a figure of
    // no values (the mean of none, a share of no answers) is null too.
    private static void WriteGroup(Utf8JsonWriter w, GroupStats g)
    {
        var text = g.TextKnown;
        w.WriteStartObject();
        w.WriteNumber("records", g.Records);
        NumberOrNull(w, "turns", text ? g.TurnsPerRecord.Sum : null);
        NumberOrNull(w, "images", g.ImagesKnown ? g.ImagesPerRecord.Sum : null);
        w.WritePropertyName("turns_per_record");
        WriteDistribution(w, g.TurnsPerRecord, text);
        w.WritePropertyName("images_per_record");
        WriteDistribution(w, g.ImagesPerRecord, g.ImagesKnown);
        w.WritePropertyName("instruction_tokens");
        WriteDistribution(w, g.InstructionTokens, text);
        w.WritePropertyName("question_tokens");
        WriteDistribution(w, g.QuestionTokens, g.UnrecoveredKnown);
        NumberOrNull(w, "questions_unrecovered", g.UnrecoveredKnown ? g.QuestionsUnrecovered : null);
        NumberOrNull(w, "questions_without_template", text ? g.QuestionsWithoutTemplate : null);
        w.WritePropertyName("answer_tokens");
        WriteDistribution(w, g.AnswerTokens, text);
        NumberOrNull(w, "answers", text ? g.Answers : null);
        NumberOrNull(w, "short_answers", text ? g.ShortAnswers : null);
        NumberOrNull(w, "short_answer_share", text && g.Answers > 0 ? g.ShortAnswerShare : null);
        w.WriteStartObject("answer_kinds");
        foreach (var (k, n) in g.AnswerKinds)
        {
            NumberOrNull(w, k, text ? n : null);
        }

        w.WriteEndObject();
        NumberOrNull(w, "yes_share", text && g.AnswerKinds[AnswerKind.Yes] + g.AnswerKinds[AnswerKind.No] > 0 ? g.YesShare : null);
        NumberOrNull(w, "rewritten_records", g.RewrittenKnown ? g.RewrittenRecords : null);
        w.WriteEndObject();
    }

    private static void NumberOrNull(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void NumberOrNull(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>
    /// A distribution: n is the number of values (null when they could not be counted, as a template build's texts);
    /// sum, mean, min, the percentiles and max are null without values.
    /// </summary>
    private static void WriteDistribution(Utf8JsonWriter w, ValueCounts v, bool known)
    {
        var any = v.N > 0;
        w.WriteStartObject();
        NumberOrNull(w, "n", known ? v.N : null);
        NumberOrNull(w, "sum", any ? v.Sum : null);
        NumberOrNull(w, "mean", any ? v.Mean : null);
        NumberOrNull(w, "min", any ? v.Min : null);
        NumberOrNull(w, "p50", any ? v.Percentile(50) : null);
        NumberOrNull(w, "p90", any ? v.Percentile(90) : null);
        NumberOrNull(w, "p99", any ? v.Percentile(99) : null);
        NumberOrNull(w, "max", any ? v.Max : null);
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

    /// <summary>A bounded counter's top values; total and distinct are null when the values could not be seen (<paramref name="known"/> false).</summary>
    private static void WriteTop(Utf8JsonWriter w, string name, TopCounts top, int k, bool known)
    {
        w.WriteStartObject(name);
        w.WriteBoolean("exact", top.Exact);
        NumberOrNull(w, "total", known ? top.Total : null);
        NumberOrNull(w, "distinct", known ? top.Distinct : null);
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
    public static string TokenSampleLine(DatasetStats s) => !s.Overall.TextKnown
        ? "token figures: none (the texts are not read back)"
        : s.TokensSampled
        ? I($"token figures: the {s.TokenRecords} of {s.Overall.Records} records with the smallest id hash (token sample {s.TokenSample}); other figures: every record")
        : I($"token figures: every record ({s.TokenRecords})");

    /// <summary>The report as text lines for stdout.</summary>
    public static IReadOnlyList<string> Lines(DatasetStats s)
    {
        var m = s.Manifest;
        var o = s.Overall;
        var lines = new List<string>
        {
            I($"build {Shown(m["name"])} ({Shown(m["format"])}, {Shown(m["container"])}), tool {Shown(m["tool_version"])}, seed {Shown(m["seed"])}: {s.Folder}"),
            I($"records {o.Records}, turns {GroupStats.Count(o.TurnsPerRecord.Sum, o.TextKnown)}, images {GroupStats.Count(o.ImagesPerRecord.Sum, o.ImagesKnown)}, rejects {Shown(m["rejects"])}"),
            I($"turns/record: {Dist(o.TurnsPerRecord)}"),
            I($"images/record: {Dist(o.ImagesPerRecord)}"),
            TokenSampleLine(s),
            I($"instruction tokens (o200k): {Dist(o.InstructionTokens)}"),
            I($"question tokens (o200k): {Dist(o.QuestionTokens)}; unrecovered {o.UnrecoveredText}"),
            I($"answer tokens (o200k): {Dist(o.AnswerTokens)}"),
            I($"answers of <=3 words: {o.ShortText}"),
            I($"answer kinds: {o.KindsText}; yes share of yes/no {o.YesPercent}"),
            "answer tokens histogram: " + (o.AnswerTokens.N == 0 ? "-" : string.Join(", ", o.AnswerTokens.Buckets().Select(b => I($"{b.Label}: {b.Count}")))),
        };
        if (!s.Overall.TextKnown)
        {
            lines.Add(I($"note: {m["format"]} lines cannot be read back into turns; text figures are left out"));
        }

        lines.Add("per source:");
        lines.AddRange(s.BySource.Select(kv => GroupLine(kv.Key, kv.Value)));
        lines.Add("per task:");
        lines.AddRange(s.ByTask.Select(kv => GroupLine(kv.Key, kv.Value)));
        lines.Add("top answers" + (s.TopAnswers.Exact ? string.Empty : " (approximate counts)") + ": "
            + Listed(o.TextKnown, s.TopAnswers.Top(TopAnswersShown).Select(t => I($"\"{t.Key}\" {t.Count}"))));
        lines.Add("templates" + (s.Templates.Exact ? string.Empty : " (approximate counts)") + ": "
            + (s.TemplatesKnown || !o.TextKnown ? Listed(s.TemplatesKnown, s.Templates.Top(TemplatesShown).Select(t => I($"{t.Key} {t.Count}"))) : "- (no record carries meta)"));
        lines.Add(I($"image long side (px): {Dist(s.ImageLongSide)}; images without a size in meta: {GroupStats.Count(s.ImagesWithoutSize, s.Overall.ImagesKnown)}"));
        if (m["images"] is JsonObject stage)
        {
            lines.Add(I($"image stage ({stage["mode"]}): checked {stage["checked"]}, exact duplicates {stage["exact_duplicates"]}, near duplicates {stage["near_duplicates"]}, rejected {Compact(stage["rejected"])}"));
        }

        lines.Add("rejects by reason: " + (m["rejects_by_reason"] is null ? "-" : Compact(m["rejects_by_reason"])));
        if (m["rewrite"] is JsonObject rw)
        {
            lines.Add(I($"rewrite: model {rw["model"]}, prompt {rw["prompt_version"]}, {rw["rewritten_answers"]} answers rewritten, {o.RewrittenText} records carry meta.rewrite, capped {rw["capped"]}"));
        }

        if (m["self_instruct"] is JsonObject si)
        {
            lines.Add(I($"self-instruct: model {si["model"]}, records by kind {Compact(si["records_by_kind"])}"));
        }

        if (m["usage"] is JsonObject u)
        {
            var cost = u["estimated_cost_usd"] is JsonValue c ? I($"${(decimal)c}") : "unknown";
            // Replies without a usage section were counted by the tool: said beside the figures they are part of.
            var counted = u["estimated_replies"] is JsonValue e && (long)e > 0
                ? I($" (of which {u["estimated_input_tokens"]} in and {u["estimated_output_tokens"]} out counted by the tool for {(long)e} replies without usage)")
                : string.Empty;
            lines.Add(I($"model usage: {u["requests"]} requests, {u["cache_hits"]} cache hits, {u["input_tokens"]} tokens in, {u["output_tokens"]} tokens out, estimated cost {cost}{counted}"));
        }

        lines.Add("percentiles: " + PercentileMethod);
        return lines;
    }

    /// <summary>Items of a list as a report shows them: "-" when they could not be seen, "none" when there are none.</summary>
    private static string Listed(bool known, IEnumerable<string> items)
    {
        var list = string.Join(", ", items);
        return !known ? "-" : list.Length == 0 ? "none" : list;
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
        static double? Sum(GroupStats g, ValueCounts v) => g.TextKnown ? v.Sum : null;
        static double? Known(long v, bool known) => known ? v : null;

        // A source missing from a build is 0 records there only if every record of it names its source (carries meta).
        static double? SourceRecords(DatasetStats s, string source) =>
            s.BySource.GetValueOrDefault(source)?.Records ?? (s.Overall.MetaRecords == s.Overall.Records ? 0 : null);
        var (oa, ob) = (a.Overall, b.Overall);
        Row("records", oa.Records, ob.Records);
        Row("turns", Sum(oa, oa.TurnsPerRecord), Sum(ob, ob.TurnsPerRecord));
        Row("images", Known(oa.ImagesPerRecord.Sum, oa.ImagesKnown), Known(ob.ImagesPerRecord.Sum, ob.ImagesKnown));
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
            Row($"answers: {kind}", Known(oa.AnswerKinds[kind], oa.TextKnown), Known(ob.AnswerKinds[kind], ob.TextKnown));
        }

        Row("rejects", (long?)a.Manifest["rejects"], (long?)b.Manifest["rejects"]);
        Row("rewritten records", Known(oa.RewrittenRecords, oa.RewrittenKnown), Known(ob.RewrittenRecords, ob.RewrittenKnown));
        foreach (var source in a.BySource.Keys.Union(b.BySource.Keys).Order(StringComparer.Ordinal))
        {
            Row($"source {source}: records", SourceRecords(a, source), SourceRecords(b, source));
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
            I($"A: {a.Folder} ({Shown(a.Manifest["name"])}, {Shown(a.Manifest["format"])})"),
            I($"B: {b.Folder} ({Shown(b.Manifest["name"])}, {Shown(b.Manifest["format"])})"),
            I($"{"figure".PadRight(width)}  {"A".PadLeft(wa)}  {"B".PadLeft(wb)}  B-A"),
        };
        lines.AddRange(rows.Select(r => I($"{r.Figure.PadRight(width)}  {r.A.PadLeft(wa)}  {r.B.PadLeft(wb)}  {r.Change}")));
        var pairs = HistogramPairs(a.Overall, b.Overall);
        lines.Add("answer tokens histogram (A | B): " + (pairs.Count == 0 ? "-" : string.Join(", ", pairs.Select(p => I($"{p.Label}: {Shown(p.A)} | {Shown(p.B)}")))));
        lines.Add("percentiles: " + PercentileMethod);
        return lines;
    }

    /// <summary>A manifest value as shown: its text, or "-" when the manifest does not give it.</summary>
    public static string Shown(JsonNode? v) => v?.ToString() ?? "-";

    /// <summary>A count as shown: the number, or "-" when not known.</summary>
    public static string Shown(long? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "-";

    /// <summary>Both answer-token histograms over the same buckets; a side whose answers are not known (a template build) is null in every bucket, not 0.</summary>
    public static IReadOnlyList<(string Label, long? A, long? B)> HistogramPairs(GroupStats a, GroupStats b)
    {
        var (va, vb) = (a.AnswerTokens, b.AnswerTokens);
        var ba = va.N == 0 ? [] : va.Buckets();
        var bb = vb.N == 0 ? [] : vb.Buckets();
        var longer = ba.Count >= bb.Count ? ba : bb;
        return [.. longer.Select((x, i) => (x.Label, a.TextKnown ? (long?)(i < ba.Count ? ba[i].Count : 0) : null, b.TextKnown ? (long?)(i < bb.Count ? bb[i].Count : 0) : null))];
    }
}
