using MllmData.Records;
using MllmData.Templates;

namespace MllmData.Tests.Templates;

public class TheTemplateEngine
{
    private static readonly TemplatePack Pack = new()
    {
        Id = "p",
        Task = "vqa",
        Placeholders = ["question"],
        Templates =
        [
            new("plain", "{question}", []),
            new("short", "{question} Be brief.", ["brief"]),
            new("bare", "Answer about the image.", []),
        ],
        Suffixes = [new("s", "One word, please.", [])],
        DefaultSuffix = "s",
    };

    private static InstructionRecord Record(string id, int turns) => new()
    {
        Id = id,
        Source = "t",
        Task = "vqa",
        Turns = [.. Enumerable.Range(0, turns).Select(i => new Turn { Slots = new Dictionary<string, string> { ["question"] = $"Q{i}?" }, Output = "a" })],
        Provenance = new Provenance { Adapter = "t", File = "f" },
    };

    [Fact]
    public void Should_Put_The_Question_In_Input_When_The_Template_Has_No_Placeholder()
    {
        var bareOnly = Pack with { Templates = [Pack.Templates[2]] };
        var turn = new TemplateEngine(bareOnly, 0, suffix: "none").Apply(Record("x", 1)).Turns[0];
        Assert.Equal("Answer about the image.", turn.Instruction);
        Assert.Equal("Q0?", turn.Input);
        Assert.Equal("Answer about the image.\nQ0?", turn.UserText);
    }

    [Fact]
    public void Should_Add_The_Suffix_To_First_Or_Every_Turn_But_Not_To_Brief_Templates()
    {
        var plainOnly = Pack with { Templates = [Pack.Templates[0]] };
        var every = new TemplateEngine(plainOnly, 1, suffixTurns: SuffixTurns.Every).Apply(Record("x", 3));
        Assert.All(every.Turns, (t, i) => Assert.Equal($"Q{i}?\nOne word, please.", t.Instruction));

        var first = new TemplateEngine(plainOnly, 1, suffixTurns: SuffixTurns.First).Apply(Record("x", 3));
        Assert.Equal(["Q0?\nOne word, please.", "Q1?", "Q2?"], first.Turns.Select(t => t.Instruction));

        var briefOnly = Pack with { Templates = [Pack.Templates[1]] };
        var brief = new TemplateEngine(briefOnly, 1).Apply(Record("x", 1));
        Assert.Equal("Q0? Be brief.", brief.Turns[0].Instruction);
    }

    [Fact]
    public void Should_Choose_By_Seed_And_Sample_Id_Only()
    {
        var a = new TemplateEngine(Pack, 5, suffix: "none");
        var ids = Enumerable.Range(0, 200).Select(i => $"s{i}").ToList();
        var picks = ids.Select(id => a.Apply(Record(id, 1)).Turns[0].TemplateId).ToList();
        var again = ids.Select(id => new TemplateEngine(Pack, 5, suffix: "none").Apply(Record(id, 1)).Turns[0].TemplateId).ToList();
        var other = ids.Select(id => new TemplateEngine(Pack, 6, suffix: "none").Apply(Record(id, 1)).Turns[0].TemplateId).ToList();

        Assert.Equal(picks, again);
        Assert.NotEqual(picks, other);

        // Roughly uniform over three templates.
        Assert.All(picks.GroupBy(p => p), g => Assert.InRange(g.Count(), 40, 100));
        Assert.Equal(3, picks.Distinct().Count());
    }

    [Fact]
    public void Should_Filter_By_Tags()
    {
        var engine = new TemplateEngine(Pack, 0, ["brief"]);
        Assert.All(Enumerable.Range(0, 20), i => Assert.Equal("short", engine.Apply(Record($"r{i}", 1)).Turns[0].TemplateId));
    }

    [Fact]
    public void Should_Render_Escaped_Braces_Literally()
    {
        var t = new InstructionTemplate("b", "Return {{\"answer\": ...}} for {question}", []);
        Assert.Equal("Return {\"answer\": ...} for Q?", t.Render(new Dictionary<string, string> { ["question"] = "Q?" }));
        Assert.Equal(["question"], t.PlaceholderNames());
    }

    [Theory]
    [InlineData("Q: {question}", "Q: what?\nAnswer briefly.")]
    [InlineData("Describe the image.", "Describe the image.\nAnswer briefly.")]
    [InlineData("{question}", "what?\nAnswer briefly.")]
    [InlineData("{options}", "Answer briefly.")] // an unset slot's line goes; the text left is empty: the suffix alone
    [InlineData("{empty}", "Answer briefly.")] // a slot set to nothing: the text is empty, the suffix alone
    [InlineData("{options}\nQ: {question}", "Q: what?\nAnswer briefly.")]
    public void A_Suffix_Is_Rendered_On_A_Line_Of_Its_Own_In_The_Same_String(string text, string expected)
    {
        var t = new InstructionTemplate("t", text, []);
        var slots = new Dictionary<string, string> { ["question"] = "what?", ["empty"] = "" };
        Assert.Equal(expected, t.Render(slots, "Answer briefly."));
        Assert.Equal(t.Render(slots), t.Render(slots, null));
    }
}
