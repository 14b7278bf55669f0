using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MllmData.Adapters;
using MllmData.ModelCalls;
using MllmData.Output;
using MllmData.Parts;
using System.Text.Json.Nodes;
using MllmData.Pipeline;
using MllmData.Recipes;
using MllmData.Formats;
using MllmData.Templates;
using Serilog;
using MllmData.Inputs;

namespace MllmData.Generation;

/// <summary>Runs self-instruct from its settings: contexts from the caption adapter, the call path, a record sink and a manifest.</summary>
public static class SelfInstructRunner
{
    /// <summary>Symbolic image contexts: COCO captions (+ instances for boxes), or captions grouped by image from any caption adapter.</summary>
    public static async Task<List<ImageContext>> LoadContextsAsync(SelfInstructSettings s, InputFiles files, CancellationToken ct)
    {
        var adapter = AdapterRegistry.Get(s.Adapter);
        if (adapter is CocoCaptionsAdapter)
        {
            var captions = s.Inputs.TryGetValue("captions", out var c) ? c : throw new UsageException("self-instruct needs --input captions=FILE");
            var instances = s.Inputs.TryGetValue("instances", out var i) ? i : null;
            using var first = files.Open(captions);
            using var boxes = instances is null ? null : files.Open(instances);
            Stream? second = null;
            try
            {
                return ImageContext.FromCoco(first, captions, () => second = files.Open(captions), boxes, instances);
            }
            finally
            {
                second?.Dispose();
            }
        }

        if (s.Inputs.ContainsKey("instances"))
        {
            throw new UsageException("--input instances=FILE (object boxes) goes with the coco-captions adapter only");
        }

        // Any other caption adapter: captions grouped by image, in order of first appearance.
        var byImage = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        var context = new SourceContext { SourceName = adapter.Name, Inputs = s.Inputs, Files = files, IncludeDetail = true };
        await foreach (var item in adapter.ReadAsync(context, ct).ConfigureAwait(false))
        {
            if (item.Record is not { Task: "caption" } r || r.Images.Count == 0)
            {
                continue;
            }

            var path = r.Images[0].Path;
            if (!byImage.TryGetValue(path, out var list))
            {
                byImage[path] = list = [];
                order.Add(path);
            }

            list.AddRange(r.Turns.Select(t => t.Output).OfType<string>());
            if (r.Provenance.Extra?["other_captions"] is System.Text.Json.Nodes.JsonArray others)
            {
                list.AddRange(others.Select(o => (string)o!));
            }
        }

        return [.. order.Select(p => new ImageContext(p, p, 0, 0, byImage[p], []))];
    }

    public static async Task<DryRunTotals> DryRunAsync(SelfInstructSettings s, TemplateLibrary library, ILogger log, long seed, CancellationToken ct)
    {
        var contexts = await LoadContextsAsync(s, new InputFiles(), ct).ConfigureAwait(false);
        var generator = new SelfInstructor(library, Options(s, seed, library, contexts), log);
        using var cache = File.Exists(s.CachePath) ? new ResponseCache(s.CachePath) : null;
        return generator.DryRun(contexts, ModelEndpoints.Identity(s.EndpointKind, s.Model), cache, PriceTable.Load(s.PriceTable), s.Model);
    }

    private static SelfInstructOptions Options(SelfInstructSettings s, long seed, TemplateLibrary library, List<ImageContext> contexts)
    {
        ToolCatalogue? tools = null;
        if (s.Kinds.Contains(ToolUse.Kind, StringComparer.Ordinal))
        {
            tools = ToolCatalogue.Load(ToolCatalogue.Resolve(s.Tools, library.Root));
            if (tools.NeedsObjects && contexts.All(c => c.Objects.Count == 0))
            {
                throw new UsageException($"tool-use: {tools.Path} has tools whose results come from object annotations (detect, count, crop); give the coco-captions adapter --input instances=FILE");
            }
        }

        return Options(s, seed) with { Tools = tools, Categories = tools is null ? new HashSet<string>() : ToolUse.Categories(contexts) };
    }

    private static SelfInstructOptions Options(SelfInstructSettings s, long seed) => new()
    {
        Kinds = s.Kinds,
        PerImage = Math.Max(1, s.PerImage),
        FewShot = s.FewShot,
        Seed = seed,
        MaxOutputTokens = s.MaxOutputTokens,
        Temperature = s.Temperature,
        File = s.Inputs.TryGetValue("captions", out var c) ? c : s.Inputs.Values.FirstOrDefault() ?? string.Empty,
        Window = Math.Max(16, s.Concurrency * 4),
        Hallucination = s.Hallucination,
        CocoContexts = AdapterRegistry.Get(s.Adapter) is CocoCaptionsAdapter,
    };

    public static async Task<SelfInstructResult> RunAsync(SelfInstructSettings s, Recipe output, string outDir, TemplateLibrary library, ILogger log, CancellationToken ct, WorkSplit? split = null)
    {
        CheckFormat(output);
        var settings = s.ToCallSettings();
        var model = ModelEndpoints.FromEnvironment(s.EndpointKind, s.Model, settings.PerTryTimeout, settings.MaxResponseBytes);
        using var cache = new ResponseCache(s.CachePath);
        using var calls = new ModelCallPath(model, cache, settings, PriceTable.Load(s.PriceTable));
        return await RunAsync(s, output, outDir, library, calls, log, ct, split).ConfigureAwait(false);
    }

    /// <summary>Self-instruct can write this output format (it writes image paths, never embedded images).</summary>
    public static void CheckFormat(Recipe output)
    {
        var format = FormatRegistry.Get(output.Format);
        if (BuildPipeline.Embeds(format, BuildPipeline.RenderOptionsOf(output, format)))
        {
            throw new UsageException($"self-instruct writes image paths; for {output.Format} give --image-url-prefix, or build llava/sharegpt and convert");
        }
    }

    /// <summary>Every request a run would make, in its order (the Batch path's input).</summary>
    public static async Task<IEnumerable<ChatRequest>> RequestsAsync(SelfInstructSettings s, TemplateLibrary library, ILogger log, long seed, CancellationToken ct)
    {
        var contexts = await LoadContextsAsync(s, new InputFiles(), ct).ConfigureAwait(false);
        return new SelfInstructor(library, Options(s, seed), log).Requests(contexts);
    }

    /// <summary>A run through the given call path (the synchronous path's, or the Batch path's finishing one).</summary>
    public static async Task<SelfInstructResult> RunAsync(SelfInstructSettings s, Recipe output, string outDir, TemplateLibrary library, ModelCallPath calls, ILogger log, CancellationToken ct, WorkSplit? split = null)
    {
        CheckFormat(output);
        var files = new InputFiles();
        var contexts = await LoadContextsAsync(s, files, ct).ConfigureAwait(false);
        var format = FormatRegistry.Get(output.Format);
        var generator = new SelfInstructor(library, Options(s, output.Seed, library, contexts), log);
        var options = BuildPipeline.RenderOptionsOf(output, format);
        using var folder = OutputFolder.Open(outDir, s.Inputs.Values);
        var paths = SourcePaths.ForInputs(output.Folder, s.Inputs.Values);
        SelfInstructResult result;
        SinkResult written;
        PartWriter? events;
        string? eventsSha;
        using (var sink = new RecordSink(folder, new SinkSettings(output.Name, format, options, output.ShardRecords, output.ShardBytes, output.Strict), log, new ProgressCounter(), part: split is not null) { Paths = paths })
        {
            result = await generator.RunAsync(contexts, sink, calls, ct, split).ConfigureAwait(false);
            written = sink.Complete();
            (events, eventsSha) = (sink.Part, sink.PartSha256);
        }

        var usage = calls.Usage;
        var cost = calls.EstimatedCost;
        usage.WarnIfEstimated(log, "self-instruct");
        var describe = JsonSerializer.Serialize(new { s.Adapter, s.Kinds, s.PerImage, s.FewShot, s.Temperature, s.MaxOutputTokens, s.Model, output.Format, output.Seed, generator.PromptVersions });
        if (split is not null)
        {
            var part = PartManifest.Header(PartManifest.SelfInstructKind, split, output.Name, format, options, output.ShardRecords, output.ShardBytes, output.Seed, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(describe))));
            part["inputs"] = PartManifest.Inputs(paths.Keys(await files.HashesAsync().ConfigureAwait(false)));
            part["templates_sha256"] = library.Sha256([]);
            part["model"] = s.Model;
            part["price_table"] = s.PriceTable;
            part["kinds"] = new JsonArray([.. s.Kinds.Select(k => (JsonNode)k)]);
            var versions = new JsonObject();
            foreach (var (kind, v) in generator.PromptVersions)
            {
                versions[kind] = v;
            }

            part["prompt_versions"] = versions;
            part["near_duplicate_threshold"] = 0.7;
            part["capped"] = result.Capped;
            part["cap"] = result.CapReason;
            part["usage"] = usage.ToJson();
            if (result.Hallucinations is { } tally)
            {
                part["hallucination"] = new JsonObject { ["mode"] = s.Hallucination, ["counts"] = tally.ToCounts() };
            }

            PartManifest.Complete(part, events!, eventsSha!, written.RejectsByReason);
            PartManifest.Write(folder.Staging, part);
            folder.Commit(OutputFolder.PartFile);
            return result;
        }

        var manifest = new Manifest
        {
            Name = output.Name,
            Format = output.Format,
            ToolVersion = BuildPipeline.ToolVersion,
            Seed = output.Seed,
            RecipeSha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(describe))),
            Records = written.Records,
            Shards = written.Shards,
            Rejects = written.Rejects,
            RejectsByReason = written.RejectsByReason,
            Inputs = paths.Keys(await files.HashesAsync().ConfigureAwait(false)),
            Container = options.Container,
            Parquet = options.Parquet(format),
            WriteExtra = w =>
            {
                w.WriteStartObject("self_instruct");
                w.WriteString("model", s.Model);
                w.WriteStartObject("records_by_kind");
                foreach (var (kind, n) in result.RecordsByKind)
                {
                    w.WriteNumber(kind, n);
                }

                w.WriteEndObject();
                w.WriteStartObject("prompt_versions");
                foreach (var (kind, v) in generator.PromptVersions)
                {
                    w.WriteString(kind, v);
                }

                w.WriteEndObject();
                w.WriteBoolean("capped", result.Capped);
                if (result.CapReason is { } cap)
                {
                    w.WriteString("cap", cap);
                }

                w.WriteNumber("near_duplicate_threshold", 0.7);
                w.WriteNumber("max_kept_question_rouge_l", Math.Round(result.MaxKeptRougeL, 4));
                w.WriteEndObject();
                result.Hallucinations?.WriteTo(w, s.Hallucination);
                usage.WriteTo(w, cost);
            },
        };
        manifest = DatasetCard.WriteDerived(folder.Staging, manifest, "self-instruct", library, options.ImageToken);
        AtomicFile.Write(Path.Combine(folder.Staging, OutputFolder.ManifestFile), manifest.WriteTo);
        folder.Commit();
        return result;
    }
}
