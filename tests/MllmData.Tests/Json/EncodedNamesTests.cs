using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MllmData.Json;

namespace MllmData.Tests.Json;

/// <summary>Strings written from the per-thread cache of encoded strings come out byte for byte as the writer writes them itself.</summary>
public class TheEncodedNames
{
    private static readonly string[] Texts =
    [
        "vqav2", "question_id", "data/é/ü.json", "a \"quoted\" name", "tab\there", "<script>&'", "日本語", "emoji 😀", "",
        "line\nbreak", "back\\slash", "\u0001control",
    ];

    private static string Written(JavaScriptEncoder? encoder, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = encoder }))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static TheoryData<bool> Encoders => new() { true, false };

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Names_And_Values_Are_Written_As_The_Writer_Writes_Them(bool relaxed)
    {
        var encoder = relaxed ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : null;
        foreach (var text in Texts)
        {
            // Twice each, so the second write comes from the cache.
            for (var round = 0; round < 2; round++)
            {
                var plain = Written(encoder, w => w.WriteString(text, text));
                var cached = Written(encoder, w => w.WriteString(EncodedNames.Of(text, w), EncodedNames.Of(text, w)));
                Assert.Equal(plain, cached);
            }
        }
    }

    [Fact]
    public void One_String_Under_Two_Encoders_Is_Encoded_For_Each()
    {
        const string text = "<é>";
        var strict = Written(null, w => w.WriteString("k", EncodedNames.Of(text, w)));
        var relaxed = Written(JavaScriptEncoder.UnsafeRelaxedJsonEscaping, w => w.WriteString("k", EncodedNames.Of(text, w)));
        Assert.Equal("{\"k\":\"\\u003C\\u00E9\\u003E\"}", strict);
        Assert.Equal("{\"k\":\"<é>\"}", relaxed);
        Assert.Equal(strict, Written(null, w => w.WriteString("k", EncodedNames.Of(text, w))));
    }

    [Fact]
    public void More_Strings_Than_The_Cache_Keeps_Are_Each_Written_As_Themselves_And_The_Cache_Stays_Bounded()
    {
        var texts = Enumerable.Range(0, EncodedNames.Capacity + 100).Select(i => $"name-{i}").ToList();
        for (var round = 0; round < 2; round++)
        {
            foreach (var text in texts)
            {
                Assert.Equal($"{{\"k\":\"{text}\"}}", Written(null, w => w.WriteString("k", EncodedNames.Of(text, w))));
                Assert.InRange(EncodedNames.Kept, 1, EncodedNames.Capacity);
            }
        }
    }

    [Fact]
    public void A_Thread_Keeps_Each_String_Once_And_Starts_Again_Past_Its_Capacity()
    {
        // On a thread of its own, so the count starts from nothing.
        int afterTwo = 0, afterRepeat = 0, afterFull = 0, afterOneMore = 0;
        var thread = new Thread(() =>
        {
            using var w = new Utf8JsonWriter(new ArrayBufferWriter<byte>());
            EncodedNames.Of("first", w);
            EncodedNames.Of("second", w);
            afterTwo = EncodedNames.Kept;
            EncodedNames.Of("first", w);
            afterRepeat = EncodedNames.Kept;
            for (var i = 2; i < EncodedNames.Capacity; i++)
            {
                EncodedNames.Of($"name-{i}", w);
            }

            afterFull = EncodedNames.Kept;
            EncodedNames.Of("one more", w);
            afterOneMore = EncodedNames.Kept;
        });
        thread.Start();
        thread.Join();
        Assert.Equal((2, 2, EncodedNames.Capacity, 1), (afterTwo, afterRepeat, afterFull, afterOneMore));
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void A_Value_Is_Kept_Only_When_Short_And_Is_Written_As_The_Writer_Writes_It(bool relaxed)
    {
        var encoder = relaxed ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : null;
        var atBound = new string('a', ShortStrings.MaxBytes);
        var pastBound = new string('b', ShortStrings.MaxBytes + 1);
        int before = 0, afterAtBound = 0, afterPastBound = 0, afterNull = 0;
        var written = new List<(string Plain, string Valued)>();
        var thread = new Thread(() =>
        {
            // On a thread of its own, so the count starts from nothing.
            before = EncodedNames.Kept;
            foreach (var text in (string?[])[.. Texts, atBound, pastBound, null])
            {
                written.Add((Written(encoder, w => w.WriteString("k", text)), Written(encoder, w =>
                {
                    w.WritePropertyName("k");
                    EncodedNames.WriteValue(w, text);
                })));
                if (ReferenceEquals(text, atBound))
                {
                    afterAtBound = EncodedNames.Kept;
                }
                else if (ReferenceEquals(text, pastBound))
                {
                    afterPastBound = EncodedNames.Kept;
                }
                else if (text is null)
                {
                    afterNull = EncodedNames.Kept;
                }
            }
        });
        thread.Start();
        thread.Join();
        Assert.All(written, x => Assert.Equal(x.Plain, x.Valued));
        Assert.Equal("{\"k\":null}", written[^1].Valued);
        Assert.Equal((0, Texts.Length + 1, Texts.Length + 1, Texts.Length + 1), (before, afterAtBound, afterPastBound, afterNull));
    }

    [Fact]
    public void Equal_Text_In_Another_String_Object_Is_Written_The_Same()
    {
        var a = new string('é', 2);
        var b = new string('é', 2);
        Assert.Equal(Written(null, w => w.WriteString("k", EncodedNames.Of(a, w))), Written(null, w => w.WriteString("k", EncodedNames.Of(b, w))));
        Assert.Equal("{\"k\":\"éé\"}", Written(JavaScriptEncoder.UnsafeRelaxedJsonEscaping, w => w.WriteString("k", EncodedNames.Of(b, w))));
    }
}
