using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace MllmData.Models;

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
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        Execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL)");
    }

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

    public ChatResult? Get(string key)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT text, input_tokens, output_tokens FROM responses WHERE key = $k";
            cmd.Parameters.AddWithValue("$k", key);
            using var r = cmd.ExecuteReader();
            return r.Read() ? new ChatResult(r.GetString(0), r.GetInt32(1), r.GetInt32(2), FromCache: true) : null;
        }
    }

    public void Put(string key, ChatResult result)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT OR REPLACE INTO responses (key, text, input_tokens, output_tokens) VALUES ($k, $t, $i, $o)";
            cmd.Parameters.AddWithValue("$k", key);
            cmd.Parameters.AddWithValue("$t", result.Text);
            cmd.Parameters.AddWithValue("$i", result.InputTokens);
            cmd.Parameters.AddWithValue("$o", result.OutputTokens);
            cmd.ExecuteNonQuery();
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
