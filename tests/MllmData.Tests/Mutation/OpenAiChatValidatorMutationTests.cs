using System.Text.Json;
using MllmData.Formats;

namespace MllmData.Tests.Mutation;

/// <summary>Every finding of the OpenAI chat validator with its exact code and message, and the boundaries it holds.</summary>
public class OpenAiChatValidatorMutationTests
{
    private static readonly string Png = Convert.ToBase64String([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);

    private static readonly string Jpeg = Convert.ToBase64String([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]);

    private static string[] Check(string messages) => CheckRecord($"{{\"messages\":{messages}}}");

    private static string[] CheckRecord(string json)
    {
        var findings = new List<Finding>();
        using var doc = JsonDocument.Parse(json);
        new OpenAiChatValidator().Validate(doc.RootElement, findings);
        return [.. findings.Select(f => $"{f.Code}: {f.Message}")];
    }

    private static string M(string role, string content) => $"{{\"role\":\"{role}\",\"content\":{content}}}";

    private static string Image(string url) => $"{{\"type\":\"image_url\",\"image_url\":{{\"url\":\"{url}\"}}}}";

    private static string Text(string text) => $"{{\"type\":\"text\",\"text\":\"{text}\"}}";

    private static string WithImage(string url) => $"[{M("user", $"[{Text("what?")},{Image(url)}]")},{M("assistant", "\"this\"")}]";

    [Fact]
    public void The_Format_Is_OpenAi()
    {
        Assert.Equal("openai", new OpenAiChatValidator().Format);
    }

    [Fact]
    public void Good_Records_Have_No_Findings()
    {
        Assert.Empty(Check($"[{M("system", "\"s\"")},{M("user", "\"q\"")},{M("assistant", "\"a\"")}]"));
        Assert.Empty(Check($"[{M("developer", "\"d\"")},{M("user", "\"q\"")},{M("assistant", "\"a\"")},{M("user", "\"q2\"")},{M("function", "\"f\"")},{M("assistant", "\"a2\"")}]"));
        Assert.Empty(Check($"[{M("system", "\"s1\"")},{M("system", "\"s2\"")},{M("user", "\"q\"")},{M("assistant", "\"a\"")}]"));
        Assert.Empty(Check(WithImage("https://example.org/a.jpg")));
        Assert.Empty(Check(WithImage("http://example.org/a.jpg")));
        Assert.Empty(Check(WithImage($"data:image/png;base64,{Png}")));
        Assert.Empty(Check(WithImage($"data:image/jpeg;base64,{Jpeg}")));
    }

    [Fact]
    public void Messages_Must_Be_There_And_Be_An_Array()
    {
        Assert.Equal(["missing-field: no \"messages\""], CheckRecord("{}"));
        Assert.Equal(["wrong-type: \"messages\" is Object, expected an array"], CheckRecord("{\"messages\":{}}"));
    }

    [Fact]
    public void No_Messages_Is_No_Assistant()
    {
        Assert.Equal(["missing-assistant: no messages"], Check("[]"));
        Assert.Equal(["missing-assistant: the last message is not from the assistant"], Check($"[{M("user", "\"q\"")}]"));
        Assert.Equal(["missing-assistant: the last message is not from the assistant"], Check($"[{M("user", "\"q\"")},{M("assistant", "\"a\"")},{M("user", "\"q\"")}]"));
    }

    [Theory]
    [InlineData("{\"role\":\"robot\",\"content\":\"x\"}", "'robot'")]
    [InlineData("{\"role\":\"User\",\"content\":\"x\"}", "'User'")]
    public void Unknown_Roles_Stop_The_Check(string message, string shown)
    {
        Assert.Equal([$"wrong-role-order: message 1 has role {shown}"], Check($"[{M("user", "\"q\"")},{message},{M("assistant", "\"a\"")}]"));
    }

    [Theory]
    [InlineData("{\"content\":\"x\"}", "missing-field: message 1 has no \"role\"")]
    [InlineData("{\"role\":null,\"content\":\"x\"}", "missing-field: message 1 has no \"role\"")]
    [InlineData("{\"role\":3,\"content\":\"x\"}", "wrong-type: message 1 \"role\" is Number, expected a string")]
    [InlineData("{\"role\":[\"user\"],\"content\":\"x\"}", "wrong-type: message 1 \"role\" is Array, expected a string")]
    [InlineData("\"user\"", "wrong-type: message 1 is String, expected an object")]
    [InlineData("7", "wrong-type: message 1 is Number, expected an object")]
    public void A_Missing_Role_Or_One_Of_Another_Kind_Is_Coded_As_The_Adapters_Code_It(string message, string finding)
    {
        Assert.Equal([finding], Check($"[{M("user", "\"q\"")},{message},{M("assistant", "\"a\"")}]"));
    }

    [Fact]
    public void Repeated_Users_Or_Assistants_And_A_Late_System_Message_Are_Out_Of_Order()
    {
        Assert.Equal(["wrong-role-order: message 1 (user) follows a user message"], Check($"[{M("user", "\"q\"")},{M("user", "\"q\"")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["wrong-role-order: message 2 (assistant) follows a assistant message"], Check($"[{M("user", "\"q\"")},{M("assistant", "\"a\"")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["wrong-role-order: message 1 (system) follows a user message"], Check($"[{M("user", "\"q\"")},{M("system", "\"s\"")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["wrong-role-order: message 2 (system) follows a developer message"], Check($"[{M("system", "\"s\"")},{M("developer", "\"d\"")},{M("system", "\"s\"")},{M("user", "\"q\"")},{M("assistant", "\"a\"")}]"));
    }

    [Fact]
    public void Content_Must_Be_There_Unless_The_Assistant_Calls_A_Tool()
    {
        Assert.Equal(["empty-content: message 0 has no content"], Check("[{\"role\":\"user\"},{\"role\":\"assistant\",\"content\":\"a\"}]"));
        Assert.Equal(["empty-content: message 0 has no content"], Check("[{\"role\":\"user\",\"content\":null,\"tool_calls\":[]},{\"role\":\"assistant\",\"content\":\"a\"}]"));
        Assert.Equal(["empty-content: message 1 has no content"], Check("[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":null}]"));
        // An assistant that calls a tool needs no content; its calls are checked by the tool rules (ToolUseTests).
        Assert.DoesNotContain(Check("[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]}]"), f => f.StartsWith("empty-content", StringComparison.Ordinal));
        Assert.DoesNotContain(Check("[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"tool_calls\":[]}]"), f => f.StartsWith("empty-content", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\" \"")]
    [InlineData("\"\\n\\t\"")]
    public void Blank_Text_Is_Empty(string content)
    {
        Assert.Equal(["empty-content: message 1 is empty"], Check($"[{M("user", "\"q\"")},{M("assistant", content)}]"));
    }

    [Theory]
    [InlineData("3", "Number")]
    [InlineData("{}", "Object")]
    [InlineData("true", "True")]
    public void Content_Of_Another_Type_Is_The_Wrong_Type(string content, string kind)
    {
        Assert.Equal([$"wrong-type: message 0 content is {kind}"], Check($"[{M("user", content)},{M("assistant", "\"a\"")}]"));
    }

    [Fact]
    public void Content_Parts_Must_Be_Text_Or_A_Users_Image()
    {
        Assert.Equal(["empty-content: message 0 has no content parts"], Check($"[{M("user", "[]")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["missing-field: message 0 text part has no \"text\""], Check($"[{M("user", "[{\"type\":\"text\"}]")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["wrong-type: message 0 text part \"text\" is Number, expected a string"], Check($"[{M("user", "[{\"type\":\"text\",\"text\":5}]")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["wrong-type: message 0 (user) has a content part whose type is Number, expected a string"], Check($"[{M("user", "[{\"type\":5,\"text\":\"q\"}]")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["empty-content: message 0 has an empty text part"], Check($"[{M("user", $"[{Text("ok")},{Text(" ")}]")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["wrong-type: message 1 (assistant) has a content part of type 'image_url'"], Check($"[{M("user", "\"q\"")},{M("assistant", $"[{Image("https://x/y.jpg")}]")}]"));
        Assert.Equal(["wrong-type: message 0 (user) has a content part of type 'audio'"], Check($"[{M("user", "[{\"type\":\"audio\"}]")},{M("assistant", "\"a\"")}]"));
        Assert.Equal(["wrong-type: message 0 (user) has a content part of type ''"], Check($"[{M("user", "[\"text\"]")},{M("assistant", "\"a\"")}]"));
        Assert.Empty(Check($"[{M("user", "\"q\"")},{M("assistant", $"[{Text("a")},{Text("b")}]")}]"));
    }

    [Theory]
    [InlineData("{\"type\":\"image_url\"}", "missing-field: message 0 has an image part without image_url.url")]
    [InlineData("{\"type\":\"image_url\",\"image_url\":{}}", "missing-field: message 0 has an image part without image_url.url")]
    [InlineData("{\"type\":\"image_url\",\"image_url\":{\"url\":null}}", "missing-field: message 0 has an image part without image_url.url")]
    [InlineData("{\"type\":\"image_url\",\"image_url\":\"https://x/y.jpg\"}", "wrong-type: message 0 image part's image_url is String, expected an object")]
    [InlineData("{\"type\":\"image_url\",\"image_url\":{\"url\":1}}", "wrong-type: message 0 image part's image_url.url is Number, expected a string")]
    public void An_Image_Part_Needs_A_Url_String(string part, string finding)
    {
        Assert.Equal([finding], Check($"[{M("user", $"[{part}]")},{M("assistant", "\"a\"")}]"));
    }

    [Theory]
    [InlineData("ftp://x/y.jpg")]
    [InlineData("HTTPS://x/y.jpg")]
    [InlineData("y.jpg")]
    [InlineData("mailto:x@y")]
    [InlineData("javascript:alert(1)")]
    [InlineData("Data:image/png;base64,AAAA")]
    public void Image_Urls_Are_Http_Https_Or_Data(string url)
    {
        Assert.Equal(["bad-image-path: message 0 image url is neither http(s) nor a data URL"], Check(WithImage(url)));
    }

    [Theory]
    [InlineData("data:image/png;base64")]
    [InlineData("data:image/png,AAAA")]
    [InlineData("data:image/png;base64x,AAAA")]
    public void A_Data_Url_Must_Say_Base64_Before_Its_Comma(string url)
    {
        Assert.Equal(["bad-base64: message 0 data URL is not base64"], Check(WithImage(url)));
    }

    [Fact]
    public void Data_That_Is_Not_Base64_Is_Bad()
    {
        Assert.Equal(["bad-base64: message 0 image data is not valid base64"], Check(WithImage("data:image/png;base64,!!!!")));
    }

    [Fact]
    public void The_Declared_Type_Must_Be_Allowed_And_Match_The_Bytes()
    {
        const string allowed = "allowed: image/jpeg, image/png, image/webp";
        Assert.Equal([$"bad-image-type: message 0 image is declared image/jpeg and looks like image/png; {allowed}"], Check(WithImage($"data:image/jpeg;base64,{Png}")));
        var gif = Convert.ToBase64String("GIF89a\0\0"u8.ToArray());
        Assert.Equal([$"bad-image-type: message 0 image is declared image/gif and looks like image/gif; {allowed}"], Check(WithImage($"data:image/gif;base64,{gif}")));
        var text = Convert.ToBase64String("hello world!"u8.ToArray());
        Assert.Equal([$"bad-image-type: message 0 image is declared image/png and looks like no known image; {allowed}"], Check(WithImage($"data:image/png;base64,{text}")));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void Padding_Is_Taken_Off_The_Decoded_Size(int padding, bool tooLarge)
    {
        // 3,495,254 groups of four characters decode to 10,485,762 bytes less the padding; the cap is 10,485,760.
        var body = new string('A', (3_495_254 * 4) - padding) + new string('=', padding);
        var findings = Check(WithImage($"data:image/png;base64,{body}"));
        var size = (3_495_254 * 3) - padding;
        if (tooLarge)
        {
            Assert.Equal([$"image-too-large: message 0 image is {size} bytes; at most 10485760"], findings);
        }
        else
        {
            // Exactly at the cap: decoded, and only then refused for not being a PNG.
            Assert.Equal(10_485_760, size);
            Assert.StartsWith("bad-image-type: message 0 image is declared image/png and looks like no known image", Assert.Single(findings), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Ten_Images_Are_Allowed_And_Eleven_Are_Too_Many_Even_Across_Messages()
    {
        static string Turn(int images) => $"{M("user", $"[{Text("q")},{string.Join(",", Enumerable.Repeat(Image("https://x/y.jpg"), images))}]")},{M("assistant", "\"a\"")}";
        Assert.Empty(Check($"[{Turn(6)},{Turn(4)}]"));
        Assert.Equal(["too-many-images: 11 images; at most 10 per example"], Check($"[{Turn(6)},{Turn(5)}]"));
        Assert.Equal(["missing-assistant: the last message is not from the assistant", "too-many-images: 11 images; at most 10 per example"], Check($"[{Turn(6)},{M("user", $"[{string.Join(",", Enumerable.Repeat(Image("https://x/y.jpg"), 5))}]")}]"));
    }
}
