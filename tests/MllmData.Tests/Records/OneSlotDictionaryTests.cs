using MllmData.Pipeline.Steps;
using MllmData.Records;

namespace MllmData.Tests.Records;

/// <summary>
/// A turn's one slot (what the VQA adapters give) reads as a dictionary of one entry reads, and the steps that look
/// through slots find in it what they find in a dictionary.
/// </summary>
public class OneSlotDictionaryTests
{
    [Fact]
    public void It_Reads_As_A_Dictionary_Of_One_Entry_Reads()
    {
        IReadOnlyDictionary<string, string> one = new OneSlotDictionary("question", "What is it?");
        IReadOnlyDictionary<string, string> map = new Dictionary<string, string> { ["question"] = "What is it?" };
        foreach (var slots in new[] { one, map })
        {
            Assert.Single(slots);
            Assert.True(slots.ContainsKey("question"));
            Assert.False(slots.ContainsKey("Question"));
            Assert.False(slots.ContainsKey("question "));
            Assert.True(slots.TryGetValue("question", out var value));
            Assert.Equal("What is it?", value);
            Assert.False(slots.TryGetValue("options", out var missing));
            Assert.Null(missing);
            Assert.Equal("What is it?", slots["question"]);
            Assert.Throws<KeyNotFoundException>(() => slots["options"]);
            Assert.Throws<ArgumentNullException>(() => slots.ContainsKey(null!));
            Assert.Equal(["question"], slots.Keys);
            Assert.Equal(["What is it?"], slots.Values);
            Assert.Equal([new KeyValuePair<string, string>("question", "What is it?")], slots.ToList());
            Assert.Equal([new KeyValuePair<string, string>("question", "What is it?")], ((System.Collections.IEnumerable)slots).Cast<KeyValuePair<string, string>>().ToList());
        }

        Assert.Equal("no slot 'options'", Assert.Throws<KeyNotFoundException>(() => new OneSlotDictionary("question", "q")["options"]).Message);
        Assert.Throws<ArgumentNullException>(() => new OneSlotDictionary(null!, "v"));
        Assert.Throws<ArgumentNullException>(() => new OneSlotDictionary("k", null!));
    }

    private static InstructionRecord Record(IReadOnlyDictionary<string, string> slots, string answer) => new()
    {
        Id = "r1",
        Source = "s",
        Task = "vqa",
        Images = [new ImageRef("a.jpg")],
        Turns = [new Turn { Slots = slots, Output = answer }],
        Provenance = new Provenance { Adapter = "a", File = "questions.json", AnswerFile = "answers.json" },
    };

    public static TheoryData<string, string, string?, string?> Cases => new()
    {
        { "What\u0007?", "red", "control-characters|questions.json|turn 1: the question holds the control character U+0007 at character 5", "-" },
        { "What?", "red\u0001", "control-characters|answers.json|turn 1: the answer holds the control character U+0001 at character 4", "-" },
        { "What is <image> here?", "red", "-", "literal-image-token|questions.json" },
        { "What?", "a <image> too", "-", "literal-image-token|answers.json" },
        { "What <image>?", "a <image> too", "-", "literal-image-token|questions.json" },
        { "What <video>?", "red", "-", "literal-media-tag|questions.json" },
        { "What?", "red <video>", "-", "literal-media-tag|answers.json" },
        { "What?", "red", "-", "-" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_Text_Steps_Find_In_One_Slot_What_They_Find_In_A_Dictionary(string question, string answer, string? control, string? literal)
    {
        static string Said(SourceItem item, bool detail) => item.Reject is { } r ? $"{r.Reason}|{r.File}" + (detail ? $"|{r.Detail}" : "") : "-";
        foreach (var slots in new IReadOnlyDictionary<string, string>[] { new OneSlotDictionary("question", question), new Dictionary<string, string> { ["question"] = question } })
        {
            var record = Record(slots, answer);
            Assert.Equal(control, Said(new TextContentStep().Apply(record), detail: true));
            Assert.Equal(literal, Said(new LiteralTokenStep("<image>", ["<video>"]).Apply(record), detail: false));
        }
    }
}
