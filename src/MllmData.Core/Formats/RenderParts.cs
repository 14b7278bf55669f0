using System.Text;
using System.Text.Json;
using MllmData.Records;

namespace MllmData.Formats;

/// <summary>Pieces every renderer writes the same way.</summary>
internal static class RenderParts
{
    /// <summary><c>"name": ["a.jpg", ...]</c> with the images' output paths.</summary>
    public static void WriteImagePaths(Utf8JsonWriter w, string name, IReadOnlyList<ImageRef> images)
    {
        w.WriteStartArray(name);
        foreach (var image in images)
        {
            w.WriteStringValue(image.Path);
        }

        w.WriteEndArray();
    }

    /// <summary>One image placeholder per image, each followed by <paramref name="separator"/>, before <paramref name="text"/>.</summary>
    public static string WithImageTokens(string text, string token, string separator, int images)
    {
        if (images == 0)
        {
            return text;
        }

        if (images == 1)
        {
            // The common case, one string made.
            return string.Concat(token, separator, text);
        }

        var sb = new StringBuilder(text.Length + (images * (token.Length + separator.Length)));
        for (var k = 0; k < images; k++)
        {
            sb.Append(token).Append(separator);
        }

        return sb.Append(text).ToString();
    }

    /// <summary>What introduces an in-context example's answer in the conversation formats.</summary>
    public const string ExampleAnswerLabel = "Answer: ";

    /// <summary>
    /// The first user message: the in-context examples, each with its image placeholders, its text and its answer,
    /// a blank line apart, then the query's placeholders and text; placeholders in the order of the record's images.
    /// </summary>
    public static string FirstUserText(InstructionRecord record, string text, string token, string separator)
    {
        var query = WithImageTokens(text, token, separator, record.Images.Count - record.ExampleImageCount);
        if (record.Examples.Count == 0)
        {
            return query;
        }

        var sb = new StringBuilder();
        foreach (var e in record.Examples)
        {
            sb.Append(WithImageTokens(ExampleText(e), token, separator, e.ImageCount)).Append("\n\n");
        }

        return sb.Append(query).ToString();
    }

    /// <summary>An in-context example's text without placeholders: its instruction and input, then its labelled answer.</summary>
    public static string ExampleText(IclExample example) => example.UserText + "\n" + ExampleAnswerLabel + example.Output;

    /// <summary>
    /// The first user message: <see cref="FirstUserText"/> as its content. Without in-context examples the placeholders
    /// and the text are written one after the other into the same JSON string, without first being joined into one.
    /// </summary>
    public static void WriteFirstUserMessage(Utf8JsonWriter w, InstructionRecord record, string text, string token, string separator, string role, string roleKey, string contentKey)
    {
        if (record.Examples.Count > 0)
        {
            WriteMessage(w, role, FirstUserText(record, text, token, separator), roleKey, contentKey);
            return;
        }

        w.WriteStartObject();
        w.WriteString(Json.EncodedNames.Of(roleKey, w), Json.EncodedNames.Of(role, w));
        w.WritePropertyName(Json.EncodedNames.Of(contentKey, w));
        for (var k = record.Images.Count - record.ExampleImageCount; k > 0; k--)
        {
            w.WriteStringValueSegment(token, isFinalSegment: false);
            w.WriteStringValueSegment(separator, isFinalSegment: false);
        }

        w.WriteStringValueSegment(text, isFinalSegment: true);
        w.WriteEndObject();
    }

    /// <summary><c>{"role": role, "content": text}</c>, or with other key names.</summary>
    public static void WriteMessage(Utf8JsonWriter w, string role, string text, string roleKey = "role", string contentKey = "content")
    {
        w.WriteStartObject();
        w.WriteString(Json.EncodedNames.Of(roleKey, w), Json.EncodedNames.Of(role, w));
        w.WriteString(Json.EncodedNames.Of(contentKey, w), text);
        w.WriteEndObject();
    }
}
