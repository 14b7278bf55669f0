using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace MllmData.Tests.Batch;

/// <summary>What the fake model says to one request body: an answer, or an HTTP status.</summary>
public sealed record FakeAnswer(string? Content, int Status = 200)
{
    public static FakeAnswer Text(string content) => new(content);

    public static FakeAnswer Error(int status) => new(null, status);
}

/// <summary>How one batch runs: it answers its lines, or expires after some, or fails validation.</summary>
public enum BatchFate
{
    Complete,

    /// <summary>Expires with only the first <see cref="FakeBatchServer.AnsweredBeforeExpiry"/> lines answered.</summary>
    Expire,

    /// <summary>Fails validation: no output, no error file.</summary>
    FailValidation,
}

/// <summary>A request the fake saw (headers lower-cased; bodies kept as text).</summary>
public sealed record FakeSeen(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// An in-process OpenAI/Azure-shaped server on 127.0.0.1: chat completions (the synchronous path), the Files API
/// (multipart upload, content download) and the Batches API (create, read). Each read of a batch moves it one step:
/// validating → in_progress → its end (completed, expired or failed), when its output and error files appear, answered
/// line by line by the same function that answers synchronous calls.
/// </summary>
public sealed class FakeBatchServer : MllmData.Tests.Models.LoopbackServer
{
    private readonly Func<JsonObject, FakeAnswer> _answer;
    private readonly ConcurrentQueue<FakeSeen> _seen = new();
    private readonly ConcurrentDictionary<string, (string Name, string Purpose, byte[] Bytes)> _files = new();
    private readonly ConcurrentDictionary<string, FakeBatch> _batches = new();
    private readonly Lock _gate = new();
    private int _fileCount;
    private int _batchCount;
    private readonly ConcurrentQueue<byte[]> _chatBodies = new();
    private int _chatCalls;

    public FakeBatchServer(Func<JsonObject, FakeAnswer> answer)
    {
        _answer = answer;
    }

    /// <summary>The fate of the n-th batch created (0-based); every batch completes unless told.</summary>
    public Func<int, BatchFate> Fate { get; set; } = _ => BatchFate.Complete;

    public int AnsweredBeforeExpiry { get; set; }

    /// <summary>Answers <c>POST …/batches</c> with this status, once per entry, before creating batches normally.</summary>
    public ConcurrentQueue<int> CreateFailures { get; } = new();

    public IReadOnlyList<FakeSeen> Seen => [.. _seen];

    public int ChatCalls => Volatile.Read(ref _chatCalls);

    /// <summary>The bodies of synchronous chat calls, as sent.</summary>
    public IReadOnlyList<byte[]> ChatBodies => [.. _chatBodies];

    /// <summary>Replies carry no <c>usage</c> (some OpenAI-compatible servers leave it out).</summary>
    public bool OmitUsage { get; set; }

    /// <summary>Azure writes batch statuses capitalised (<c>Validating</c>).</summary>
    public bool CapitalisedStatus { get; set; }

    /// <summary>Uploaded files by id: their name, purpose and bytes.</summary>
    public IReadOnlyDictionary<string, (string Name, string Purpose, byte[] Bytes)> Files => _files;

    public IReadOnlyList<FakeBatch> Batches => [.. _batches.Values.OrderBy(b => b.Index)];

    public string ChatCompletion(string content, int index = 0)
    {
        var reply = Completion(content, index);
        if (OmitUsage)
        {
            reply.Remove("usage");
        }

        return reply.ToJsonString();
    }

    private static JsonObject Completion(string content, int index) => ChatCompletion(content, "chatcmpl-fake" + index.ToString(CultureInfo.InvariantCulture));

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            var request = context.Request;
            using var buffer = new MemoryStream();
            await request.InputStream.CopyToAsync(buffer);
            var bytes = buffer.ToArray();
            var path = request.Url!.AbsolutePath;
            var headers = Headers(request);
            _seen.Enqueue(new FakeSeen(request.HttpMethod, path, request.Url.Query, headers));
            var (status, body, type) = Route(request.HttpMethod, path, request.ContentType, bytes, headers.GetValueOrDefault("authorization") ?? headers.GetValueOrDefault("api-key"));
            context.Response.StatusCode = status;
            context.Response.ContentType = type;
            var payload = body;
            context.Response.ContentLength64 = payload.Length;
            await context.Response.OutputStream.WriteAsync(payload);
            context.Response.Close();
        }
        catch (Exception) when (Stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private (int Status, byte[] Body, string Type) Route(string method, string path, string? contentType, byte[] body, string? credentials)
    {
        const string json = "application/json";
        var api = path.StartsWith("/openai/", StringComparison.Ordinal) ? path["/openai".Length..] : path.StartsWith("/v1/", StringComparison.Ordinal) ? path["/v1".Length..] : path;
        if (method == "POST" && (path == "/v1/chat/completions" || (path.StartsWith("/openai/deployments/", StringComparison.Ordinal) && path.EndsWith("/chat/completions", StringComparison.Ordinal))))
        {
            Interlocked.Increment(ref _chatCalls);
            _chatBodies.Enqueue(body);
            var answer = _answer((JsonObject)JsonNode.Parse(body)!);
            return answer.Status == 200
                ? (200, Encoding.UTF8.GetBytes(ChatCompletion(answer.Content!)), json)
                : (answer.Status, Encoding.UTF8.GetBytes(ErrorBody("fake failure")), json);
        }

        if (method == "POST" && api == "/files")
        {
            var (purpose, name, content) = Multipart(contentType!, body);
            var id = "file-" + Interlocked.Increment(ref _fileCount).ToString("D3", CultureInfo.InvariantCulture);
            _files[id] = (name, purpose, content);
            return (200, Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["object"] = "file", ["bytes"] = content.Length, ["purpose"] = purpose, ["filename"] = name, ["status"] = "processed" }.ToJsonString()), json);
        }

        if (method == "POST" && api == "/batches")
        {
            if (CreateFailures.TryDequeue(out var failure))
            {
                // As some servers do, the refusal echoes the credentials it was sent.
                return (failure, Encoding.UTF8.GetBytes(ErrorBody("try again; you sent " + credentials)), json);
            }

            var request = (JsonObject)JsonNode.Parse(body)!;
            var input = (string)request["input_file_id"]!;
            if (!_files.ContainsKey(input))
            {
                return (404, Encoding.UTF8.GetBytes(ErrorBody("no such file")), json);
            }

            var index = Interlocked.Increment(ref _batchCount) - 1;
            var batch = new FakeBatch(index, "batch_" + index.ToString("D3", CultureInfo.InvariantCulture), input, (string)request["endpoint"]!, (string)request["completion_window"]!, Fate(index));
            _batches[batch.Id] = batch;
            return (200, Encoding.UTF8.GetBytes(Describe(batch)), json);
        }

        if (method == "GET" && api.StartsWith("/batches/", StringComparison.Ordinal))
        {
            if (!_batches.TryGetValue(api["/batches/".Length..], out var batch))
            {
                return (404, Encoding.UTF8.GetBytes(ErrorBody("no such batch")), json);
            }

            lock (_gate)
            {
                Advance(batch);
            }

            return (200, Encoding.UTF8.GetBytes(Describe(batch)), json);
        }

        if (method == "GET" && api.StartsWith("/files/", StringComparison.Ordinal) && api.EndsWith("/content", StringComparison.Ordinal))
        {
            var id = api["/files/".Length..^"/content".Length];
            return _files.TryGetValue(id, out var file)
                ? (200, file.Bytes, "application/octet-stream")
                : (404, Encoding.UTF8.GetBytes(ErrorBody("no such file")), json);
        }

        return (404, Encoding.UTF8.GetBytes(ErrorBody($"no route {method} {path}")), json);
    }

    /// <summary>One step on: validating → in_progress → the batch's end, when its result files are made.</summary>
    private void Advance(FakeBatch batch)
    {
        switch (batch.Status)
        {
            case "validating":
                batch.Status = batch.Fate == BatchFate.FailValidation ? "failed" : "in_progress";
                batch.Total = batch.Fate == BatchFate.FailValidation ? 0 : Lines(batch).Count;
                return;
            case "in_progress":
                Finish(batch);
                return;
        }
    }

    private List<JsonObject> Lines(FakeBatch batch) =>
        [.. Encoding.UTF8.GetString(_files[batch.InputFileId].Bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (JsonObject)JsonNode.Parse(l)!)];

    private void Finish(FakeBatch batch)
    {
        var output = new StringBuilder();
        var errors = new StringBuilder();
        var lines = Lines(batch);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            var id = (string)line["custom_id"]!;
            var requestId = $"{batch.Id}-req-{i}";
            if (batch.Fate == BatchFate.Expire && i >= AnsweredBeforeExpiry)
            {
                errors.Append(new JsonObject { ["id"] = requestId, ["custom_id"] = id, ["response"] = null, ["error"] = new JsonObject { ["code"] = "batch_expired", ["message"] = "This request could not be executed before the completion window expired." } }.ToJsonString()).Append('\n');
                batch.Failed++;
                continue;
            }

            var answer = _answer((JsonObject)line["body"]!);
            if (answer.Status == 200)
            {
                output.Append(new JsonObject { ["id"] = requestId, ["custom_id"] = id, ["response"] = new JsonObject { ["status_code"] = 200, ["request_id"] = requestId, ["body"] = JsonNode.Parse(ChatCompletion(answer.Content!, i)) }, ["error"] = null }.ToJsonString()).Append('\n');
                batch.Completed++;
            }
            else
            {
                errors.Append(new JsonObject { ["id"] = requestId, ["custom_id"] = id, ["response"] = new JsonObject { ["status_code"] = answer.Status, ["request_id"] = requestId, ["body"] = JsonNode.Parse(ErrorBody("fake failure")) }, ["error"] = null }.ToJsonString()).Append('\n');
                batch.Failed++;
            }
        }

        if (output.Length > 0)
        {
            batch.OutputFileId = "file-out-" + batch.Id;
            _files[batch.OutputFileId] = ("output.jsonl", "batch_output", Encoding.UTF8.GetBytes(output.ToString()));
        }

        if (errors.Length > 0)
        {
            batch.ErrorFileId = "file-err-" + batch.Id;
            _files[batch.ErrorFileId] = ("errors.jsonl", "batch_output", Encoding.UTF8.GetBytes(errors.ToString()));
        }

        batch.Status = batch.Fate == BatchFate.Expire ? "expired" : "completed";
    }

    private string Describe(FakeBatch b) => new JsonObject
    {
        ["id"] = b.Id,
        ["object"] = "batch",
        ["endpoint"] = b.Endpoint,
        ["input_file_id"] = b.InputFileId,
        ["completion_window"] = b.Window,
        ["status"] = CapitalisedStatus ? char.ToUpperInvariant(b.Status[0]) + b.Status[1..] : b.Status,
        ["output_file_id"] = b.OutputFileId,
        ["error_file_id"] = b.ErrorFileId,
        ["errors"] = b.Status == "failed" ? new JsonObject { ["object"] = "list", ["data"] = new JsonArray(new JsonObject { ["code"] = "invalid_request", ["message"] = "fake validation failure", ["line"] = 1 }) } : null,
        ["request_counts"] = new JsonObject { ["total"] = b.Total, ["completed"] = b.Completed, ["failed"] = b.Failed },
    }.ToJsonString();

    /// <summary>The purpose, file name and file bytes of a multipart upload.</summary>
    private static (string Purpose, string Name, byte[] Content) Multipart(string contentType, byte[] body)
    {
        var boundary = contentType.Split(';').Select(p => p.Trim()).First(p => p.StartsWith("boundary=", StringComparison.Ordinal))["boundary=".Length..].Trim('"');
        var marker = Encoding.ASCII.GetBytes("--" + boundary);
        string purpose = string.Empty, name = string.Empty;
        byte[] content = [];
        var at = IndexOf(body, marker, 0);
        while (at >= 0)
        {
            var start = at + marker.Length;
            if (start + 2 <= body.Length && body[start] == '-' && body[start + 1] == '-')
            {
                break;
            }

            start += 2;
            var headerEnd = IndexOf(body, "\r\n\r\n"u8.ToArray(), start);
            var head = Encoding.UTF8.GetString(body, start, headerEnd - start);
            var next = IndexOf(body, marker, headerEnd + 4);
            var part = body[(headerEnd + 4)..(next - 2)];
            if (head.Contains("name=purpose", StringComparison.Ordinal) || head.Contains("name=\"purpose\"", StringComparison.Ordinal))
            {
                purpose = Encoding.UTF8.GetString(part);
            }
            else if (head.Contains("name=file", StringComparison.Ordinal) || head.Contains("name=\"file\"", StringComparison.Ordinal))
            {
                content = part;
                var fn = head.IndexOf("filename=", StringComparison.Ordinal);
                name = head[(fn + "filename=".Length)..].Split(';', '\r', '\n')[0].Trim('"');
            }

            at = next;
        }

        return (purpose, name, content);
    }

    private static int IndexOf(byte[] haystack, byte[] needle, int from)
    {
        var i = haystack.AsSpan(from).IndexOf(needle);
        return i < 0 ? -1 : from + i;
    }
}

/// <summary>A batch the fake holds.</summary>
public sealed class FakeBatch(int index, string id, string inputFileId, string endpoint, string window, BatchFate fate)
{
    public int Index { get; } = index;

    public string Id { get; } = id;

    public string InputFileId { get; } = inputFileId;

    public string Endpoint { get; } = endpoint;

    public string Window { get; } = window;

    public BatchFate Fate { get; } = fate;

    public string Status { get; set; } = "validating";

    public long Total { get; set; }

    public long Completed { get; set; }

    public long Failed { get; set; }

    public string? OutputFileId { get; set; }

    public string? ErrorFileId { get; set; }
}
