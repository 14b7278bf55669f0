using System.Text.Json;

namespace MllmData.ModelCalls.Batch;

/// <summary>
/// One line of a batch output or error file: <c>{"custom_id", "response": {"status_code", "body"}, "error"}</c>. An
/// answer is read and checked by the same rules as a synchronous reply (no choices: malformed; no text: empty; past the
/// size cap: too large); a status other than 200 is classified as the synchronous path classifies it; a line the batch
/// never ran (expired, cancelled) is unanswered.
/// </summary>
public sealed record BatchLine(string? CustomId, ChatResult? Answer, ModelCallException? Failure, bool Unanswered)
{
    public static BatchLine Parse(ReadOnlyMemory<byte> line, long maxResponseBytes)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("a batch result line is a JSON object");
        }

        var id = root.TryGetProperty("custom_id", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (id is null || id.Length != 64 || !id.All(char.IsAsciiHexDigitLower))
        {
            return new BatchLine(null, null, null, false);
        }

        if (root.TryGetProperty("response", out var response) && response.ValueKind == JsonValueKind.Object
            && response.TryGetProperty("status_code", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var status))
        {
            if (status == 200)
            {
                if (!response.TryGetProperty("body", out var body))
                {
                    return new BatchLine(id, null, new ModelCallException(ModelFailure.Malformed, "the response has no body"), false);
                }

                try
                {
                    var result = OpenAiChatModel.ReadReply(BinaryData.FromString(body.GetRawText()));
                    return System.Text.Encoding.UTF8.GetByteCount(result.Text) > maxResponseBytes
                        ? new BatchLine(id, null, new ModelCallException(ModelFailure.TooLarge, $"the reply is larger than the {maxResponseBytes}-byte cap"), false)
                        : new BatchLine(id, result, null, false);
                }
                catch (ModelCallException ex)
                {
                    return new BatchLine(id, null, ex, false);
                }
            }

            var kind = status switch
            {
                429 => ModelFailure.RateLimited,
                408 => ModelFailure.Timeout,
                >= 500 => ModelFailure.ServerError,
                _ => ModelFailure.ClientError,
            };
            return new BatchLine(id, null, new ModelCallException(kind, $"HTTP {status} from the model endpoint", null, status), false);
        }

        var code = root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var cd) && cd.ValueKind == JsonValueKind.String
            ? cd.GetString()
            : null;
        var message = code switch
        {
            "batch_expired" => "the batch expired before this request was answered",
            "batch_cancelled" => "the batch was cancelled before this request was answered",
            null => "the batch gave no response for this request",
            _ => $"the batch could not run this request ({code})",
        };
        return new BatchLine(id, null, new ModelCallException(ModelFailure.Timeout, message), Unanswered: true);
    }
}
