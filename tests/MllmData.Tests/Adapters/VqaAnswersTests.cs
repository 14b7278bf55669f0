using MllmData.Adapters;

namespace MllmData.Tests.Adapters;

public class TheVqaAnswerNormalisation
{
    [Theory]
    [InlineData("Two", "2")]
    [InlineData("the red one", "red 1")]
    [InlineData("A dog.", "dog")]
    [InlineData("dont know", "don't know")]
    [InlineData("1,000", "1000")]
    [InlineData("3.5", "3.5")]
    [InlineData("the answer is 1.", "answer is 1")]
    [InlineData("yes!", "yes")]
    [InlineData("black/white", "black white")]
    [InlineData("  Tennis\tracket ", "tennis racket")]
    public void Should_Normalise_Like_The_Vqa_Evaluation(string raw, string expected) =>
        Assert.Equal(expected, VqaAnswers.Normalize(raw));

    [Fact]
    public void Should_Break_Ties_By_First_Appearance()
    {
        Assert.Equal("cat", VqaAnswers.MajorityVote(["cat", "dog", "Dog", "a cat"]));
        Assert.Equal("dog", VqaAnswers.MajorityVote(["dog", "cat", "cat", "the dog"]));
        Assert.Null(VqaAnswers.MajorityVote(["", "  ", null]));
    }
}
