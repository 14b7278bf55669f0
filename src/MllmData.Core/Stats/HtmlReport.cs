using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MllmData.Stats;

/// <summary>
/// One self-contained HTML file: no script, no network, charts as inline SVG written here, thumbnails as JPEG data URLs.
/// Every text from the build (records, names, manifest values) is HTML-encoded: records are untrusted input.
/// </summary>
public sealed class HtmlReport(string? imageRoot)
{
    public const int ThumbnailSide = 160;

    /// <summary>Image files larger than this are not opened for thumbnails.</summary>
    public const long MaxImageBytes = 20 << 20;

    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;

    private static readonly Configuration Images = new(new JpegConfigurationModule(), new PngConfigurationModule())
    {
        MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { AllocationLimitMegabytes = 256 }),
    };

    private const string Style = """
        body{font-family:system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff;max-width:1200px}
        h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d8dce5}h3{font-size:15px}
        table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d8dce5;padding:3px 8px;text-align:right}
        th{background:#eef1f6}td.l,th.l{text-align:left}
        .charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #e3e6ee;padding:6px}
        .rec{border:1px solid #d8dce5;margin:8px 0;padding:8px;display:flex;gap:12px}
        .rec img{max-width:160px;max-height:160px;border:1px solid #ccc}.q{color:#244b8c}.a{color:#1d6b36}
        .msg{white-space:pre-wrap;margin:2px 0}.small{color:#5b6475;font-size:12px}
        """;

    public string Render(DatasetStats s)
    {
        var sb = new StringBuilder();
        Head(sb, $"mllmdata stats: {s.Manifest["name"]}");
        Body(sb, s, null);
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    public string RenderComparison(DatasetStats a, DatasetStats b)
    {
        var sb = new StringBuilder();
        Head(sb, $"mllmdata stats: {a.Manifest["name"]} vs {b.Manifest["name"]}");
        sb.Append("<h2>A and B side by side</h2><p class=\"small\">A: ").Append(E(a.Folder)).Append("<br>B: ").Append(E(b.Folder)).Append("</p>");
        sb.Append("<table><tr><th class=\"l\">figure</th><th>A</th><th>B</th><th>B&minus;A</th></tr>");
        foreach (var (figure, x, y, change) in StatsReport.CompareRows(a, b))
        {
            sb.Append("<tr><td class=\"l\">").Append(E(figure)).Append("</td><td>").Append(E(x)).Append("</td><td>").Append(E(y)).Append("</td><td>").Append(E(change)).Append("</td></tr>");
        }

        sb.Append("</table><div class=\"charts\">");
        var pairs = StatsReport.HistogramPairs(a.Overall, b.Overall);
        if (pairs.Count > 0)
        {
            sb.Append(PairChart("answer tokens (o200k): A blue, B orange", pairs));
        }

        sb.Append("</div>");
        foreach (var (side, s) in new[] { ("A", a), ("B", b) })
        {
            if (s.TextUnknownWhy is { } why)
            {
                sb.Append("<p>").Append(E($"{side}: {why}; its side of the answer-token chart says -.")).Append("</p>");
            }
        }

        sb.Append("<h1>A</h1>");
        Body(sb, a, "A: ");
        sb.Append("<h1>B</h1>");
        Body(sb, b, "B: ");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static void Head(StringBuilder sb, string title)
    {
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">")
            .Append("<title>").Append(E(title)).Append("</title><style>").Append(Style).Append("</style></head><body>\n");
    }

    private void Body(StringBuilder sb, DatasetStats s, string? prefix)
    {
        var m = s.Manifest;
        var o = s.Overall;
        sb.Append("<h1>").Append(E(prefix + $"{m["name"]}")).Append("</h1>");
        sb.Append("<p class=\"small\">").Append(E($"{s.Folder} · format {StatsReport.Shown(m["format"])} · container {StatsReport.Shown(m["container"])} · tool {StatsReport.Shown(m["tool_version"])} · seed {StatsReport.Shown(m["seed"])}")).Append("</p>");
        if (!s.Overall.TextKnown)
        {
            sb.Append("<p>").Append(E($"{m["format"]} lines cannot be read back into turns; text figures are left out.")).Append("</p>");
        }

        sb.Append("<h2>Summary</h2><table>");
        Row(sb, "records", o.Records);
        Row(sb, "turns", GroupStats.Count(o.TurnsPerRecord.Sum, o.TextKnown));
        Row(sb, "images", GroupStats.Count(o.ImagesPerRecord.Sum, o.ImagesKnown));
        Row(sb, "rejects", StatsReport.Shown((long?)m["rejects"]));
        Row(sb, "answers of ≤3 words", o.ShortText);
        Row(sb, "yes share of yes/no answers", o.TextKnown ? I($"{o.YesPercent} ({o.AnswerKinds[AnswerKind.Yes]} yes, {o.AnswerKinds[AnswerKind.No]} no)") : "-");
        Row(sb, "questions not recovered from their template", o.UnrecoveredText);
        Row(sb, "records rewritten by a model", o.RewrittenText);
        sb.Append("</table>");

        sb.Append("<h2>Lengths (o200k tokens)</h2>");
        if (s.TokensSampled && o.TextKnown)
        {
            sb.Append(I($"<p>Token lengths of {s.TokenRecords} of the {o.Records} records (those with the smallest hash of their id); the other figures count every record.</p>"));
        }

        // A row whose values could not be counted says "-" in every cell (n too); a row with no values says n 0 and "-".
        sb.Append("<table><tr><th class=\"l\">text</th><th>n</th><th>mean</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>");
        foreach (var (name, v, known) in new[] { ("instruction", o.InstructionTokens, o.TextKnown), ("question", o.QuestionTokens, o.UnrecoveredKnown), ("answer", o.AnswerTokens, o.TextKnown), ("turns per record", o.TurnsPerRecord, o.TextKnown), ("images per record", o.ImagesPerRecord, o.ImagesKnown), ("image long side (px)", s.ImageLongSide, s.ImageSizesKnown) })
        {
            sb.Append("<tr><td class=\"l\">").Append(E(name)).Append("</td>").Append(I($"<td>{GroupStats.Count(v.N, known)}</td><td>{GroupStats.Mean(v)}</td>"));
            foreach (var cell in new[] { v.N == 0 ? "-" : I($"{v.Min}"), GroupStats.Percentile(v, 50), GroupStats.Percentile(v, 90), GroupStats.Percentile(v, 99), v.N == 0 ? "-" : I($"{v.Max}") })
            {
                sb.Append("<td>").Append(cell).Append("</td>");
            }

            sb.Append("</tr>");
        }

        sb.Append("</table>");
        foreach (var why in new[]
        {
            s.TextUnknownWhy is { } text ? $"Instruction, question, answer, turns: {text}." : null,
            o.TextKnown && !o.UnrecoveredKnown ? "Question: no turn names the template that wrote it (meta.templates), so the question cannot be told apart from the rest of the instruction." : null,
            s.ImageSizesUnknownWhy is { } sizes ? $"Image long side: {sizes}." : null,
            s.ImageLongSide.N > 0 && s.ImagesWithoutSize > 0 ? I($"Image long side: {s.ImageLongSide.N} of the {s.ImageLongSide.N + s.ImagesWithoutSize} images have a size in their record's meta; the other {s.ImagesWithoutSize} are not counted in it.") : null,
        }.OfType<string>())
        {
            sb.Append("<p>").Append(E(why)).Append("</p>");
        }

        sb.Append("<p class=\"small\">").Append(E("Percentiles: " + StatsReport.PercentileMethod)).Append("</p><div class=\"charts\">");
        foreach (var (name, v) in new[] { ("answer tokens", o.AnswerTokens), ("question tokens", o.QuestionTokens), ("instruction tokens", o.InstructionTokens), ("turns per record", o.TurnsPerRecord) })
        {
            if (v.N > 0)
            {
                sb.Append(BarChart(name, [.. v.Buckets().Select(b => (b.Label, b.Count))]));
            }
        }

        if (o.TextKnown && o.Answers > 0)
        {
            sb.Append(BarChart("answer kinds", [.. o.AnswerKinds.Select(kv => (kv.Key, kv.Value))]));
        }

        if (o.Records > 0)
        {
            sb.Append(BarChart("records per source", [.. s.BySource.Select(kv => (kv.Key, kv.Value.Records))]));
            sb.Append(BarChart("records per task", [.. s.ByTask.Select(kv => (kv.Key, kv.Value.Records))]));
        }

        sb.Append("</div>");

        sb.Append("<h2>Per source</h2>");
        GroupTable(sb, s.BySource);
        sb.Append("<h2>Per task</h2>");
        GroupTable(sb, s.ByTask);

        sb.Append("<h2>Most frequent answers</h2>");
        var topAnswers = s.TopAnswers.Top(StatsReport.TopAnswersShown);
        var templates = s.Templates.Top(StatsReport.TemplatesShown);

        // A list that could not be seen, or has nothing in it, says so in words instead of an empty chart.
        foreach (var why in new[]
        {
            s.TextUnknownWhy is { } text ? $"Answers and templates: {text}." : null,
            o.Records == 0 ? "The build has no records." : null,
            o.TextKnown && o.Records > 0 && topAnswers.Count == 0 ? "Answers: no record has an answer." : null,
            o.TextKnown && !s.TemplatesKnown ? "Templates: no record carries meta (built with --no-meta, or a format that leaves it out), so the templates are not known." : null,
            s.TemplatesKnown && o.Records > 0 && templates.Count == 0 ? "Templates: no turn names a template (the records were kept as written)." : null,
        }.OfType<string>())
        {
            sb.Append("<p>").Append(E(why)).Append("</p>");
        }

        sb.Append("<div class=\"charts\">");
        if (topAnswers.Count > 0)
        {
            sb.Append(BarChart("top answers" + (s.TopAnswers.Exact ? string.Empty : " (approximate)"), [.. topAnswers.Select(t => (t.Key, t.Count))]));
        }

        if (templates.Count > 0)
        {
            sb.Append(BarChart("templates" + (s.Templates.Exact ? string.Empty : " (approximate)"), [.. templates.Select(t => (t.Key, t.Count))]));
        }

        sb.Append("</div>");

        sb.Append("<h2>Images, rejects and model use</h2><table>");
        if (m["images"] is JsonObject stage)
        {
            foreach (var (k, v) in stage)
            {
                Row(sb, "image stage: " + k, v is JsonObject r ? Compact(r) : v?.ToString() ?? string.Empty);
            }
        }

        Row(sb, "rejects by reason", m["rejects_by_reason"] is null ? "-" : Compact(m["rejects_by_reason"] as JsonObject));
        foreach (var section in new[] { "rewrite", "self_instruct", "usage" })
        {
            if (m[section] is JsonObject sec)
            {
                Row(sb, section, Compact(sec));
            }
        }

        sb.Append("</table>");
        sb.Append("<h2>Sample records</h2>");
        if (s.Samples.Count == 0)
        {
            sb.Append("<p>The build has no records.</p>");
        }

        foreach (var (source, records) in s.Samples)
        {
            sb.Append("<h3>").Append(E(source)).Append("</h3>");
            foreach (var r in records)
            {
                Sample(sb, s, r);
            }
        }
    }

    private void Sample(StringBuilder sb, DatasetStats s, RecordView r)
    {
        sb.Append("<div class=\"rec\"><div>");
        foreach (var image in r.Images.Take(4))
        {
            if (Thumbnail(s, image) is { } url)
            {
                sb.Append("<img alt=\"").Append(E(image.Path)).Append("\" src=\"").Append(url).Append("\">");
            }
            else
            {
                sb.Append("<p class=\"small\">").Append(E($"image not reachable: {image.Path}")).Append("</p>");
            }
        }

        sb.Append("</div><div><div class=\"small\">").Append(E(r.Id)).Append("</div>");
        if (!r.TurnsKnown)
        {
            sb.Append("<div class=\"small\">").Append(E($"{s.Manifest["format"]} lines cannot be read back into turns: the text is not shown.")).Append("</div>");
        }

        foreach (var t in r.Turns)
        {
            sb.Append("<div class=\"msg q\">").Append(E(t.Input is null ? t.Instruction : t.Instruction + "\n" + t.Input)).Append("</div>");
            if (t.Answer is not null)
            {
                sb.Append("<div class=\"msg a\">").Append(E(t.Answer)).Append("</div>");
            }
        }

        sb.Append("</div></div>");
    }

    /// <summary>A small JPEG data URL of the image, or null when it cannot be reached or read (URLs are never fetched).</summary>
    private string? Thumbnail(DatasetStats s, ImageView image)
    {
        byte[]? bytes = image.Bytes;
        if (bytes is null)
        {
            if (image.Path.Contains("://", StringComparison.Ordinal) || image.Path.StartsWith("data:", StringComparison.Ordinal) || image.Path.Contains('\0', StringComparison.Ordinal))
            {
                return null;
            }

            var candidates = new[] { imageRoot, s.Folder, Path.Combine(s.Folder, "images") }.OfType<string>().Select(root => Path.Combine(root, image.Path));
            var file = candidates.FirstOrDefault(File.Exists);
            if (file is null || new FileInfo(file).Length > MaxImageBytes)
            {
                return null;
            }

            bytes = File.ReadAllBytes(file);
        }

        try
        {
            var info = Image.Identify(Images, bytes, out IImageFormat _);
            if (info is null || (long)info.Width * info.Height > 40_000_000)
            {
                return null;
            }

            using var img = Image.Load<Rgb24>(Images, bytes);
            img.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(ThumbnailSide, ThumbnailSide), Mode = ResizeMode.Max }));
            using var ms = new MemoryStream();
            img.SaveAsJpeg(ms, new JpegEncoder { Quality = 75 });
            return "data:image/jpeg;base64," + Convert.ToBase64String(ms.ToArray());
        }
        catch (Exception ex) when (ex is UnknownImageFormatException or InvalidImageContentException or ImageFormatException or NotSupportedException or InvalidMemoryOperationException)
        {
            return null;
        }
    }

    private static void GroupTable(StringBuilder sb, SortedDictionary<string, GroupStats> groups)
    {
        if (groups.Count == 0)
        {
            sb.Append("<p>The build has no records.</p>");
            return;
        }

        sb.Append("<table><tr><th class=\"l\">name</th><th>records</th><th>turns/record</th><th>images/record</th><th>answer tokens p50</th><th>mean</th><th>p90</th><th>≤3 words</th><th>yes share</th><th>yes</th><th>no</th><th>number</th><th>letter</th><th>other</th></tr>");
        foreach (var (name, g) in groups)
        {
            sb.Append("<tr><td class=\"l\">").Append(E(name)).Append("</td>")
                .Append(I($"<td>{g.Records}</td><td>{GroupStats.Mean(g.TurnsPerRecord)}</td><td>{GroupStats.Mean(g.ImagesPerRecord)}</td><td>{GroupStats.Percentile(g.AnswerTokens, 50)}</td><td>{GroupStats.Mean(g.AnswerTokens)}</td><td>{GroupStats.Percentile(g.AnswerTokens, 90)}</td><td>{g.ShortPercent}</td><td>{g.YesPercent}</td>"))
                .Append(string.Concat(AnswerKind.All.Select(k => $"<td>{g.KindCount(k)}</td>"))).Append("</tr>");
        }

        sb.Append("</table>");
    }

    /// <summary>A horizontal bar chart as inline SVG: one labelled bar per item, the count at its end.</summary>
    public static string BarChart(string title, IReadOnlyList<(string Label, long Count)> items)
    {
        const int labelWidth = 150, barWidth = 260, rowHeight = 18;
        var max = Math.Max(1, items.Count == 0 ? 1 : items.Max(i => i.Count));
        var height = 24 + (Math.Max(1, items.Count) * rowHeight);
        var sb = new StringBuilder();
        sb.Append(I($"<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{labelWidth + barWidth + 70}\" height=\"{height}\" role=\"img\">"));
        sb.Append("<text x=\"0\" y=\"14\" font-size=\"13\" font-weight=\"bold\">").Append(E(title)).Append("</text>");
        for (var i = 0; i < items.Count; i++)
        {
            var (label, count) = items[i];
            var y = 24 + (i * rowHeight);
            var w = (int)Math.Round((double)count / max * barWidth);
            var shown = label.Length > 22 ? label[..21] + "…" : label;
            sb.Append(I($"<text x=\"{labelWidth - 4}\" y=\"{y + 13}\" font-size=\"11\" text-anchor=\"end\">")).Append(E(shown)).Append("</text>");
            sb.Append(I($"<rect x=\"{labelWidth}\" y=\"{y + 2}\" width=\"{w}\" height=\"{rowHeight - 4}\" fill=\"#3d6fc4\"/>"));
            sb.Append(I($"<text x=\"{labelWidth + w + 4}\" y=\"{y + 13}\" font-size=\"11\">{count}</text>"));
        }

        sb.Append("</svg></div>");
        return sb.ToString();
    }

    /// <summary>Two bars per bucket, A and B; a side that is not known (null) draws no bar and says "-".</summary>
    private static string PairChart(string title, IReadOnlyList<(string Label, long? A, long? B)> items)
    {
        const int labelWidth = 80, barWidth = 300, rowHeight = 24;
        var max = Math.Max(1, items.Count == 0 ? 1 : items.Max(i => Math.Max(i.A ?? 0, i.B ?? 0)));
        var sb = new StringBuilder();
        sb.Append(I($"<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{labelWidth + barWidth + 70}\" height=\"{24 + (Math.Max(1, items.Count) * rowHeight)}\" role=\"img\">"));
        sb.Append("<text x=\"0\" y=\"14\" font-size=\"13\" font-weight=\"bold\">").Append(E(title)).Append("</text>");
        for (var i = 0; i < items.Count; i++)
        {
            var (label, a, b) = items[i];
            var y = 24 + (i * rowHeight);
            var wa = (int)Math.Round((double)(a ?? 0) / max * barWidth);
            var wb = (int)Math.Round((double)(b ?? 0) / max * barWidth);
            sb.Append(I($"<text x=\"{labelWidth - 4}\" y=\"{y + 15}\" font-size=\"11\" text-anchor=\"end\">")).Append(E(label)).Append("</text>");
            sb.Append(I($"<rect x=\"{labelWidth}\" y=\"{y + 2}\" width=\"{wa}\" height=\"9\" fill=\"#3d6fc4\"/><text x=\"{labelWidth + wa + 4}\" y=\"{y + 10}\" font-size=\"9\">{StatsReport.Shown(a)}</text>"));
            sb.Append(I($"<rect x=\"{labelWidth}\" y=\"{y + 12}\" width=\"{wb}\" height=\"9\" fill=\"#e08a2c\"/><text x=\"{labelWidth + wb + 4}\" y=\"{y + 20}\" font-size=\"9\">{StatsReport.Shown(b)}</text>"));
        }

        sb.Append("</svg></div>");
        return sb.ToString();
    }

    private static void Row(StringBuilder sb, string name, object value) =>
        sb.Append("<tr><td class=\"l\">").Append(E(name)).Append("</td><td class=\"l\">").Append(E(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty)).Append("</td></tr>");

    private static string Compact(JsonObject? o) => o is null || o.Count == 0 ? "none" : string.Join(", ", o.Select(kv => $"{kv.Key}: {kv.Value?.ToJsonString() ?? "null"}"));

    private static string E(string? s) => Encoder.Encode(s ?? string.Empty);

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
