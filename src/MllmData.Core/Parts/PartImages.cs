using System.Globalization;
using System.Text.Json.Nodes;
using MllmData.Images;

namespace MllmData.Parts;

/// <summary>
/// The image stage under a split: each event carries what the duplicate check saw of its record's images, and the part
/// its stage counters; the merge replays the check over every part in run order, so repeats across workers count as
/// one process counts them.
/// </summary>
public static class PartImages
{
    public static string Flags(int source, IReadOnlyList<ImageFact> facts) => new JsonObject
    {
        ["source"] = source,
        ["images"] = new JsonArray([.. facts.Select(f => (JsonNode)new JsonArray(
            f.Sha256 is null ? null : JsonValue.Create(f.Sha256),
            f.PerceptualHash is { } h ? JsonValue.Create(h.ToString("x16", CultureInfo.InvariantCulture)) : null,
            JsonValue.Create(f.Path)))]),
    }.ToJsonString();

    public static JsonObject Summary(ImageSummary summary, ImageSettings settings)
    {
        var rejected = new JsonObject();
        foreach (var (reason, n) in summary.Rejected.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            rejected[reason] = n;
        }

        return new JsonObject
        {
            ["mode"] = settings.Mode,
            ["near_duplicate_distance"] = settings.NearDuplicateDistance,
            ["checked"] = summary.Checked,
            ["rejected"] = rejected,
        };
    }

    /// <summary>The replay of the duplicate check at the merge: one image history per source.</summary>
    public sealed class Replay(int nearDistance)
    {
        private readonly Dictionary<int, SeenImages> _bySource = [];

        public long ExactDuplicates { get; private set; }

        public long NearDuplicates { get; private set; }

        public void See(string flags)
        {
            var o = JsonNode.Parse(flags)!.AsObject();
            var source = (int)o["source"]!;
            if (!_bySource.TryGetValue(source, out var seen))
            {
                _bySource[source] = seen = new SeenImages(nearDistance);
            }

            foreach (var image in o["images"]!.AsArray().OfType<JsonArray>())
            {
                var hash = (string?)image[1] is { } h ? ulong.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : (ulong?)null;
                switch (seen.See((string?)image[0], hash, (string)image[2]!).Kind)
                {
                    case DuplicateKind.Exact:
                        ExactDuplicates++;
                        break;
                    case DuplicateKind.Near:
                        NearDuplicates++;
                        break;
                }
            }
        }

        /// <summary>The manifest's images section: the parts' counters summed, the repeats as replayed.</summary>
        public ImageSummary Total(IEnumerable<JsonObject> parts)
        {
            var total = new ImageSummary { ExactDuplicates = ExactDuplicates, NearDuplicates = NearDuplicates };
            foreach (var p in parts)
            {
                total.Checked += (long)p["checked"]!;
                foreach (var (reason, n) in p["rejected"]!.AsObject())
                {
                    total.Rejected[reason] = total.Rejected.GetValueOrDefault(reason) + (long)n!;
                }
            }

            return total;
        }
    }
}
