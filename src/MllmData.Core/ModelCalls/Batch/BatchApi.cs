using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MllmData.ModelCalls.Batch;

/// <summary>A batch as the Batches API reports it.</summary>
public sealed record BatchInfo(string Id, string Status, string? InputFileId, string? OutputFileId, string? ErrorFileId, long Total, long Completed, long Failed)
{
    /// <summary>Messages of a batch that failed validation (<c>errors.data[].message</c>, with the line when given).</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>No further change will come: completed, failed, expired or cancelled.</summary>
    public bool Terminal => Status is "completed" or "failed" or "expired" or "cancelled";
}

/// <summary>A Files or Batches call failed. Its message names the call and the status, never the key.</summary>
public sealed class BatchApiException : Exception
{
    public BatchApiException(string message, int? status = null, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
    }

    public BatchApiException()
    {
    }

    public BatchApiException(string message)
        : base(message)
    {
    }

    public BatchApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int? Status { get; }
}

/// <summary>
/// The Files and Batches endpoints over plain <see cref="HttpClient"/>: uploads stream from disk (multipart,
/// <c>purpose=batch</c>), downloads stream to disk, so memory does not grow with file size. Transient failures (429,
/// 5xx, transport) are retried with backoff, honouring Retry-After; creating a batch is retried only when the server
/// says it did nothing (429, 502, 503, 504), so a lost reply never makes two batches.
/// </summary>
public sealed class BatchApi : IDisposable
{
    private static readonly TimeSpan TransferTimeout = TimeSpan.FromMinutes(30);
    private readonly BatchEndpoint _endpoint;
    private readonly HttpClient _http;
    private readonly int _maxRetries;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _timeout;
    private readonly Func<TimeSpan, CancellationToken, Task> _wait;

    public BatchApi(BatchEndpoint endpoint, CallSettings settings, Func<TimeSpan, CancellationToken, Task>? wait = null)
    {
        _endpoint = endpoint;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
        _maxRetries = settings.MaxRetries;
        _baseDelay = settings.BaseDelay;
        _timeout = settings.PerTryTimeout;
        _wait = wait ?? ((delay, ct) => Task.Delay(delay, ct));
    }

    /// <summary>Uploads a Batch input file (<c>POST files</c>, multipart, purpose=batch); its file id.</summary>
    public async Task<string> UploadAsync(string path, CancellationToken ct)
    {
        using var response = await SendAsync("upload " + Path.GetFileName(path), () =>
        {
            var content = new MultipartFormDataContent
            {
                { new StringContent("batch"), "purpose" },
            };
            var file = new StreamContent(File.OpenRead(path));
            file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Add(file, "file", Path.GetFileName(path));
            return new HttpRequestMessage(HttpMethod.Post, _endpoint.Resource("files")) { Content = content };
        }, idempotent: true, TransferTimeout, ct).ConfigureAwait(false);
        using var doc = await ReadJsonAsync(response, "upload", ct).ConfigureAwait(false);
        return Str(Of(doc.RootElement, "file", $"upload of {Path.GetFileName(path)}"), "id") ?? throw new BatchApiException($"the Files API answered the upload of {Path.GetFileName(path)} without a file id");
    }

    /// <summary>Creates a batch over an uploaded file (<c>POST batches</c>, completion window 24h).</summary>
    public async Task<BatchInfo> CreateAsync(string inputFileId, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["input_file_id"] = inputFileId,
            ["endpoint"] = _endpoint.ChatPath,
            ["completion_window"] = "24h",
        });
        using var response = await SendAsync("create a batch", () => new HttpRequestMessage(HttpMethod.Post, _endpoint.Resource("batches"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        }, idempotent: false, _timeout, ct).ConfigureAwait(false);
        using var doc = await ReadJsonAsync(response, "create a batch", ct).ConfigureAwait(false);
        return Info(Of(doc.RootElement, "batch", "create a batch"));
    }

    /// <summary>A batch's status and request counts (<c>GET batches/{id}</c>).</summary>
    public async Task<BatchInfo> GetAsync(string batchId, CancellationToken ct)
    {
        using var response = await SendAsync("read batch " + batchId, () => new HttpRequestMessage(HttpMethod.Get, _endpoint.Resource("batches/" + Uri.EscapeDataString(batchId))), idempotent: true, _timeout, ct).ConfigureAwait(false);
        using var doc = await ReadJsonAsync(response, "read batch " + batchId, ct).ConfigureAwait(false);
        return Info(Of(doc.RootElement, "batch", "read batch " + batchId));
    }

    /// <summary>Streams a file's content (<c>GET files/{id}/content</c>) to <paramref name="path"/> (written whole or not at all).</summary>
    public async Task DownloadAsync(string fileId, string path, CancellationToken ct)
    {
        using var response = await SendAsync("download " + fileId, () => new HttpRequestMessage(HttpMethod.Get, _endpoint.Resource("files/" + Uri.EscapeDataString(fileId) + "/content")), idempotent: true, TransferTimeout, ct).ConfigureAwait(false);
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + ".tmp");
        try
        {
            await using (var target = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await response.Content.CopyToAsync(target, ct).ConfigureAwait(false);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Sends with retries; the response is a success (the caller disposes it) or a <see cref="BatchApiException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(string what, Func<HttpRequestMessage> make, bool idempotent, TimeSpan timeout, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            BatchApiException failure;
            TimeSpan? retryAfter = null;
            var retryable = false;
            using (var request = make())
            using (var perTry = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                perTry.CancelAfter(timeout);
                if (_endpoint.IsAzure)
                {
                    request.Headers.Add("api-key", _endpoint.ApiKey);
                }
                else
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _endpoint.ApiKey);
                }

                HttpResponseMessage? response = null;
                try
                {
                    response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, perTry.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        return response;
                    }

                    var status = (int)response.StatusCode;
                    response.Headers.TryGetValues("retry-after-ms", out var ms);
                    response.Headers.TryGetValues("Retry-After", out var ra);
                    retryAfter = RetryAfterHeader.Parse(ms?.FirstOrDefault(), ra?.FirstOrDefault(), DateTimeOffset.UtcNow);
                    failure = new BatchApiException($"{what}: HTTP {status} from the {(_endpoint.IsAzure ? "Azure OpenAI" : "OpenAI")} endpoint{await ErrorMessageAsync(response, ct).ConfigureAwait(false)}", status);
                    retryable = status is 429 or 502 or 503 or 504 || (idempotent && status >= 500);
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
                {
                    failure = new BatchApiException($"{what}: {(ex is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : "transport error: " + ex.Message)}", null, ex);
                    retryable = idempotent || (ex is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } && !ct.IsCancellationRequested);
                }
                finally
                {
                    if (response is { IsSuccessStatusCode: false })
                    {
                        response.Dispose();
                    }
                }
            }

            if (!retryable || attempt >= _maxRetries)
            {
                throw failure;
            }

            var full = Math.Min(60, _baseDelay.TotalSeconds * Math.Pow(2, Math.Min(attempt, 30)));
            await _wait(retryAfter is { } asked && asked > TimeSpan.Zero ? asked : TimeSpan.FromSeconds(full * (0.5 + (Random.Shared.NextDouble() * 0.5))), ct).ConfigureAwait(false);
        }
    }

    /// <summary>The server's own error message, shortened; never headers.</summary>
    private async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            using var doc = JsonDocument.Parse(text.Length > 65_536 ? text[..65_536] : text);
            var message = doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? Str(e, "message") : null;

            // A server may echo what it was sent, the key among it: the key never reaches a message.
            if (message is not null && _endpoint.ApiKey is { Length: > 0 } key)
            {
                message = message.Replace(key, "[the API key]", StringComparison.Ordinal);
            }

            return message is null ? string.Empty : ": " + (message.Length > 300 ? message[..297] + "..." : message);
        }
        catch (Exception ex) when (ex is JsonException or HttpRequestException or IOException)
        {
            return string.Empty;
        }
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            return await JsonDocument.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new BatchApiException($"{what}: the answer is not JSON ({ex.Message})");
        }
    }

    /// <summary>
    /// The answer as the object asked for: a JSON object whose <c>object</c> field, when it has one, names that kind (an endpoint
    /// that answers with something else, such as a chat completion, is not the Files or Batches API).
    /// </summary>
    internal static JsonElement Of(JsonElement root, string kind, string what)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new BatchApiException($"{what}: the answer is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not a {kind} object");
        }

        return root.TryGetProperty("object", out var o) && (o.ValueKind != JsonValueKind.String || o.GetString() != kind)
            ? throw new BatchApiException($"{what}: the answer is {(o.ValueKind == JsonValueKind.String ? $"a \"{Shown(o.GetString()!)}\" object" : "an object of no kind")}, not a {kind} object; does the endpoint serve the {(kind == "file" ? "Files" : "Batches")} API?")
            : root;
    }

    /// <summary>A name from the answer, cut short and without control characters, for a message.</summary>
    private static string Shown(string text)
    {
        var clean = new string([.. text.Take(40).Select(c => char.IsControl(c) ? '?' : c)]);
        return text.Length > 40 ? clean + "..." : clean;
    }

    /// <summary>A batch object; Azure writes statuses capitalised (<c>Validating</c>), so they are lower-cased.</summary>
    internal static BatchInfo Info(JsonElement root)
    {
        var counts = root.TryGetProperty("request_counts", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var errors = new List<string>();
        if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in data.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object).Take(20))
            {
                var line = item.TryGetProperty("line", out var l) && l.ValueKind == JsonValueKind.Number ? string.Create(CultureInfo.InvariantCulture, $"line {l.GetInt64()}: ") : string.Empty;
                errors.Add(line + (Str(item, "code") is { } code ? code + ": " : string.Empty) + (Str(item, "message") ?? "no message"));
            }
        }

        return new BatchInfo(
            Str(root, "id") ?? throw new BatchApiException("the Batches API answered without a batch id"),
            (Str(root, "status") ?? "unknown").ToLowerInvariant(),
            Str(root, "input_file_id"),
            Str(root, "output_file_id"),
            Str(root, "error_file_id"),
            Count(counts, "total"),
            Count(counts, "completed"),
            Count(counts, "failed")) { Errors = errors };
    }

    private static long Count(JsonElement counts, string name) =>
        counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt64(out var v) ? v : 0;

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;

    public void Dispose() => _http.Dispose();
}
