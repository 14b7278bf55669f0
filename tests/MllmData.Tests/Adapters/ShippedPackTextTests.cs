using System.Text.RegularExpressions;
using MllmData.Templates;

namespace MllmData.Tests.Adapters;

/// <summary>The instruction packs in templates/ read as clean text with the slots adapters fill, or leave unset.</summary>
public partial class TheShippedInstructionPacks
{
    private const string Question = "What colour is the bus?";

    // Punctuation, optionally a closing quote or bracket, optionally spaces, then punctuation again: "??", "?.", "?\"?", "st..", "42.),".
    [GeneratedRegex(@"[?.!,;:][""')\]]*\s*[?.!,;:]")]
    private static partial Regex DoubledPunctuation();

    [GeneratedRegex(@"(^|\n|[.?!:] )$")]
    private static partial Regex CleanLead();

    [GeneratedRegex(@"^($|\n| [A-Z])")]
    private static partial Regex CleanTail();

    /// <summary>Every instruction template of every top-level pack (not the rewrite or self-instruct prompts).</summary>
    public static TheoryData<string, string> Templates()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "templates"), "*.yaml", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal))
        {
            foreach (var t in TemplateLibrary.LoadFile(file).Templates)
            {
                data.Add(Path.GetFileName(file), t.Id);
            }
        }

        return data;
    }

    private static (TemplatePack Pack, InstructionTemplate Template) Load(string file, string id)
    {
        var pack = TemplateLibrary.LoadFile(Path.Combine(TestPaths.RepoRoot, "templates", file));
        return (pack, pack.Templates.Single(t => t.Id == id));
    }

    /// <summary>The template alone and with each of the pack's suffixes, as the engine joins them.</summary>
    private static IEnumerable<string> Renderings(TemplatePack pack, InstructionTemplate template, Dictionary<string, string> slots)
    {
        var text = template.Render(slots);
        yield return text;
        foreach (var s in pack.Suffixes)
        {
            yield return text + "\n" + s.Text;
        }
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Renders_A_Question_Ending_In_A_Question_Mark_Without_Doubled_Punctuation(string file, string id)
    {
        var (pack, template) = Load(file, id);
        foreach (var ocr in new[] { "STOP, 42", "STOP, Main St." })
        {
            var slots = new Dictionary<string, string>
            {
                ["question"] = Question, ["options"] = "A. red\nB. blue", ["context"] = "The bus is parked.", ["ocr_tokens"] = ocr,
            };
            AddObjectSlots(slots);
            foreach (var text in Renderings(pack, template, slots))
            {
                var bad = DoubledPunctuation().Match(text);
                Assert.False(bad.Success, $"{id}: '{bad.Value}' in \"{text}\"");
                if (template.PlaceholderNames().Contains("question"))
                {
                    var at = text.IndexOf(Question, StringComparison.Ordinal);
                    Assert.Matches(CleanLead(), text[..at]);
                    Assert.Matches(CleanTail(), text[(at + Question.Length)..]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Renders_Without_Context_Leaving_No_Empty_Label_Or_Blank_Line(string file, string id)
    {
        var (pack, template) = Load(file, id);
        var slots = new Dictionary<string, string> { ["question"] = "Select the mammal.", ["options"] = "A. frog\nB. whale", ["ocr_tokens"] = "STOP" };
        AddObjectSlots(slots);
        foreach (var text in Renderings(pack, template, slots))
        {
            Assert.DoesNotContain("none", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("\n\n", text, StringComparison.Ordinal);
            Assert.False(text.StartsWith('\n') || text.EndsWith('\n'), text);
            Assert.All(text.Split('\n'), line => Assert.False(line.EndsWith(": ", StringComparison.Ordinal) || line.Trim().Length == 0, $"{id}: line \"{line}\""));
        }
    }

    /// <summary>The slots coco-objects always fills (object packs have no question).</summary>
    private static void AddObjectSlots(Dictionary<string, string> slots)
    {
        slots["object"] = "traffic light";
        slots["an_object"] = "an umbrella";
        slots["objects"] = "people";
        slots["box"] = "[0.340, 0.563, 0.401, 0.699]";
        slots["box_format"] = "[x1, y1, x2, y2] with coordinates from 0 to 1";
    }

    [Fact]
    public void A_Line_Whose_Placeholders_Are_All_Unset_Is_Left_Out_And_Other_Lines_Stay()
    {
        var t = new InstructionTemplate("t", "Intro {a}\nLabel: {b}\n{b} and {a}\nEnd", []);
        Assert.Equal("Intro 1\n and 1\nEnd", t.Render(new Dictionary<string, string> { ["a"] = "1" }));
        Assert.Equal("Intro 1\nLabel: \n and 1\nEnd", t.Render(new Dictionary<string, string> { ["a"] = "1", ["b"] = string.Empty }));
        Assert.Equal("Label: 2\nEnd", new InstructionTemplate("u", "{a}\nLabel: {b}\nEnd", []).Render(new Dictionary<string, string> { ["b"] = "2" }));
    }
}
