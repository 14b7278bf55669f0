namespace MllmData.ModelCalls;

/// <summary>Prompt token counts with the o200k tokenizer, plus image tokens by OpenAI's published rule.</summary>
public sealed class TokenCounter
{
    // Per-message framing tokens in the chat format (role and separators), and the reply primer.
    private const int PerMessage = 3;
    private const int ReplyPrimer = 3;

    /// <summary>Longest run of characters merged as one piece (see <see cref="Text"/>).</summary>
    internal const int PieceChars = O200kCounter.MaxPieceChars;

    /// <summary>
    /// The o200k token count of <paramref name="text"/>: the tokenizer's own count, except that one unbroken piece longer
    /// than <see cref="PieceChars"/> characters (a pasted blob, a hostile field) is merged in slices of that length, a token
    /// or so off per slice. Byte-pair merging one piece takes memory in step with its length: a 3 MB run had kept a build
    /// busy for more than ten minutes with the library's tokenizer.
    /// </summary>
    public static int Text(string text) => O200kCounter.Shared.CountTokens(text);

    public static int Prompt(ChatRequest request)
    {
        var total = ReplyPrimer;
        foreach (var m in request.Messages)
        {
            total += PerMessage + Text(m.Role) + Text(m.Text);
            total += m.Images.Sum(i => Image(i.Width, i.Height, lowDetail: true));
        }

        return total;
    }

    /// <summary>
    /// Low detail: a flat 85. High detail: fit within 2048×2048, scale the short side to 768, then 170 per
    /// 512-pixel tile plus 85.
    /// </summary>
    public static int Image(int width, int height, bool lowDetail)
    {
        if (lowDetail || width <= 0 || height <= 0)
        {
            return 85;
        }

        double w = width, h = height;
        var fit = Math.Min(1.0, 2048.0 / Math.Max(w, h));
        w *= fit;
        h *= fit;
        var shortScale = Math.Min(1.0, 768.0 / Math.Min(w, h));
        w *= shortScale;
        h *= shortScale;
        var tiles = (int)Math.Ceiling(w / 512) * (int)Math.Ceiling(h / 512);
        return 85 + (170 * tiles);
    }
}
