using System.Text;
using System.Text.Json;
using MllmData.Formats;

namespace MllmData.Tests.Mutation;

/// <summary>
/// Every finding of <see cref="ConversationValidator"/> with its exact code and message, on both of its entry
/// points, so that its mutants fail (see docs/mutation.md).
/// </summary>
public class ConversationValidatorMutationTests
{
    private static readonly ConversationShape ShareGpt = new("sharegpt", "images", "messages", "role", "content", "user", "assistant", "system");

    private static readonly ConversationShape Llava = new("llava", "image", "conversations", "from", "value", "human", "gpt", null, ImagesFirst: true);

    /// <summary>The findings as "code: message", checked to be the same from the bytes and from a parsed document.</summary>
    private static string[] Check(ConversationShape shape, string json, string token = "<image>")
    {
        var validator = new ConversationValidator(shape, token);
        var fromBytes = new List<Finding>();
        validator.Validate(Encoding.UTF8.GetBytes(json), fromBytes);
        var fromDocument = new List<Finding>();
        using (var doc = JsonDocument.Parse(json))
        {
            validator.Validate(doc.RootElement, fromDocument);
        }

        Assert.Equal(fromBytes, fromDocument);

        // A line the build has just written (no key repeated) gets the same findings from the entry point that may stop early.
        var written = new List<Finding>();
        validator.ValidateWritten(Encoding.UTF8.GetBytes(json), written);
        Assert.Equal(fromBytes, written);
        return [.. fromBytes.Select(f => $"{f.Code}: {f.Message}")];
    }

    [Fact]
    public void A_Written_Line_Is_Read_Only_Until_Its_Images_And_Turns_Are_Both_Read()
    {
        // What follows them (meta) is the writer's own well-formed JSON, not read through: here it is cut short, which the
        // full check reports and the written-line check never reaches.
        var validator = new ConversationValidator(Llava);
        var line = "{\"id\":\"a\",\"image\":\"a.jpg\",\"conversations\":[" + Msg("human", "\"<image>\\nQ?\"").Replace("role", "from").Replace("content", "value")
            + "," + Msg("gpt", "\"A\"").Replace("role", "from").Replace("content", "value") + "],\"meta\":{\"x\":";
        var written = new List<Finding>();
        validator.ValidateWritten(Encoding.UTF8.GetBytes(line), written);
        Assert.Empty(written);
        Assert.ThrowsAny<JsonException>(() => validator.Validate(Encoding.UTF8.GetBytes(line), []));

        // Without an image key (a text-only line) it reads to the end, so a placeholder without an image is still found.
        var textOnly = "{\"id\":\"a\",\"conversations\":[{\"from\":\"human\",\"value\":\"<image>\\nQ?\"},{\"from\":\"gpt\",\"value\":\"A\"}],\"meta\":{\"x\":1}}";
        var found = new List<Finding>();
        validator.ValidateWritten(Encoding.UTF8.GetBytes(textOnly), found);
        Assert.Equal(["placeholder-mismatch: 1 <image> placeholders for 0 images"], found.Select(f => $"{f.Code}: {f.Message}"));
    }

    private static string Sg(string messages, string images = "") =>
        "{" + (images.Length > 0 ? $"\"images\":{images}," : string.Empty) + "\"id\":{\"x\":[1,2]},\"messages\":" + messages + ",\"meta\":{\"a\":1}}";

    private static string Msg(string role, string content) => $"{{\"role\":\"{role}\",\"content\":{content}}}";

    [Fact]
    public void A_Well_Formed_Conversation_Has_No_Findings()
    {
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("system", "\"be brief\"")},{Msg("user", "\"<image>What?\"")},{Msg("assistant", "\"A cat.\"")},{Msg("user", "\"And?\"")},{Msg("assistant", "\"A dog.\"")}]", "[\"a.jpg\"]")));
        Assert.Empty(Check(Llava, "{\"id\":\"1\",\"image\":\"a.jpg\",\"conversations\":[{\"from\":\"human\",\"value\":\"<image>\\nWhat?\"},{\"from\":\"gpt\",\"value\":\"Cat\"}]}"));
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("user", "\"text only\"")},{Msg("assistant", "\"fine\"")}]")));
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("user", "\"x\"")},{Msg("assistant", "\"y\"")}]", "null")));
    }

    [Theory]
    [InlineData("\"<image> Compare this picture with the next one and say which is brighter: <image>\"", 2, 0)]
    [InlineData("\"<image>\\nCompare this picture with the next one and say which is brighter:\\n<image>\"", 2, 0)]
    [InlineData("\"<image>\\nA long question between the first placeholder and the second, escaped: \\u00e9 <image> and a third <image>\"", 2, 3)]
    [InlineData("\"<image> plain text, far from the next one, and unescaped <image> then <image>\"", 3, 0)]
    public void Placeholders_Far_Apart_Are_Each_Counted(string text, int images, int mismatch)
    {
        // Counted in the raw bytes or, when the message is escaped, in its unescaped bytes: every one, however far apart.
        var list = string.Join(",", Enumerable.Range(0, images).Select(i => $"\"{i}.jpg\""));
        var findings = Check(ShareGpt, Sg($"[{Msg("user", text)},{Msg("assistant", "\"the first\"")}]", $"[{list}]"));
        Assert.Equal(mismatch == 0 ? [] : [$"placeholder-mismatch: {mismatch} <image> placeholders for {images} images"], findings);
    }

    [Fact]
    public void A_Record_Without_Turns_Is_Missing_Them_And_Nothing_Else_Is_Said()
    {
        Assert.Equal(["missing-field: no \"messages\""], Check(ShareGpt, "{\"images\":[\"a.jpg\"],\"other\":[]}"));
        Assert.Equal(["missing-field: no \"conversations\""], Check(Llava, "{}"));
    }

    [Fact]
    public void One_Validator_Over_Many_Lines_Says_Of_Each_Only_What_Is_Wrong_With_It()
    {
        // The validator keeps its scratch lists between lines: a bad line's findings must not reach the next line's.
        var validator = new ConversationValidator(ShareGpt);
        string[] lines =
        [
            // Turns before images, both wrong: the images' finding still comes first.
            "{\"messages\":[{\"role\":\"user\",\"content\":7}],\"images\":[5]}",
            Sg($"[{Msg("user", "\"<image>q\"")},{Msg("assistant", "\"a\"")}]", "[\"a.jpg\"]"),
            "{\"images\":3}",
            Sg($"[{Msg("user", "\"q\"")},{Msg("assistant", "\"a\"")}]"),
        ];
        string[][] expected =
        [
            ["wrong-type: \"images\" holds a non-string or empty entry", "wrong-type: message 0 content is Number, expected a string"],
            [],
            ["wrong-type: \"images\" is Number, expected a string or an array", "missing-field: no \"messages\""],
            [],
        ];
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < lines.Length; i++)
            {
                var findings = new List<Finding>();
                if (round == 0)
                {
                    validator.ValidateWritten(Encoding.UTF8.GetBytes(lines[i]), findings);
                }
                else
                {
                    validator.Validate(Encoding.UTF8.GetBytes(lines[i]), findings);
                }

                Assert.Equal(expected[i], findings.Select(f => $"{f.Code}: {f.Message}").ToArray());
            }
        }
    }

    [Fact]
    public void Image_Problems_Are_Reported_Before_A_Missing_Turns_Key()
    {
        Assert.Equal(["wrong-type: \"images\" is Number, expected a string or an array", "missing-field: no \"messages\""], Check(ShareGpt, "{\"images\":3}"));
    }

    [Theory]
    [InlineData("{\"a\":1}", "Object")]
    [InlineData("true", "True")]
    [InlineData("false", "False")]
    [InlineData("4.5", "Number")]
    public void An_Images_Value_That_Is_Neither_A_String_Nor_An_Array_Is_The_Wrong_Type(string images, string kind)
    {
        Assert.Equal([$"wrong-type: \"images\" is {kind}, expected a string or an array", "placeholder-mismatch: 1 <image> placeholders for 0 images"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"<image>q\"")},{Msg("assistant", "\"a\"")}]", images)));
    }

    [Fact]
    public void An_Images_Array_With_A_Bad_Entry_Is_Reported_Once_And_Still_Counted()
    {
        Assert.Equal(["wrong-type: \"images\" holds a non-string or empty entry"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"<image><image><image>q\"")},{Msg("assistant", "\"a\"")}]", "[\"\",[1,2],{\"x\":1}]")));
        Assert.Equal(["wrong-type: \"images\" holds a non-string or empty entry", "placeholder-mismatch: 1 <image> placeholders for 2 images"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"<image>q\"")},{Msg("assistant", "\"a\"")}]", "[\"a.jpg\",7]")));
    }

    [Fact]
    public void Placeholders_Must_Match_The_Images_In_Count()
    {
        Assert.Equal(["placeholder-mismatch: 2 <image> placeholders for 1 images"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"<image><image>q\"")},{Msg("assistant", "\"a\"")}]", "\"a.jpg\"")));
        Assert.Equal(["placeholder-mismatch: 0 <image> placeholders for 2 images"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},{Msg("assistant", "\"a\"")}]", "[\"a.jpg\",\"b.jpg\"]")));
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("user", "\"<image>q\"")},{Msg("assistant", "\"a\"")},{Msg("user", "\"<image>r\"")},{Msg("assistant", "\"b\"")}]", "[\"a.jpg\",\"b.jpg\"]")));
    }

    [Fact]
    public void Placeholders_Are_Counted_In_Escaped_And_Plain_Text_With_The_Configured_Token()
    {
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("user", "\"\\u003cimage\\u003e\\nq <image>\"")},{Msg("assistant", "\"a\"")}]", "[\"a\",\"b\"]")));
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("user", "\"[img][img][img]\"")},{Msg("assistant", "\"a\"")}]", "[\"a\",\"b\",\"c\"]"), "[img]"));
        Assert.Equal(["placeholder-mismatch: 0  placeholders for 1 images"], Check(ShareGpt, Sg($"[{Msg("user", "\"<image>\"")},{Msg("assistant", "\"a\"")}]", "[\"a\"]"), ""));
        Assert.Equal(["placeholder-mismatch: 2 <image> placeholders for 1 images"], Check(ShareGpt, Sg($"[{Msg("user", "\"<image><image>\"")},{Msg("assistant", "\"a\"")}]", "[\"a\"]")));
        Assert.Equal(["placeholder-mismatch: 1 <image> placeholders for 2 images"], Check(ShareGpt, Sg($"[{Msg("user", "\"<image <image>> <image\"")},{Msg("assistant", "\"a\"")}]", "[\"a\",\"b\"]")));
    }

    [Theory]
    [InlineData("{\"a\":1}")]
    [InlineData("\"text\"")]
    [InlineData("7")]
    public void Turns_That_Are_Not_An_Array_Are_The_Wrong_Type(string turns)
    {
        var kind = turns[0] switch { '{' => "Object", '"' => "String", _ => "Number" };
        Assert.Equal([$"wrong-type: \"messages\" is {kind}, expected an array"], Check(ShareGpt, Sg(turns)));
    }

    [Fact]
    public void Empty_Turns_Are_Missing_And_Have_No_Answer_Check()
    {
        Assert.Equal(["missing-field: \"messages\" is empty"], Check(ShareGpt, Sg("[]")));
    }

    [Fact]
    public void A_Message_That_Is_Not_An_Object_Is_Reported_Once_And_Ends_The_Checks()
    {
        Assert.Equal(["wrong-type: message 1 is Array, expected an object"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},[1],\"x\",{Msg("assistant", "\"\"")}]", "[\"a\"]")));
        Assert.Equal(["wrong-type: message 0 is Null, expected an object"], Check(ShareGpt, Sg("[null]")));
    }

    [Theory]
    [InlineData("7", "Number")]
    [InlineData("[\"a\"]", "Array")]
    [InlineData("{\"t\":1}", "Object")]
    [InlineData("true", "True")]
    public void Content_That_Is_Not_A_String_Is_Wrong_Type_In_Every_Conversation_Format(string content, string kind)
    {
        Assert.Equal([$"wrong-type: message 1 content is {kind}, expected a string"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},{Msg("assistant", content)}]")));
        Assert.Equal([$"wrong-type: message 0 value is {kind}, expected a string"],
            Check(Llava, $"{{\"conversations\":[{{\"from\":\"human\",\"value\":{content}}},{{\"from\":\"gpt\",\"value\":\"a\"}}]}}"));
    }

    [Theory]
    [InlineData("7", "Number")]
    [InlineData("[\"user\"]", "Array")]
    [InlineData("false", "False")]
    public void A_Role_That_Is_Not_A_String_Is_Wrong_Type_Not_A_Role_Out_Of_Order(string role, string kind)
    {
        Assert.Equal([$"wrong-type: message 1 role is {kind}, expected a string"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},{{\"role\":{role},\"content\":\"a\"}}]")));
        Assert.Equal([$"wrong-type: message 0 from is {kind}, expected a string"],
            Check(Llava, $"{{\"conversations\":[{{\"from\":{role},\"value\":\"q\"}},{{\"from\":\"gpt\",\"value\":\"a\"}}]}}"));
    }

    [Fact]
    public void A_Message_Without_Content_Or_Role_Or_With_Null_Is_Missing_It()
    {
        Assert.Equal(["missing-field: message 0 content is missing, expected a string"],
            Check(ShareGpt, Sg("[{\"role\":\"user\"},{\"role\":\"assistant\",\"content\":\"a\"}]")));
        Assert.Equal(["missing-field: message 1 content is Null, expected a string"],
            Check(ShareGpt, Sg("[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":null}]")));
        Assert.Equal(["missing-field: message 0 value is missing, expected a string"],
            Check(Llava, "{\"conversations\":[{\"from\":\"human\"},{\"from\":\"gpt\",\"value\":\"a\"}]}"));
        Assert.Equal(["missing-field: message 0 role is missing, expected a string"],
            Check(ShareGpt, Sg("[{\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}]")));
        Assert.Equal(["missing-field: message 1 from is Null, expected a string"],
            Check(Llava, "{\"conversations\":[{\"from\":\"human\",\"value\":\"q\"},{\"from\":null,\"value\":\"a\"}]}"));
    }

    [Fact]
    public void Only_The_First_Message_May_Be_A_System_Message()
    {
        Assert.Equal(["wrong-role-order: message 2 is from 'system', expected 'assistant'"],
            Check(ShareGpt, Sg($"[{Msg("system", "\"s\"")},{Msg("user", "\"q\"")},{Msg("system", "\"s\"")}]")));
        Assert.Equal(["wrong-role-order: message 0 is from 'system', expected 'human'"],
            Check(Llava, "{\"conversations\":[{\"from\":\"system\",\"value\":\"s\"},{\"from\":\"human\",\"value\":\"q\"},{\"from\":\"gpt\",\"value\":\"a\"}]}"));
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("system", "\"\"")},{Msg("user", "\"q\"")},{Msg("assistant", "\"a\"")}]")));
    }

    [Fact]
    public void Roles_Must_Alternate_From_The_User()
    {
        Assert.Equal(["wrong-role-order: message 0 is from 'assistant', expected 'user'"], Check(ShareGpt, Sg($"[{Msg("assistant", "\"a\"")},{Msg("user", "\"q\"")}]")));
        Assert.Equal(["wrong-role-order: message 1 is from 'user', expected 'assistant'"], Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},{Msg("user", "\"q\"")}]")));
        Assert.Equal(["wrong-role-order: message 2 is from 'bot', expected 'user'"], Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},{Msg("assistant", "\"a\"")},{Msg("bot", "\"q\"")}]")));
        Assert.Equal(["wrong-type: message 0 role is Number, expected a string"], Check(ShareGpt, Sg("[{\"role\":5,\"content\":\"q\"}]")));
        Assert.Equal(["missing-field: message 0 role is missing, expected a string"], Check(ShareGpt, Sg("[{\"content\":\"q\"}]")));
        Assert.Equal(["wrong-role-order: message 1 is from 'system', expected 'assistant'"], Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},{Msg("system", "\"s\"")}]")));
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("\"  \\t \"")]
    [InlineData("\" \\n\\r \"")]
    [InlineData("\"\\u0020\"")]
    public void Blank_Messages_Are_Empty(string content)
    {
        Assert.Equal(["empty-content: message 1 is empty"], Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")},{Msg("assistant", content)}]")));
    }

    [Fact]
    public void A_Single_Character_Is_Not_Blank()
    {
        Assert.Empty(Check(ShareGpt, Sg($"[{Msg("user", "\" q \"")},{Msg("assistant", "\"\\u0041\"")}]")));
    }

    [Fact]
    public void An_Answer_Holding_The_Image_Token_Is_A_Literal_Token()
    {
        Assert.Equal(["literal-image-token: message 1 (assistant) contains <image>"],
            Check(ShareGpt, Sg($"[{Msg("user", "\"<image>q\"")},{Msg("assistant", "\"see <image>\"")}]", "[\"a\"]")));
        Assert.Equal(["literal-image-token: message 2 (assistant) contains [img]"],
            Check(ShareGpt, Sg($"[{Msg("system", "\"s\"")},{Msg("user", "\"q\"")},{Msg("assistant", "\"[img]\"")}]"), "[img]"));
    }

    [Fact]
    public void A_Conversation_Must_End_With_The_Assistant()
    {
        Assert.Equal(["missing-assistant: the last user message has no assistant answer"], Check(ShareGpt, Sg($"[{Msg("user", "\"q\"")}]")));
        Assert.Equal(["missing-assistant: the last human message has no gpt answer"],
            Check(Llava, "{\"conversations\":[{\"from\":\"human\",\"value\":\"q\"},{\"from\":\"gpt\",\"value\":\"a\"},{\"from\":\"human\",\"value\":\"r\"}]}"));
        Assert.Equal(["missing-assistant: no user or assistant message"], Check(ShareGpt, Sg($"[{Msg("system", "\"s\"")}]")));
    }

    [Fact]
    public void Turn_Problems_Stop_Before_The_Answer_And_Placeholder_Checks()
    {
        Assert.Equal(["empty-content: message 0 is empty"], Check(ShareGpt, Sg($"[{Msg("user", "\"\"")}]", "[\"a\"]")));
    }

    [Fact]
    public void Unknown_Keys_In_Messages_Are_Skipped()
    {
        Assert.Empty(Check(ShareGpt, Sg("[{\"role\":\"user\",\"x\":{\"content\":5},\"content\":\"q\",\"y\":[\"assistant\"]},{\"loss\":false,\"role\":\"assistant\",\"content\":\"a\"}]")));
    }
}
