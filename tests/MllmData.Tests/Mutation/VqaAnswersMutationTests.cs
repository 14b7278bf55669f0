using MllmData.Adapters;

namespace MllmData.Tests.Mutation;

/// <summary>
/// The VQA evaluation's answer normalisation (cases from the official evaluation script's rules) and the majority
/// vote, pinned so that mutants of <see cref="VqaAnswers"/> fail (see docs/mutation.md).
/// </summary>
public class VqaAnswersMutationTests
{
    [Theory]
    [InlineData("none", "0")]
    [InlineData("zero", "0")]
    [InlineData("one", "1")]
    [InlineData("two", "2")]
    [InlineData("three", "3")]
    [InlineData("four", "4")]
    [InlineData("five", "5")]
    [InlineData("six", "6")]
    [InlineData("seven", "7")]
    [InlineData("eight", "8")]
    [InlineData("nine", "9")]
    [InlineData("ten", "10")]
    [InlineData("eleven", "eleven")]
    [InlineData("Ten", "10")]
    public void Number_Words_Up_To_Ten_Become_Digits(string word, string digits) =>
        Assert.Equal(digits, VqaAnswers.Normalize(word));

    [Theory]
    [InlineData("a cat", "cat")]
    [InlineData("an apple", "apple")]
    [InlineData("the dog", "dog")]
    [InlineData("The Dog", "dog")]
    [InlineData("cat a", "cat")]
    [InlineData("another", "another")]
    [InlineData("theme", "theme")]
    [InlineData("a", "")]
    [InlineData("an the a", "")]
    public void Articles_Are_Dropped_As_Whole_Words(string raw, string expected) =>
        Assert.Equal(expected, VqaAnswers.Normalize(raw));

    public static TheoryData<string, string> OfficialContractions() => new()
    {
        { "aint", "ain't" }, { "arent", "aren't" }, { "cant", "can't" }, { "couldve", "could've" }, { "couldnt", "couldn't" },
        { "didnt", "didn't" }, { "doesnt", "doesn't" }, { "dont", "don't" }, { "hadnt", "hadn't" }, { "hasnt", "hasn't" },
        { "havent", "haven't" }, { "hed", "he'd" }, { "hes", "he's" }, { "howd", "how'd" }, { "howll", "how'll" },
        { "hows", "how's" }, { "isnt", "isn't" }, { "itd", "it'd" }, { "itll", "it'll" },
        { "lets", "let's" }, { "maam", "ma'am" }, { "mightnt", "mightn't" }, { "mightve", "might've" }, { "mustnt", "mustn't" },
        { "mustve", "must've" }, { "neednt", "needn't" }, { "notve", "not've" }, { "oclock", "o'clock" }, { "shant", "shan't" },
        { "shed", "she'd" }, { "shes", "she's" }, { "shouldve", "should've" }, { "shouldnt", "shouldn't" },
        { "somebodyd", "somebody'd" }, { "somebodys", "somebody's" }, { "someoned", "someone'd" }, { "someones", "someone's" },
        { "somethingd", "something'd" }, { "somethings", "something's" }, { "thered", "there'd" }, { "therere", "there're" },
        { "theres", "there's" }, { "theyd", "they'd" }, { "theyll", "they'll" }, { "theyre", "they're" }, { "theyve", "they've" },
        { "twas", "'twas" }, { "wasnt", "wasn't" }, { "wed", "we'd" }, { "weve", "we've" }, { "werent", "weren't" },
        { "whatll", "what'll" }, { "whatre", "what're" }, { "whats", "what's" }, { "whatve", "what've" }, { "whens", "when's" },
        { "whered", "where'd" }, { "wheres", "where's" }, { "whereve", "where've" }, { "whod", "who'd" }, { "wholl", "who'll" },
        { "whos", "who's" }, { "whove", "who've" }, { "whyll", "why'll" }, { "whyre", "why're" }, { "whys", "why's" },
        { "wont", "won't" }, { "wouldve", "would've" }, { "wouldnt", "wouldn't" }, { "yall", "y'all" }, { "youd", "you'd" },
        { "youll", "you'll" }, { "youre", "you're" }, { "youve", "you've" },
    };

    [Theory]
    [MemberData(nameof(OfficialContractions))]
    public void Apostrophe_Less_Spellings_Become_The_Evaluations_Contractions(string typed, string contracted)
    {
        Assert.Equal(contracted, VqaAnswers.Normalize(typed));
        Assert.Equal("i " + contracted, VqaAnswers.Normalize("I " + typed.ToUpperInvariant()));
    }

    [Theory]
    [InlineData("Im", "im")] // the evaluation's "Im" and "Ive" keys are never reached: words are lower-cased first
    [InlineData("ive", "ive")]
    [InlineData("don't", "don't")]
    [InlineData("dontt", "dontt")]
    public void Words_Outside_The_Contraction_List_Stay_As_Lower_Cased(string typed, string expected) =>
        Assert.Equal(expected, VqaAnswers.Normalize(typed));

    [Theory]
    [InlineData("?yes", "yes")] // punctuation at the very start is still handled
    [InlineData("yes?", "yes")]
    [InlineData("a, b,c", "bc")] // a comma before a space removes every comma ("a" is an article)
    [InlineData("x, y,z", "x yz")]
    [InlineData("x ,y,z", "x yz")] // so does one after a space
    [InlineData("x,y,z", "x y z")] // otherwise commas split words
    [InlineData("1,000,x", "1000x")] // a comma inside a number removes every comma
    [InlineData("x;y", "x y")]
    [InlineData("x/y", "x y")]
    [InlineData("x[y]z", "x y z")]
    [InlineData("x\"y\"z", "x y z")]
    [InlineData("x{y}z", "x y z")]
    [InlineData("x(y)z", "x y z")]
    [InlineData("x=y+z", "x y z")]
    [InlineData("x\\y_z", "x y z")]
    [InlineData("x-y>z", "x y z")]
    [InlineData("x@y`z", "x y z")]
    [InlineData("x!y<z", "x y z")]
    [InlineData("x:y'z", "x:y'z")] // colons and apostrophes are not punctuation to the evaluation
    [InlineData("x.y", "xy")] // a period not followed by a digit goes without splitting
    [InlineData("1.", "1")]
    [InlineData("3.5", "3.5")]
    [InlineData(".5 m", ".5 m")]
    [InlineData("x\ny", "x y")]
    [InlineData("x\ty", "x y")]
    [InlineData("x?y? ", "x y")] // trimmed before looking for punctuation beside a space
    [InlineData("  x   y  ", "x y")]
    [InlineData("", "")]
    public void Punctuation_Periods_And_Whitespace_Follow_The_Evaluation(string raw, string expected) =>
        Assert.Equal(expected, VqaAnswers.Normalize(raw));

    [Fact]
    public void A_Vote_Over_Nothing_Or_Only_Blanks_Is_Null()
    {
        Assert.Null(VqaAnswers.MajorityVote(Array.Empty<string?>()));
        Assert.Null(VqaAnswers.MajorityVote(new string?[] { null, "", "  ", "\t" }));
        Assert.Null(VqaAnswers.MajorityVote([new AnnotatorAnswer(null, null), new AnnotatorAnswer(" ", "")]));
    }

    [Fact]
    public void The_Class_With_Most_Votes_Wins_And_Gives_Its_Most_Written_Raw_Answer_Trimmed()
    {
        Assert.Equal("dog", VqaAnswers.MajorityVote(["cat", "dog", " dog "]));
        Assert.Equal("one penny", VqaAnswers.MajorityVote(["1 penny", "one penny", "One penny.", "one penny", "two"]));
        Assert.Equal("the speaking eye", VqaAnswers.MajorityVote(["the speaking eye", "speaking eye", "the speaking eye", "x"]));
    }

    [Fact]
    public void Ties_Go_To_The_Class_And_The_Spelling_Seen_First()
    {
        Assert.Equal("cat", VqaAnswers.MajorityVote(["cat", "dog"]));
        Assert.Equal("dog", VqaAnswers.MajorityVote(["dog", "cat", "cat", "dog"]));
        Assert.Equal("Two", VqaAnswers.MajorityVote(["Two", "2", "cat", "cat"]));
        Assert.Equal("2", VqaAnswers.MajorityVote(["2", "Two", "Two", "2", "x"]));
    }

    [Fact]
    public void Blank_Answers_Take_No_Position_In_The_Order()
    {
        Assert.Equal("cat", VqaAnswers.MajorityVote([null, "cat", "", "dog"]));
        Assert.Equal("dog", VqaAnswers.MajorityVote(["  ", "dog", "cat"]));
    }

    [Fact]
    public void Answers_That_Normalise_To_Nothing_Are_Votes_In_Classes_Of_Their_Own()
    {
        Assert.Equal("dog", VqaAnswers.MajorityVote(["a", "the", "dog", "dog"]));
        Assert.Equal("the", VqaAnswers.MajorityVote(["a", "the", "The ", "dog"]));
        Assert.Equal("?", VqaAnswers.MajorityVote(["?", "?", "dog"]));
        Assert.Equal("A", VqaAnswers.MajorityVote(["A", "a", "the"]));
    }

    [Fact]
    public void Counted_And_Written_Texts_May_Differ()
    {
        // OK-VQA: the answer is the stemmed form that is counted, the raw answer what is written.
        Assert.Equal("running", VqaAnswers.MajorityVote([new AnnotatorAnswer("walk", "walking"), new AnnotatorAnswer("run", "running"), new AnnotatorAnswer("run", "runs"), new AnnotatorAnswer("run", "running")]));
        Assert.Equal("walk", VqaAnswers.MajorityVote([new AnnotatorAnswer("walk", null), new AnnotatorAnswer("run", " ")]));
        Assert.Equal("Run", VqaAnswers.MajorityVote([new AnnotatorAnswer(null, " Run "), new AnnotatorAnswer("", "run"), new AnnotatorAnswer("walk", "walk")]));
        Assert.Equal("x", VqaAnswers.MajorityVote([new AnnotatorAnswer("  ", "x"), new AnnotatorAnswer("y", "y")]));
    }
}
