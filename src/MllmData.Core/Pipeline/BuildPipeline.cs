using System.Reflection;
using MllmData.Adapters;
using MllmData.Images;
using MllmData.Model;
using MllmData.Output;
using MllmData.Recipes;
using MllmData.Rendering;
using MllmData.Templates;
using Serilog;

namespace MllmData.Pipeline;

/// <summary>What a finished build produced.</summary>
public sealed record BuildResult(long Records, long Rejects, IReadOnlyList<ShardInfo> Shards, string ManifestPath, IReadOnlyDictionary<string, long> RejectsByReason);

/// <summary>A reject under <c>--strict</c>: the build stops and leaves no shard behind.</summary>
public sealed class StrictRejectException(Reject reject)
    : Exception($"--strict: {reject.File}: {reject.Position}: {reject.Reason}: {reject.Detail}")
{
    public Reject Reject { get; } = reject;
}

/// <summary>Adapter → templates → checks → renderer → shards, streaming, in input order.</summary>
public sealed class BuildPipeline(TemplateLibrary templates, ILogger log)
{
    public static string ToolVersion { get; } =
        typeof(BuildPipeline).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public async Task<BuildResult> RunAsync(Recipe recipe, string outDir, ProgressCounter progress, CancellationToken ct)
    {
        RecipeLoader.Validate(recipe);
        var renderOptions = new RenderOptions
        {
            Bos = recipe.Tokens.Bos,
            Eos = recipe.Tokens.Eos,
            ImageToken = recipe.Tokens.Image,
            IncludeMeta = recipe.Meta ?? RendererRegistry.MetaByDefault(recipe.Format),
            ImageUrlPrefix = recipe.ImageUrlPrefix,
            SystemPrompt = recipe.SystemPrompt,
        };
        var embed = RendererRegistry.EmbedsImages(recipe.Format, renderOptions);
        var imageSettings = recipe.Images;
        if (embed && imageSettings.Mode is "none" or "reference" or "copy")
        {
            // Formats that carry the pixels embed them; the other checks of the stage come with it.
            imageSettings = new ImageSettings
            {
                Mode = "embed", MaxSide = imageSettings.MaxSide, CenterCrop = imageSettings.CenterCrop, JpegQuality = imageSettings.JpegQuality,
                MaxBytes = imageSettings.MaxBytes, MaxPixels = imageSettings.MaxPixels, MaxSidePixels = imageSettings.MaxSidePixels,
                AllocationLimitMegabytes = imageSettings.AllocationLimitMegabytes, DecodeTimeout = imageSettings.DecodeTimeout, Dedup = imageSettings.Dedup,
                NearDuplicateDistance = imageSettings.NearDuplicateDistance, AllowWebpGif = imageSettings.AllowWebpGif,
            };
        }

        var imageSummaries = new List<ImageSummary>();

        // Resolve every source's pieces before writing anything, so usage errors leave no files.
        var plans = recipe.Sources.Select(s =>
        {
            var adapter = AdapterRegistry.Get(s.Adapter);
            if (embed && s.ImageRoot is null)
            {
                throw new UsageException($"format {recipe.Format} embeds the images: source '{s.Name ?? adapter.Name}' needs --image-root" + (recipe.Format == "openai" ? " (or give --image-url-prefix)" : string.Empty));
            }

            if (imageSettings.Active && s.ImageRoot is null)
            {
                throw new UsageException($"--images {imageSettings.Mode}: source '{s.Name ?? adapter.Name}' needs --image-root");
            }

            // A named pack serves every record; otherwise each task gets its own pack, made when first needed.
            var suffixTurns = s.SuffixTurns == "first" ? SuffixTurns.First : SuffixTurns.Every;
            var engines = new Dictionary<string, TemplateEngine>(StringComparer.Ordinal);
            TemplateEngine Engine(string task)
            {
                var key = s.Templates is null ? task : string.Empty;
                if (!engines.TryGetValue(key, out var engine))
                {
                    var packId = s.Templates ?? TaskPacks.For(task) ?? throw new UsageException($"no template pack for task '{task}'; give --templates");
                    engines[key] = engine = new TemplateEngine(templates.Get(packId), recipe.Seed, s.TemplateTags, s.Suffix, suffixTurns);
                }

                return engine;
            }

            if (s.Templates is not null)
            {
                _ = Engine(string.Empty);
            }

            return (Spec: s, Adapter: adapter, Engine: (Func<string, TemplateEngine>)Engine, Name: s.Name ?? adapter.Name);
        }).ToList();

        var files = new InputFiles();
        using var sink = new RecordSink(outDir, recipe.Name, recipe.Format, renderOptions, recipe.ShardRecords, recipe.ShardBytes, recipe.Strict, log, progress);
        void Reject(Reject r) => sink.Reject(r);

        foreach (var plan in plans)
        {
            log.Information("source {Source}: adapter {Adapter}, templates {Pack}", plan.Name, plan.Adapter.Name, plan.Spec.Templates ?? "by task");
            var context = new SourceContext
            {
                SourceName = plan.Name,
                Inputs = plan.Spec.Inputs,
                Options = plan.Spec.Options,
                Map = plan.Spec.Map,
                ImageRoot = plan.Spec.ImageRoot,
                Files = files,
                Progress = progress,
                IncludeDetail = renderOptions.IncludeMeta,
            };
            var stage = imageSettings.Active ? new ImageStage(imageSettings, plan.Spec.ImageRoot!, outDir) : null;
            var images = plan.Spec.ImageRoot is null || stage is not null ? null : new ImageRootCheck(plan.Spec.ImageRoot);
            var pending = new List<InstructionRecord>(64);
            void Write(InstructionRecord record)
            {
                if (plan.Spec.ImagePrefix is { Length: > 0 } prefix)
                {
                    record = record with { Images = [.. record.Images.Select(i => i with { Path = prefix + i.Path })] };
                }

                sink.Write(record);
            }

            async Task Flush()
            {
                foreach (var (done, rejected) in await stage!.ProcessAsync(pending, ct).ConfigureAwait(false))
                {
                    if (rejected is not null)
                    {
                        Reject(rejected);
                    }
                    else
                    {
                        Write(done!);
                    }
                }

                pending.Clear();
            }

            long before = sink.Records;
            await foreach (var item in plan.Adapter.ReadAsync(context, ct).ConfigureAwait(false))
            {
                if (item.Reject is { } rejected)
                {
                    Reject(rejected);
                    continue;
                }

                var record = item.Record!;
                if (images?.Check(record) is { } imageReject)
                {
                    Reject(imageReject);
                    continue;
                }

                if (LiteralToken(record, renderOptions.ImageToken) is { } tokenReject)
                {
                    Reject(tokenReject);
                    continue;
                }

                if (!TemplateEngine.IsInstructed(record))
                {
                    record = plan.Engine(record.Task).Apply(record);
                }
                if (recipe.Format == "m3it" && record.Turns.Count > 1)
                {
                    Reject(new Reject(record.Source, record.Provenance.File, record.Id, RejectReasons.Unsupported, "m3it holds single-turn records; build without --group-by-image"));
                    continue;
                }

                if (stage is null)
                {
                    Write(record);
                    continue;
                }

                pending.Add(record);
                if (pending.Count == stage.WindowRecords)
                {
                    await Flush().ConfigureAwait(false);
                }
            }

            if (stage is not null)
            {
                await Flush().ConfigureAwait(false);
                imageSummaries.Add(stage.Summary);
                log.Information(
                    "images of {Source}: {Checked} checked, {Exact} exact and {Near} near duplicates, rejected: {Rejected}",
                    plan.Name, stage.Summary.Checked, stage.Summary.ExactDuplicates, stage.Summary.NearDuplicates,
                    stage.Summary.Rejected.Count == 0 ? "none" : string.Join(", ", stage.Summary.Rejected.Select(kv => $"{kv.Key} {kv.Value}")));
            }

            log.Information("source {Source}: {Records} records", plan.Name, sink.Records - before);
        }

        var written = sink.Complete();
        var manifest = new Manifest
        {
            Name = recipe.Name,
            Format = recipe.Format,
            ToolVersion = ToolVersion,
            Seed = recipe.Seed,
            RecipeSha256 = RecipeLoader.Sha256(recipe),
            Records = written.Records,
            Shards = written.Shards,
            Rejects = written.Rejects,
            RejectsByReason = written.RejectsByReason,
            Inputs = await files.HashesAsync().ConfigureAwait(false),
            WriteExtra = imageSummaries.Count == 0 ? null : w =>
            {
                var total = new ImageSummary
                {
                    Checked = imageSummaries.Sum(x => x.Checked),
                    ExactDuplicates = imageSummaries.Sum(x => x.ExactDuplicates),
                    NearDuplicates = imageSummaries.Sum(x => x.NearDuplicates),
                };
                foreach (var (k, v) in imageSummaries.SelectMany(x => x.Rejected))
                {
                    total.Rejected[k] = total.Rejected.GetValueOrDefault(k) + v;
                }

                total.WriteTo(w, imageSettings.Mode);
            },
        };
        var manifestPath = Path.Combine(outDir, "manifest.json");
        AtomicFile.Write(manifestPath, manifest.WriteTo);
        return new BuildResult(written.Records, written.Rejects, written.Shards, manifestPath, written.RejectsByReason);
    }

    /// <summary>A literal image placeholder inside dataset text would be miscounted by every trainer.</summary>
    private static Reject? LiteralToken(InstructionRecord record, string token)
    {
        foreach (var turn in record.Turns)
        {
            var hit = turn.Slots.Values.FirstOrDefault(v => v.Contains(token, StringComparison.Ordinal))
                ?? (turn.Output?.Contains(token, StringComparison.Ordinal) == true ? turn.Output : null)
                ?? (turn.Input?.Contains(token, StringComparison.Ordinal) == true ? turn.Input : null);
            if (hit is not null)
            {
                return new Reject(record.Source, record.Provenance.File, record.Id, RejectReasons.LiteralImageToken, $"dataset text contains the image placeholder {token}");
            }
        }

        return null;
    }
}
