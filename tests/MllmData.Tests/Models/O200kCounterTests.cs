using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

/// <summary>
/// The compact o200k counter against Microsoft.ML.Tokenizers' own TiktokenTokenizer (CountTokens, o200k_base), the
/// reference it reproduces: every text of the real fixtures, and texts made to reach each branch of the pattern and the merge.
/// </summary>
public class TheCompactO200kCounter
{
    private static readonly Tokenizer Reference = TiktokenTokenizer.CreateForEncoding("o200k_base");

    /// <summary>Every string value of the real annotation and reference files (questions, answers, captions, rationales, lectures).</summary>
    public static IEnumerable<string> FixtureTexts()
    {
        string[][] files =
        [
            ["coco-mini", "annotations", "captions_val2017.json"],
            ["okvqa", "OpenEnded_mscoco_val2014_questions.json"],
            ["textvqa", "hf-dummy", "TextVQA_0.5.1_train.json"],
            ["scienceqa", "llava_test_CQM-A.json"],
            ["scienceqa", "captions.json"],
            ["reference-outputs", "llama-factory", "mllm_demo.json"],
        ];
        foreach (var parts in files)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.RealFile(parts)));
            foreach (var s in Strings(doc.RootElement))
            {
                yield return s;
            }
        }

        foreach (var line in File.ReadLines(TestPaths.RealFile("gqa", "llava_gqa_testdev_balanced.jsonl")).Concat(File.ReadLines(TestPaths.RealFile("reference-outputs", "llava", "qa90_gpt4_answer.jsonl"))))
        {
            using var doc = JsonDocument.Parse(line);
            foreach (var s in Strings(doc.RootElement))
            {
                yield return s;
            }
        }
    }

    private static IEnumerable<string> Strings(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                yield return e.GetString()!;
                break;
            case JsonValueKind.Array:
                foreach (var x in e.EnumerateArray().SelectMany(Strings))
                {
                    yield return x;
                }

                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    yield return p.Name;
                    foreach (var x in Strings(p.Value))
                    {
                        yield return x;
                    }
                }

                break;
        }
    }

    [Fact]
    public void Every_Fixture_Text_Counts_As_The_Library_Counts_It()
    {
        var texts = FixtureTexts().Distinct().ToList();
        Assert.True(texts.Count > 20_000, $"{texts.Count} texts");
        var wrong = texts.Where(t => O200kCounter.Shared.CountTokens(t) != Reference.CountTokens(t)).Take(5).ToList();
        Assert.Empty(wrong);

        // The very tokens, not only their number: the merges go in the library's order.
        var otherIds = texts.Where(t => !O200kCounter.Shared.EncodeToIds(t).SequenceEqual(Reference.EncodeToIds(t))).Take(5).ToList();
        Assert.Empty(otherIds);

        // And all of them as one text, so the totals are compared too.
        var all = string.Join("\n", texts.Take(3000));
        Assert.Equal(Reference.CountTokens(all), O200kCounter.Shared.CountTokens(all));
        Assert.True(O200kCounter.Shared.CountTokens(all) > 30_000);
    }

    public static TheoryData<string> Crafted() =>
    [
        "",
        "a",
        " ",
        "What color is the bus?",
        "HELLO World's DON'T they'll I'M we'VE",
        "1234567 12 3.14159 ٣٤٥ ⅷ",
        "  leading and trailing  ",
        "line one\r\nline two\n\n\n   \t indented",
        "trailing spaces then newline    \n",
        "東京タワーの写真です。これは何ですか？",
        "Привет, как дела? Ünïcödé façade naïve",
        "e\u0301 combining marks a\u0308\u0308",
        "emoji 🚌🚌 👩‍👩‍👧 flags 🇫🇷",
        "<|endoftext|>",
        "before<|endoftext|>after <|endofprompt|> and <|endoftext|><|endoftext|>",
        "<|endoftext partial <|endofprompt",
        "lone \ud800 surrogate and \udc00 low",
        "http://example.com/a/b/c?x=1&y=2 //// ... !!! ???",
        "tabs\t\t\tand\u00a0no-break\u2003em spaces",
        "ﬁ ligature Ǆ title-case ǅx ᾈ",
        "mixedCASEwordsLikeThisOne andSoOn",
        "x's X'S x'Ll Y'D",
    ];

    [Theory]
    [MemberData(nameof(Crafted))]
    public void A_Crafted_Text_Counts_As_The_Library_Counts_It(string text)
    {
        Assert.Equal(Reference.CountTokens(text), O200kCounter.Shared.CountTokens(text));
        Assert.Equal(Reference.EncodeToIds(text), O200kCounter.Shared.EncodeToIds(text));
    }

    [Fact]
    public void Long_Runs_Merge_As_The_Library_Merges_Them()
    {
        // One piece of hundreds of bytes: hundreds of merges through the queue, in the library's order.
        foreach (var run in new[] { new string('a', 300) + " " + new string('b', 600) + " " + new string('c', 200), new string('x', 700), string.Concat(Enumerable.Repeat("ab", 300)), string.Concat(Enumerable.Repeat("漢字", 200)), new string('9', 500), string.Concat(Enumerable.Repeat("!?", 250)) })
        {
            Assert.Equal(Reference.CountTokens(run), O200kCounter.Shared.CountTokens(run));
            Assert.Equal(Reference.EncodeToIds(run), O200kCounter.Shared.EncodeToIds(run));
        }
    }

    [Fact]
    public void A_Special_Token_Is_One_Token_And_Splits_The_Text()
    {
        var counter = O200kCounter.Shared;
        Assert.Equal(1, counter.CountTokens("<|endoftext|>"));
        Assert.Equal(1, counter.CountTokens("<|endofprompt|>"));
        Assert.Equal(counter.CountTokens("ab") + 1 + counter.CountTokens("cd"), counter.CountTokens("ab<|endoftext|>cd"));
        Assert.True(counter.CountTokens("<|endoftext") > 1);
        Assert.Equal([199_999, 200_018], counter.EncodeToIds("<|endoftext|><|endofprompt|>"));
    }

    [Fact]
    public void The_Vocabulary_Is_Read_Whole_And_Held_In_Flat_Arrays()
    {
        var counter = O200kCounter.Shared;
        Assert.Equal(199_998, counter.Count);

        // Every byte alone is a token, and ranks are the lines' numbers: the first lines are "!", "\"", "#".
        for (var b = 0; b < 256; b++)
        {
            Assert.True(counter.Rank([(byte)b]) >= 0, $"byte {b}");
        }

        Assert.Equal(0, counter.Rank("!"u8));
        Assert.Equal(1, counter.Rank("\""u8));
        Assert.Equal(2, counter.Rank("#"u8));
        Assert.Equal(-1, counter.Rank([]));
        Assert.Equal(-1, counter.Rank(Encoding.UTF8.GetBytes(new string('q', 300))));

        // A word the library encodes as one token has a rank here, the same id.
        var ids = Reference.EncodeToIds(" the");
        Assert.Single(ids);
        Assert.Equal(ids[0], counter.Rank(" the"u8));

        // The tokens' bytes (about 1.3 MB), their starts (0.8 MB) and a table of 2^19 ranks (2 MB), nothing per token.
        Assert.InRange(counter.HeldBytes, 4L << 20, 8L << 20);
    }

    [Fact]
    public void A_Fresh_Load_Gives_The_Same_Vocabulary()
    {
        // The shared counter is made once a process; this reads the package again, so the loading itself is checked.
        var fresh = O200kCounter.Load();
        Assert.NotSame(O200kCounter.Shared, fresh);
        Assert.Equal(199_998, fresh.Count);
        Assert.Equal(O200kCounter.Shared.HeldBytes, fresh.HeldBytes);
        Assert.Equal(0, fresh.Rank("!"u8));
        Assert.Equal(Reference.EncodeToIds(" the"), [fresh.Rank(" the"u8)]);
        const string text = "Two dogs play with a frisbee on the beach; 12,345 waves.";
        Assert.Equal(Reference.EncodeToIds(text), fresh.EncodeToIds(text));
    }

    [Fact]
    public void A_Piece_Counts_Its_Merged_Parts()
    {
        var counter = O200kCounter.Shared;
        Assert.Equal(0, counter.CountPiece([]));
        Assert.Equal(1, counter.CountPiece([0xFF]));
        Assert.Equal(1, counter.CountPiece(" the"u8));

        // A piece given as bytes: the same merges as the text it encodes.
        var piece = Encoding.UTF8.GetBytes(new string('x', 700));
        Assert.Equal(Reference.CountTokens(new string('x', 700)), counter.CountPiece(piece));
    }
}
