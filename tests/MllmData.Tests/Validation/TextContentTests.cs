using System.Text.Json;
using MllmData.Pipeline.Steps;
using MllmData.Records;

namespace MllmData.Tests.Validation;

/// <summary>A blank question or a control character in dataset text is a reject, whatever adapter read the record.</summary>
public class TheTextContentStep
{
    private static InstructionRecord Record(string? question = "What is it?", string? answer = "a cat", string? instruction = null, string? system = null) => new()
    {
        Id = "r1",
        Source = "s",
        Task = "vqa",
        System = system,
        Turns = [new Turn { Slots = question is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["question"] = question }, Instruction = instruction, Output = answer }],
        Provenance = new Provenance { Adapter = "a", File = "f.json" },
    };

    private static (string? Reason, string? Detail) Check(InstructionRecord record) =>
        new TextContentStep().Apply(record).Reject is { } r ? (r.Reason, r.Detail) : (null, null);

    [Theory]
    [InlineData("", "turn 1: the question is empty")]
    [InlineData("   ", "turn 1: the question is only white space")]
    [InlineData("\t\n", "turn 1: the question is only white space")]
    [InlineData("\u200b", "turn 1: the question is only invisible characters (U+200B first)")]
    [InlineData(" \u2060\u200b\ufeff ", "turn 1: the question is only invisible characters (U+2060 first)")]
    [InlineData("\u3164\u3164", "turn 1: the question is only invisible characters (U+3164 first)")]
    [InlineData("\u2800", "turn 1: the question is only invisible characters (U+2800 first)")]
    [InlineData("\U000E0041\U000E007F", "turn 1: the question is only invisible characters (U+E0041 first)")]
    [InlineData("\u00ad\u200e", "turn 1: the question is only invisible characters (U+00AD first)")]
    public void A_Blank_Question_Is_An_Empty_Question_Reject(string question, string detail) =>
        Assert.Equal((RejectReasons.EmptyQuestion, detail), Check(Record(question)));

    [Theory]
    [InlineData("", "turn 1: the answer is empty")]
    [InlineData(" \n", "turn 1: the answer is only white space")]
    [InlineData("\u200b\u200c\u200d", "turn 1: the answer is only invisible characters (U+200B first)")]
    public void A_Blank_Answer_Is_An_Empty_Answer_Reject(string answer, string detail) =>
        Assert.Equal((RejectReasons.EmptyAnswer, detail), Check(Record(answer: answer)));

    [Theory]
    [InlineData("a\u200b")]
    [InlineData("\u200bno")]
    [InlineData("\u0301")]
    [InlineData("?")]
    [InlineData("\U0001F600")]
    public void Text_With_Anything_Visible_Is_Not_Blank(string text)
    {
        Assert.False(MllmData.Json.TextCheck.IsBlank(text));
        Assert.Equal((null, null), Check(Record(text, text)));
    }

    [Fact]
    public void A_Question_Only_Record_Has_No_Answer_To_Check()
    {
        Assert.Equal((null, null), Check(Record(answer: null)));
    }

    [Theory]
    [InlineData("What\u0007?", "question", 0x07, 5)]
    [InlineData("\u001b[31mRed\u001b[0m", "question", 0x1b, 1)]
    [InlineData("x\u0000", "question", 0x00, 2)]
    [InlineData("del\u007f", "question", 0x7f, 4)]
    [InlineData("next line\u0085", "question", 0x85, 10)]
    [InlineData("c1 end\u009f", "question", 0x9f, 7)]
    public void A_Control_Character_In_A_Question_Is_Named_By_Code_And_Place(string question, string field, int code, int at) =>
        Assert.Equal((RejectReasons.ControlCharacters, $"turn 1: the {field} holds the control character U+{code:X4} at character {at}"), Check(Record(question)));

    [Fact]
    public void Answers_Instructions_And_The_System_Message_Are_Checked_Too()
    {
        Assert.Equal((RejectReasons.ControlCharacters, "turn 1: the answer holds the control character U+0000 at character 1"), Check(Record(answer: "\u0000\u0007")));
        Assert.Equal((RejectReasons.ControlCharacters, "turn 1: the instruction holds the control character U+0001 at character 3"), Check(Record(question: null, instruction: "Hi\u0001")));
        Assert.Equal((RejectReasons.ControlCharacters, "the system message holds the control character U+0008 at character 1"), Check(Record(system: "\bYou help.")));
    }

    [Theory]
    [InlineData("Tabs\tand\nline breaks\r\nare text.")]
    [InlineData("No\u00a0break space, é, 中文, emoji 🙂")]
    [InlineData("x")]
    public void Ordinary_Text_Passes(string text)
    {
        Assert.Equal((null, null), Check(Record(text, text)));

        // A record without a question (a caption) is not a blank question.
        Assert.Equal((null, null), Check(Record(question: null, answer: text)));
    }

    [Fact]
    public async Task A_Vqa_Build_Rejects_Blank_Questions_And_Control_Characters_And_Writes_The_Rest()
    {
        var dir = TestPaths.NewTempDir();
        var q = Path.Combine(dir, "questions.json");
        var a = Path.Combine(dir, "annotations.json");
        File.WriteAllText(q, """{"questions":[{"image_id":1,"question":"   ","question_id":1},{"image_id":1,"question":"Is it red\u0007?","question_id":2},{"image_id":1,"question":"Is it red?","question_id":3}]}""");
        File.WriteAllText(a, """{"annotations":[{"question_id":1,"multiple_choice_answer":"yes","answers":[{"answer":"yes"}]},{"question_id":2,"multiple_choice_answer":"yes","answers":[{"answer":"yes"}]},{"question_id":3,"multiple_choice_answer":"\u0000\u0007","answers":[{"answer":"no"}]}]}""");
        var outDir = Path.Combine(dir, "out");

        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--allow-empty", "--out", outDir);

        Assert.True(r.ExitCode == 0, r.Error);
        var rejects = File.ReadLines(Path.Combine(outDir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(
            [("vqav2-q1", "empty-question"), ("vqav2-q2", "control-characters"), ("vqav2-q3", "control-characters")],
            rejects.Select(x => (x.GetProperty("position").GetString(), x.GetProperty("reason").GetString())));
        Assert.Equal("turn 1: the answer holds the control character U+0000 at character 1", rejects[2].GetProperty("detail").GetString());
    }
}
