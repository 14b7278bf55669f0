using System.Text;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Tests.Json;

/// <summary>
/// Values that recur across records (answers, answer types) are given again as one string object from the short-string
/// table; a record's own text (a question, a caption, an image's file name) is made as it is, never looked up there first.
/// </summary>
public class TheRecordParsersStrings
{
    private static T Parse<T>(string json, JsonParser<T> parse)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        Assert.True(reader.Read());
        Assert.Equal(ParseStatus.Ok, parse(ref reader, out var value, out var error));
        Assert.Null(error);
        return value!;
    }

    private delegate ParseStatus JsonParser<T>(ref Utf8JsonReader r, out T? value, out string? error);

    [Fact]
    public void A_Question_Is_Its_Own_String_And_A_Recurring_Answer_Is_Given_Again()
    {
        // On a thread of its own: the table is per thread, and another test's values must not be in it.
        VqaQuestionDto? q1 = null, q2 = null;
        VqaAnnotationDto? a1 = null, a2 = null;
        CocoCaptionDto? c1 = null, c2 = null;
        CocoImageDto? i1 = null, i2 = null;
        var thread = new Thread(() =>
        {
            q1 = Parse<VqaQuestionDto>("""{"question_id":1,"image_id":9,"question":"What is it?"}""", RecordParsers.VqaQuestion);
            q2 = Parse<VqaQuestionDto>("""{"question_id":2,"image_id":9,"question":"What is it?"}""", RecordParsers.VqaQuestion);
            a1 = Parse<VqaAnnotationDto>("""{"question_id":1,"image_id":9,"answer_type":"other","question_type":"what is","multiple_choice_answer":"cat","answers":[{"answer":"cat","answer_id":1}]}""", RecordParsers.VqaAnnotation);
            a2 = Parse<VqaAnnotationDto>("""{"question_id":2,"image_id":9,"answer_type":"other","question_type":"what is","multiple_choice_answer":"cat","answers":[{"answer":"cat","answer_id":1}]}""", RecordParsers.VqaAnnotation);
            c1 = Parse<CocoCaptionDto>("""{"id":1,"image_id":9,"caption":"A cat."}""", RecordParsers.CocoCaption);
            c2 = Parse<CocoCaptionDto>("""{"id":2,"image_id":9,"caption":"A cat."}""", RecordParsers.CocoCaption);
            i1 = Parse<CocoImageDto>("""{"id":1,"file_name":"0001.jpg","domain":"in-domain","open_images_id":"0a1b"}""", RecordParsers.CocoImage);
            i2 = Parse<CocoImageDto>("""{"id":2,"file_name":"0001.jpg","domain":"in-domain","open_images_id":"0a1b"}""", RecordParsers.CocoImage);
        });
        thread.Start();
        thread.Join();

        Assert.Equal(("What is it?", "What is it?"), (q1!.Question, q2!.Question));
        Assert.NotSame(q1.Question, q2.Question);
        Assert.Equal(("A cat.", "A cat."), (c1!.Caption, c2!.Caption));
        Assert.NotSame(c1.Caption, c2.Caption);

        // An image's file name and Open Images id name one image each; its domain is one of a few.
        Assert.Equal(("0001.jpg", "0a1b"), (i2!.FileName, i2.OpenImagesId));
        Assert.NotSame(i1!.FileName, i2.FileName);
        Assert.NotSame(i1.OpenImagesId, i2.OpenImagesId);
        Assert.Same(i1.Domain, i2.Domain);

        Assert.Equal("cat", a2!.Answers![0].Answer);
        Assert.Same(a1!.Answers![0].Answer, a2.Answers[0].Answer);
        Assert.Same(a1.AnswerType, a2.AnswerType);
        Assert.Same(a1.QuestionType, a2.QuestionType);
        Assert.Same(a1.MultipleChoiceAnswer, a2.MultipleChoiceAnswer);
    }
}
