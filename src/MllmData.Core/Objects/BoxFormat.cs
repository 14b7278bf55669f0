using System.Globalization;
using System.Text;

namespace MllmData.Objects;

/// <summary>
/// Writes COCO boxes (<c>[x, y, w, h]</c> in pixels) for instructions and answers. The corners are
/// <c>x1 = x</c>, <c>y1 = y</c>, <c>x2 = x + w</c>, <c>y2 = y + h</c>, clamped to the image; then:
/// <list type="bullet">
/// <item><c>unit</c>: <c>[x1, y1, x2, y2]</c> as fractions of the width and height, with a fixed number of decimals;</item>
/// <item><c>qwen</c>: <c>&lt;box&gt;(x1,y1),(x2,y2)&lt;/box&gt;</c>, each fraction times 1000 as a whole number (Qwen-VL's grounding format);</item>
/// <item><c>pixel</c>: <c>[x1, y1, x2, y2]</c> in whole pixels.</item>
/// </list>
/// Arithmetic is in decimal and rounding is half away from zero, so 0.1235 becomes 0.124 as a person working it
/// out by hand would write it (binary floating point would give 0.123).
/// </summary>
public sealed class BoxFormat
{
    public const string Unit = "unit";
    public const string Qwen = "qwen";
    public const string Pixel = "pixel";

    public static readonly IReadOnlyList<string> Styles = [Unit, Qwen, Pixel];

    public BoxFormat(string style, int decimals)
    {
        if (!Styles.Contains(style))
        {
            throw new ArgumentOutOfRangeException(nameof(style), style, "unit, qwen or pixel");
        }

        Style = style;
        Decimals = decimals;
    }

    public string Style { get; }

    public int Decimals { get; }

    /// <summary>How the box is written, for instructions that explain it.</summary>
    public string Description => Style switch
    {
        Unit => "[x1, y1, x2, y2] with coordinates from 0 to 1",
        Qwen => "<box>(x1,y1),(x2,y2)</box> with coordinates from 0 to 1000",
        _ => "[x1, y1, x2, y2] in pixels",
    };

    /// <summary>The corners clamped to the image, in pixels; null when nothing of the box is inside the image.</summary>
    public static (decimal X1, decimal Y1, decimal X2, decimal Y2)? Corners(double x, double y, double w, double h, int width, int height)
    {
        decimal W = width, H = height;
        var x1 = Math.Clamp(ToDecimal(x), 0m, W);
        var y1 = Math.Clamp(ToDecimal(y), 0m, H);
        var x2 = Math.Clamp(ToDecimal(x) + ToDecimal(w), 0m, W);
        var y2 = Math.Clamp(ToDecimal(y) + ToDecimal(h), 0m, H);
        return x2 > x1 && y2 > y1 ? (x1, y1, x2, y2) : null;
    }

    /// <summary>A JSON number as written in the file (COCO writes at most a few decimals), as a decimal.</summary>
    private static decimal ToDecimal(double v) => decimal.Parse(v.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>One box in this style; callers check <see cref="Corners"/> first.</summary>
    public string Format(double x, double y, double w, double h, int width, int height)
    {
        var (x1, y1, x2, y2) = Corners(x, y, w, h, width, height) ?? throw new ArgumentException("the box lies outside the image");
        var inv = CultureInfo.InvariantCulture;
        switch (Style)
        {
            case Unit:
                {
                    var f = "F" + Decimals.ToString(inv);
                    string U(decimal v, int size) => Math.Round(v / size, Decimals, MidpointRounding.AwayFromZero).ToString(f, inv);
                    return $"[{U(x1, width)}, {U(y1, height)}, {U(x2, width)}, {U(y2, height)}]";
                }

            case Qwen:
                {
                    string Q(decimal v, int size) => Math.Round(v * 1000m / size, 0, MidpointRounding.AwayFromZero).ToString("0", inv);
                    return $"<box>({Q(x1, width)},{Q(y1, height)}),({Q(x2, width)},{Q(y2, height)})</box>";
                }

            default:
                {
                    static string P(decimal v) => Math.Round(v, 0, MidpointRounding.AwayFromZero).ToString("0", CultureInfo.InvariantCulture);
                    return $"[{P(x1)}, {P(y1)}, {P(x2)}, {P(y2)}]";
                }
        }
    }

    /// <summary>Several boxes: qwen tags one after another, the bracketed styles separated by ", ".</summary>
    public string Join(IEnumerable<string> boxes)
    {
        var sb = new StringBuilder();
        foreach (var b in boxes)
        {
            if (sb.Length > 0 && Style != Qwen)
            {
                sb.Append(", ");
            }

            sb.Append(b);
        }

        return sb.ToString();
    }
}
