using System.Text.Json;
using MllmData.Formats;

namespace MllmData.Tests.Validation;

/// <summary>
/// Every format's validator codes a field of another kind (a number where text belongs) as <c>wrong-type</c> and a field
/// left out or null as <c>missing-field</c>, as the adapters code the same faults; <c>empty-content</c> is blank text only.
/// Before: LLaVA's numeric turn value was <c>empty-content</c>, a numeric OpenAI text part an "empty text part", an M3IT
/// or template field of another kind "missing", and a role of another kind a role out of order.
/// </summary>
public class WrongKindCodeTests
{
    private static string[] Findings(string format, string json)
    {
        var findings = new List<Finding>();
        using var doc = JsonDocument.Parse(json);
        FormatRegistry.Get(format).CreateValidator(new RenderOptions()).Validate(doc.RootElement, findings);
        return [.. findings.Select(f => $"{f.Code}: {f.Message}")];
    }

    /// <summary>The start of a JPEG: enough for the type sniffing M3IT's check does.</summary>
    private static readonly string Jpeg = Convert.ToBase64String([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]);

    [Theory]
    [InlineData("llava", """{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":2}]}""", "wrong-type: message 1 value is Number, expected a string")]
    [InlineData("llava", """{"conversations":[{"from":"human","value":["q"]},{"from":"gpt","value":"a"}]}""", "wrong-type: message 0 value is Array, expected a string")]
    [InlineData("llava", """{"conversations":[{"from":"human","value":"q"},{"from":true,"value":"a"}]}""", "wrong-type: message 1 from is True, expected a string")]
    [InlineData("llava", """{"conversations":[{"from":"human","value":"q"},{"from":"gpt"}]}""", "missing-field: message 1 value is missing, expected a string")]
    [InlineData("llava", """{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":" "}]}""", "empty-content: message 1 is empty")]
    [InlineData("sharegpt", """{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":2}]}""", "wrong-type: message 1 content is Number, expected a string")]
    [InlineData("sharegpt", """{"messages":[{"role":1,"content":"q"},{"role":"assistant","content":"a"}]}""", "wrong-type: message 0 role is Number, expected a string")]
    [InlineData("sharegpt", """{"messages":[{"role":"user","content":null},{"role":"assistant","content":"a"}]}""", "missing-field: message 0 content is Null, expected a string")]
    [InlineData("swift", """{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":{"text":"a"}}]}""", "wrong-type: message 1 content is Object, expected a string")]
    [InlineData("swift", """{"messages":[{"content":"q"},{"role":"assistant","content":"a"}]}""", "missing-field: message 0 role is missing, expected a string")]
    [InlineData("openai", """{"messages":[{"role":"user","content":[{"type":"text","text":5}]},{"role":"assistant","content":"a"}]}""", "wrong-type: message 0 text part \"text\" is Number, expected a string")]
    [InlineData("openai", """{"messages":[{"role":"user","content":[{"type":"text"}]},{"role":"assistant","content":"a"}]}""", "missing-field: message 0 text part has no \"text\"")]
    [InlineData("openai", """{"messages":[{"role":"user","content":[{"type":"text","text":" "}]},{"role":"assistant","content":"a"}]}""", "empty-content: message 0 has an empty text part")]
    [InlineData("openai", """{"messages":[{"role":2,"content":"q"},{"role":"assistant","content":"a"}]}""", "wrong-type: message 0 \"role\" is Number, expected a string")]
    [InlineData("openai", """{"messages":[{"role":"user","content":[{"type":3}]},{"role":"assistant","content":"a"}]}""", "wrong-type: message 0 (user) has a content part whose type is Number, expected a string")]
    [InlineData("openai", """{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":7,"type":"function","function":{"name":"f","arguments":"{}"}}]}],"tools":[{"type":"function","function":{"name":"f"}}]}""", "wrong-type: message 1 has a tool call whose id is Number, expected a string")]
    [InlineData("openai", """{"messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":7,"content":"x"},{"role":"assistant","content":"a"}]}""", "wrong-type: message 1 (tool) tool_call_id is Number, expected a string")]
    [InlineData("m3it", """{"instruction":"i","inputs":"q","outputs":2,"image_base64_str":[]}""", "wrong-type: \"outputs\" is Number, expected a string")]
    [InlineData("m3it", """{"instruction":["i"],"inputs":"q","outputs":"a","image_base64_str":[]}""", "wrong-type: \"instruction\" is Array, expected a string")]
    [InlineData("m3it", """{"instruction":"i","inputs":null,"outputs":"a","image_base64_str":[]}""", "missing-field: no \"inputs\" string")]
    [InlineData("m3it", """{"instruction":"i","inputs":"q","outputs":"a","image_base64_str":[null]}""", "wrong-type: image 0 is Null, expected a base64 string")]
    [InlineData("m3it", """{"instruction":"i","inputs":"q","outputs":"a","image_base64_str":[7]}""", "wrong-type: image 0 is Number, expected a base64 string")]
    [InlineData("template", """{"id":"1","text":7,"images":[]}""", "wrong-type: \"text\" is Number, expected a string")]
    [InlineData("template", """{"id":"1","images":[]}""", "missing-field: no \"text\" string")]
    public void A_Field_Of_Another_Kind_Is_Wrong_Type_And_One_Left_Out_Is_Missing(string format, string json, string finding)
    {
        Assert.Equal([finding], Findings(format, json));
    }

    [Theory]
    [InlineData("""{"question_id":1,"text":5,"image":"a.jpg"}""", "wrong-type: \"text\" is Number, expected a string")]
    [InlineData("""{"question_id":1,"image":"a.jpg"}""", "missing-field: \"text\" is missing")]
    [InlineData("""{"question_id":1,"text":" ","image":"a.jpg"}""", "empty-content: \"text\" is empty")]
    [InlineData("""{"question_id":[1],"text":"q","image":"a.jpg"}""", "wrong-type: \"question_id\" is Array, expected a string or number")]
    [InlineData("""{"text":"q","image":"a.jpg"}""", "missing-field: no \"question_id\" (string or number)")]
    public void An_Evaluation_Question_Line_Codes_Its_Fields_The_Same_Way(string json, string finding)
    {
        var findings = new List<Finding>();
        using var doc = JsonDocument.Parse(json);
        new MllmData.Eval.EvalQuestionFormat(sourceIds: false).CreateValidator(new RenderOptions()).Validate(doc.RootElement, findings);
        Assert.Equal([finding], findings.Select(f => $"{f.Code}: {f.Message}"));
    }

    [Fact]
    public void The_Same_Records_With_Fields_Of_Their_Kind_Pass()
    {
        Assert.Empty(Findings("llava", """{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"2"}]}"""));
        Assert.Empty(Findings("sharegpt", """{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"2"}]}"""));
        Assert.Empty(Findings("swift", """{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}"""));
        Assert.Empty(Findings("openai", """{"messages":[{"role":"user","content":[{"type":"text","text":"5"}]},{"role":"assistant","content":"a"}]}"""));
        Assert.Empty(Findings("m3it", $$"""{"instruction":"i","inputs":"q","outputs":"2","image_base64_str":["{{Jpeg}}"]}"""));
        Assert.Empty(Findings("template", """{"id":"1","text":"<BOS>q 2<EOS>","images":[]}"""));
    }
}
