using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using MllmData.Json;

namespace MllmData.ModelCalls;

/// <summary>
/// Persistent per-request cache (SQLite, WAL). The key hashes the endpoint identity, model, every message
/// (image bytes by their sha256), the parameters and the prompt version; never the API key. Each response is
/// committed as soon as it arrives, so a killed run loses nothing it paid for.
/// </summary>
public sealed class ResponseCache : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();

    public ResponseCache(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        Directory.CreateDirectory(dir!);
        _path = path;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            _db.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
            Execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL)");
        }
        catch (SqliteException ex)
        {
            _db.Dispose();
            throw Unusable(path, ex);
        }
    }

    private readonly string _path;

    /// <summary>A cache file SQLite cannot use (not a database, damaged): one line naming it, never a stack trace; the file is left as it is.</summary>
    private static Json.InputDataException Unusable(string path, SqliteException ex) =>
        new(path, "-", "bad-cache", $"the response cache cannot be used ({ex.Message.TrimEnd('.')}); move the file away (its answers are lost) or give another --cache");

    public static string Key(string identity, ChatRequest request)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("endpoint", identity);
            w.WriteString("prompt_version", request.PromptVersion);
            w.WriteNumber("max_output_tokens", request.MaxOutputTokens);
            w.WriteNumber("temperature", request.Temperature);
            w.WriteStartArray("messages");
            foreach (var m in request.Messages)
            {
                w.WriteStartObject();
                w.WriteString("role", m.Role);
                w.WriteString("text", m.Text);
                w.WriteStartArray("images");
                foreach (var i in m.Images)
                {
                    w.WriteStringValue(Convert.ToHexStringLower(SHA256.HashData(i.Bytes)));
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    /// <summary>
    /// The cached answer, or null. An entry that cannot be a good answer (not text, empty, larger than
    /// <paramref name="maxBytes"/>, token counts unreadable) is a miss, read no further, and is replaced by the next
    /// good answer; it never stops a run.
    /// </summary>
    public ChatResult? Get(string key, long maxBytes = CallSettings.DefaultMaxResponseBytes)
    {
        lock (_gate)
        {
            try
            {
                using var cmd = _db.CreateCommand();

                // The size test runs in SQLite, so an oversized entry is never loaded into memory.
                cmd.CommandText = """
                    SELECT text, input_tokens, output_tokens FROM responses
                    WHERE key = $k AND typeof(text) = 'text' AND length(CAST(text AS BLOB)) BETWEEN 1 AND $max
                      AND typeof(input_tokens) = 'integer' AND typeof(output_tokens) = 'integer'
                    """;
                cmd.Parameters.AddWithValue("$k", key);
                cmd.Parameters.AddWithValue("$max", maxBytes);
                using var r = cmd.ExecuteReader();
                if (!r.Read())
                {
                    return null;
                }

                var text = r.GetString(0);
                var input = r.GetInt64(1);
                var output = r.GetInt64(2);
                return TextCheck.IsBlank(text) || input is < 0 or > int.MaxValue || output is < 0 or > int.MaxValue
                    ? null
                    : new ChatResult(text, (int)input, (int)output, FromCache: true);
            }
            catch (Exception ex) when (ex is SqliteException or InvalidCastException or FormatException or OverflowException)
            {
                return null;
            }
        }
    }

    /// <summary>Stores a good answer (replacing any entry under the key); empty answers are never stored.</summary>
    public void Put(string key, ChatResult result)
    {
        if (TextCheck.IsBlank(result.Text))
        {
            return;
        }

        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT OR REPLACE INTO responses (key, text, input_tokens, output_tokens) VALUES ($k, $t, $i, $o)";
            cmd.Parameters.AddWithValue("$k", key);
            cmd.Parameters.AddWithValue("$t", result.Text);
            cmd.Parameters.AddWithValue("$i", result.InputTokens);
            cmd.Parameters.AddWithValue("$o", result.OutputTokens);
            try
            {
                cmd.ExecuteNonQuery();
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26)
            {
                // SQLITE_CORRUPT or SQLITE_NOTADB: damaged under the run.
                throw Unusable(_path, ex);
            }
        }
    }

    public long Count()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM responses";
            return (long)cmd.ExecuteScalar()!;
        }
    }

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _db.Dispose();
    }
}
