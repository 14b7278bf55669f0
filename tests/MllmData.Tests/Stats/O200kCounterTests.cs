using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using MllmData.Stats;
using MllmData.Templates;

namespace MllmData.Tests.Stats;

/// <summary>The compact o200k counter of the stats gives the library tokenizer's count on every kind of text.</summary>
public sealed class O200kCounterTests
{
    private static readonly Tokenizer Library = TiktokenTokenizer.CreateForEncoding("o200k_base");

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("What color is the bus?")]
    [InlineData("<image>\nWhat is on the plate?\nReply with one word or a short phrase.")]
    [InlineData("I'm sure they'll say it's THE DOG'S bowl, isn't it? You've... 'd")]
    [InlineData("1234567 3.14159 1,000,000 ٣٤٥ Ⅻ")]
    [InlineData("a  b   c\t\td\n\n\ne \r\n f   ")]
    [InlineData("antidisestablishmentarianism supercalifragilisticexpialidocious")]
    [InlineData("日本語のテキスト、中文文本，한국어 텍스트 🙂🚀 café naïve Ελληνικά кириллица")]
    [InlineData("text<|endoftext|>more <|endofprompt|><|endoftext|> end")]
    [InlineData("<|endoftext")]
    [InlineData("https://example.com/a/b?c=d&e=f #tag @user $100 ~/path//x")]
    [InlineData("\u0301\u0301 combining marks alone and e\u0301")]
    public void CountsAsTheLibraryDoes(string text) => Assert.Equal(Library.CountTokens(text), new O200kCounter().Count(text));

    [Fact]
    public void CountsEveryTemplateTextAndEveryRealFixtureStringAsTheLibraryDoes()
    {
        var counter = new O200kCounter();
        var texts = new List<string>();
        foreach (var pack in TemplateLibrary.Load(TemplateLibrary.LocateRoot(null)).Packs)
        {
            texts.AddRange(pack.Templates.Select(t => t.Text));
            texts.AddRange(pack.Suffixes.Select(s => s.Text));
        }

        foreach (var file in Directory.EnumerateFiles(TestPaths.Real, "*.json*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(40))
        {
            var info = new FileInfo(file);
            if (info.Length > 20_000_000)
            {
                continue;
            }

            foreach (var line in File.ReadLines(file).Take(2000))
            {
                texts.Add(line);
                try
                {
                    if (JsonNode.Parse(line) is JsonNode node)
                    {
                        texts.AddRange(Strings(node).Take(200));
                    }
                }
                catch (System.Text.Json.JsonException)
                {
                }
            }
        }

        Assert.True(texts.Count > 1000, $"only {texts.Count} texts");
        var differ = texts.Where(t => Library.CountTokens(t) != counter.Count(t)).Take(3).ToList();
        Assert.Empty(differ);
    }

    private static IEnumerable<string> Strings(JsonNode node) => node switch
    {
        JsonObject o => o.SelectMany(kv => kv.Value is null ? [] : Strings(kv.Value)),
        JsonArray a => a.SelectMany(x => x is null ? [] : Strings(x)),
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        _ => [],
    };
}
