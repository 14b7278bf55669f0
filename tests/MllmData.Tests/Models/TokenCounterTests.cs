using System.Text.Json;
using Microsoft.ML.Tokenizers;
using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

/// <summary>o200k counts: long texts in pieces that add up to the tokenizer's own count, and a long unbroken run in bounded time.</summary>
public class TheTokenCounterOnLongTexts
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    [Fact]
    public void A_Long_Text_Counted_In_Pieces_Gives_The_Tokenizers_Own_Count()
    {
        // Every caption of the real COCO file, joined into one text of many pieces (lines, double spaces, punctuation).
        using var coco = JsonDocument.Parse(File.ReadAllBytes(TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json")));
        var captions = coco.RootElement.GetProperty("annotations").EnumerateArray().Select(a => a.GetProperty("caption").GetString()!).ToList();
        var text = string.Join("  \n", captions) + " " + string.Join("  ", captions);
        Assert.True(text.Length > 20_000);

        Assert.Equal(O200k.CountTokens(text), TokenCounter.Text(text));
        Assert.Equal(O200k.CountTokens(captions[0]), TokenCounter.Text(captions[0]));
    }

    [Fact]
    public void A_Run_Without_Spaces_Is_Cut_Every_Piece()
    {
        // One megabyte of a single letter: the tokenizer alone had needed minutes for three; counted in whole pieces here.
        var run = new string('x', 1_000_000);
        var pieces = run.Length / TokenCounter.PieceChars;
        var rest = run.Length % TokenCounter.PieceChars;
        var expected = (pieces * O200k.CountTokens(run[..TokenCounter.PieceChars])) + O200k.CountTokens(run[..rest]);

        Assert.Equal(expected, TokenCounter.Text(run));

        // A space ends a piece early: the cut goes before it.
        var spaced = new string('y', TokenCounter.PieceChars - 10) + " " + new string('z', 20);
        Assert.Equal(O200k.CountTokens(spaced[..(TokenCounter.PieceChars - 10)]) + O200k.CountTokens(spaced[(TokenCounter.PieceChars - 10)..]), TokenCounter.Text(spaced));
    }
}
