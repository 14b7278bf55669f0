using System.Text.Json;

namespace MllmData.ModelCalls;

/// <summary>US dollars per million input and output tokens, by model name (longest matching prefix wins).</summary>
public sealed class PriceTable
{
    /// <summary>The Batch API's price as a fraction of the listed one when the table does not say (OpenAI and Azure: half).</summary>
    public const decimal DefaultBatchFraction = 0.5m;

    private readonly List<(string Prefix, decimal Input, decimal Output)> _prices;

    private PriceTable(List<(string, decimal, decimal)> prices, decimal batchFraction)
    {
        _prices = prices;
        BatchFraction = batchFraction;
    }

    /// <summary>Batch price / listed price (<c>batch_price_fraction</c> in the table, default 0.5).</summary>
    public decimal BatchFraction { get; }

    /// <summary>The table shipped in the tool (ModelCalls/prices.json), or a JSON file of the same shape.</summary>
    public static PriceTable Load(string? path = null)
    {
        using var stream = path is null
            ? typeof(PriceTable).Assembly.GetManifestResourceStream("MllmData.ModelCalls.prices.json")!
            : File.Exists(path) ? File.OpenRead(path) : throw new UsageException($"price table '{path}' does not exist");
        using var doc = JsonDocument.Parse(stream);
        var prices = new List<(string, decimal, decimal)>();
        foreach (var model in doc.RootElement.GetProperty("models").EnumerateObject())
        {
            prices.Add((model.Name, model.Value.GetProperty("input_per_million").GetDecimal(), model.Value.GetProperty("output_per_million").GetDecimal()));
        }

        var fraction = doc.RootElement.TryGetProperty("batch_price_fraction", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetDecimal() : DefaultBatchFraction;
        if (fraction is <= 0 or > 1)
        {
            throw new UsageException($"price table: batch_price_fraction must be more than 0 and at most 1, got {fraction}");
        }

        return new PriceTable([.. prices.OrderByDescending(p => p.Item1.Length)], fraction);
    }

    /// <summary>Estimated cost; null when the model is not in the table.</summary>
    public decimal? Cost(string model, long inputTokens, long outputTokens)
    {
        foreach (var (prefix, input, output) in _prices)
        {
            if (model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return ((inputTokens * input) + (outputTokens * output)) / 1_000_000m;
            }
        }

        return null;
    }

    /// <summary>Estimated cost through the Batch API (<see cref="BatchFraction"/> of the listed price); null when the model is not in the table.</summary>
    public decimal? BatchCost(string model, long inputTokens, long outputTokens) => Cost(model, inputTokens, outputTokens) * BatchFraction;
}
