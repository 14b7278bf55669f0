using MllmData.Eval;

namespace MllmData.Tests.Mutation;

/// <summary>The score metrics worked by hand: VQA accuracy per match count, option letters, yes/no readings.</summary>
public class MetricsMutationTests
{
    private static string[] Ten(int matching) => [.. Enumerable.Repeat("two", matching), .. Enumerable.Repeat("three", 10 - matching)];

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.3)]
    [InlineData(2, 0.6)]
    [InlineData(3, 0.9)]
    [InlineData(4, 1.0)]
    [InlineData(10, 1.0)]
    public void Vqa_Accuracy_Averages_The_Ten_Leave_One_Out_Subsets(int matching, double expected)
    {
        Assert.Equal(expected, VqaAccuracy.Of("Two.", Ten(matching)), 10);
    }

    [Fact]
    public void Vqa_Accuracy_Of_Two_Answers_And_Of_One_And_Of_None()
    {
        // Two answers, one matching: (min(0/3, 1) + min(1/3, 1)) / 2.
        Assert.Equal(1.0 / 6, VqaAccuracy.Of("a cat", ["cat", "dog"]), 10);
        Assert.Equal(1.0, VqaAccuracy.Of("The Cat!", ["cat"]));
        Assert.Equal(0.0, VqaAccuracy.Of("dog", ["cat"]));
        Assert.Equal(0.0, VqaAccuracy.Of("cat", []));
    }

    [Theory]
    [InlineData("B", "B")]
    [InlineData("B.", "B")]
    [InlineData("(B)", "B")]
    [InlineData("[B]", "B")]
    [InlineData("B)", "B")]
    [InlineData("  C:  ", "C")]
    [InlineData("The answer is C", "C")]
    [InlineData("Answer: (D)", "D")]
    [InlineData("the correct option is A.", "A")]
    [InlineData("My choice is B", "B")]
    [InlineData("B. food", "B")]
    [InlineData("C) popsicle stick", "C")]
    [InlineData("I think (C) fits", "C")]
    [InlineData("a popsicle stick", "C")]
    [InlineData("Popsicle Stick.", "C")]
    [InlineData("something else", null)]
    [InlineData("Because of food", null)]
    [InlineData("E", null)]
    [InlineData("The answer is E", null)]
    [InlineData("(E) maybe", null)]
    [InlineData("b", null)]
    public void The_Chosen_Letter_Is_Read_From_The_Reply_Within_The_Options(string reply, string? letter)
    {
        Assert.Equal(letter, ChoiceLetter.Extract(reply, ["food", "water", "popsicle stick", "cigarette"]));
    }

    [Fact]
    public void Without_Options_Any_Letter_Counts_And_No_Text_Matches()
    {
        Assert.Equal("Z", ChoiceLetter.Extract("Z", null));
        Assert.Equal("E", ChoiceLetter.Extract("(E)", null));
        Assert.Null(ChoiceLetter.Extract("food", null));
    }

    [Fact]
    public void A_Reply_Matching_Two_Options_Chooses_None_And_The_Last_Option_Is_A_Choice()
    {
        Assert.Null(ChoiceLetter.Extract("red", ["red", "Red.", "blue"]));
        Assert.Equal("C", ChoiceLetter.Extract("blue", ["red", "green", "blue"]));
        Assert.Equal("C", ChoiceLetter.Extract("C", ["red", "green", "blue"]));
        Assert.Null(ChoiceLetter.Extract("D", ["red", "green", "blue"]));
    }

    [Theory]
    [InlineData("Yes, there is a dog.", "yes")]
    [InlineData("no", "no")]
    [InlineData("NO.", "no")]
    [InlineData("There is no dog.", "no")]
    [InlineData("It is not there, yes.", "no")]
    [InlineData("I would say yes", "yes")]
    [InlineData("Maybe.", null)]
    [InlineData("", null)]
    [InlineData("42 !", null)]
    [InlineData("yes but no", "yes")]
    [InlineData("nope", null)]
    public void Yes_No_Reads_The_First_Word_Then_A_Denial_Then_An_Assent(string reply, string? reading)
    {
        Assert.Equal(reading, YesNo.Of(reply));
    }

    [Fact]
    public void The_Yes_No_Reference_Is_The_Most_Common_Answer_First_On_A_Tie()
    {
        Assert.Equal("no", YesNo.Reference(["yes", "No", "no."]));
        Assert.Equal("yes", YesNo.Reference(["Yes", "no"]));
        Assert.Equal("no", YesNo.Reference(["no", "yes"]));
        Assert.Null(YesNo.Reference(["maybe", "maybe", "yes"]));
        Assert.Null(YesNo.Reference([]));
    }
}
