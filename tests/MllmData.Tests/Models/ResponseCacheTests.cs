using Microsoft.Data.Sqlite;
using MllmData.ModelCalls;

namespace MllmData.Tests.Models;

public class TheResponseCache
{
    private static readonly ChatRequest Question = new([new ChatMessage("user", "what colour is the box?")], 20, 0, "v1");

    /// <summary>Writes a row behind the cache's back, as an older or broken version of the tool might have.</summary>
    private static void Plant(string path, string key, object text, object input, object output)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "INSERT OR REPLACE INTO responses (key, text, input_tokens, output_tokens) VALUES ($k, $t, $i, $o)";
        cmd.Parameters.AddWithValue("$k", key);
        cmd.Parameters.AddWithValue("$t", text);
        cmd.Parameters.AddWithValue("$i", input);
        cmd.Parameters.AddWithValue("$o", output);
        cmd.ExecuteNonQuery();
    }

    public static TheoryData<string, object, object, object> BadEntries => new()
    {
        { "larger than the cap", new string('a', 2 * 1024 * 1024), 10, 5 },
        { "one byte over the cap", new string('a', (1024 * 1024) + 1), 10, 5 },
        { "empty", string.Empty, 10, 5 },
        { "blank", "  \n", 10, 5 },
        { "bytes, not text", new byte[] { 0xff, 0xfe, 0x00 }, 10, 5 },
        { "token count not a number", "fine", "many", 5 },
        { "token count too big", "fine", 10, long.MaxValue },
        { "token count negative", "fine", -1, 5 },
    };

    [Theory]
    [MemberData(nameof(BadEntries))]
    public void Should_Treat_A_Bad_Entry_As_A_Miss_And_Replace_It(string what, object text, object input, object output)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "c.db");
        var key = ResponseCache.Key("fake|model", Question);
        using var cache = new ResponseCache(path);
        Plant(path, key, text, input, output);

        Assert.True(cache.Get(key) is null, what);

        cache.Put(key, new ChatResult("The box is red.", 10, 5, false));
        Assert.Equal(new ChatResult("The box is red.", 10, 5, true), cache.Get(key));
        Assert.Equal(1, cache.Count());
    }

    [Fact]
    public void Should_Hit_An_Entry_Exactly_At_The_Cap_And_Miss_One_Byte_Over_A_Smaller_Cap()
    {
        using var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
        var key = ResponseCache.Key("fake|model", Question);
        cache.Put(key, new ChatResult(new string('a', 1024 * 1024), 1, 1, false));
        Assert.Equal(1024 * 1024, cache.Get(key)!.Text.Length);
        Assert.Null(cache.Get(key, (1024 * 1024) - 1));
    }

    [Fact]
    public void Should_Never_Store_A_Blank_Answer()
    {
        using var cache = new ResponseCache(Path.Combine(TestPaths.NewTempDir(), "c.db"));
        cache.Put(ResponseCache.Key("fake|model", Question), new ChatResult(" ", 1, 1, false));
        Assert.Equal(0, cache.Count());
    }
}
