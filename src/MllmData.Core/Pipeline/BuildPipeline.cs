using System.Reflection;
using MllmData.Adapters;
using MllmData.Eval;
using MllmData.Formats;
using MllmData.Images;
using MllmData.Records;
using MllmData.Output;
using MllmData.Pipeline.Steps;
using MllmData.Recipes;
using MllmData.Templates;
using Serilog;
using MllmData.Inputs;

namespace MllmData.Pipeline;

/// <summary>What a finished build produced.</summary>
public sealed record BuildResult(long Records, long Rejects, IReadOnlyList<ShardInfo> Shards, string ManifestPath, IReadOnlyDictionary<string, long> RejectsByReason)
{
    /// <summary>Records and rejects of each source, in build order.</summary>
    public IReadOnlyList<SourceOutcome> Sources { get; init; } = [];
}

/// <summary>A reject under <c>--strict</c>: the build stops and leaves no shard behind.</summary>
public sealed class StrictRejectException(Reject reject)
    : Exception($"--strict: {reject.File}: {reject.Position}: {reject.Reason}: {reject.Detail}")
{
    public Reject Reject { get; } = reject;
}

/// <summary>Adapter → steps → sink, streaming, in input order; the output folder is promoted whole at the end.</summary>
public sealed class BuildPipeline(TemplateLibrary templates, ILogger log)
{
    public static string ToolVersion { get; } =
        typeof(BuildPipeline).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The render settings a recipe asks for, checked against its format.</summary>
    public static RenderOptions RenderOptionsOf(Recipe recipe, IOutputFormat format)
    {
        var options = new RenderOptions
        {
            Bos = recipe.Tokens.Bos,
            Eos = recipe.Tokens.Eos,
            ImageToken = recipe.Tokens.Image,
            IncludeMeta = recipe.Meta ?? format.Capabilities.MetaByDefault,
            ImageUrlPrefix = recipe.ImageUrlPrefix,
            ImageDetail = recipe.ImageDetail,
            SystemPrompt = recipe.SystemPrompt,
            Container = recipe.Container ?? format.Capabilities.Containers[0],
        };
        if (!format.Capabilities.Containers.Contains(options.Container))
        {
            throw new UsageException($"--container {options.Container}: {format.Name} is written as {string.Join(" or ", format.Capabilities.Containers)}");
        }

        if (options.ImageUrlPrefix is not null && format.Capabilities.Images != ImageCarriage.EmbeddedOrUrl)
        {
            throw new UsageException($"--image-url-prefix: {format.Name} carries images as {(format.Capabilities.Images == ImageCarriage.Paths ? "paths" : "embedded bytes")}, not URLs");
        }

        if (options.SystemPrompt is not null && !format.Capabilities.SystemMessage)
        {
            throw new UsageException($"--system-prompt: {format.Name} has no system message");
        }

        format.CheckOptions(options);
        return options;
    }

    /// <summary>Whether the format carries the image bytes with these settings.</summary>
    public static bool Embeds(IOutputFormat format, RenderOptions options) =>
        format.Capabilities.Images == ImageCarriage.Embedded || (format.Capabilities.Images == ImageCarriage.EmbeddedOrUrl && options.ImageUrlPrefix is null);

    public async Task<BuildResult> RunAsync(Recipe recipe, string outDir, ProgressCounter progress, CancellationToken ct)
    {
        RecipeLoader.Validate(recipe);

        // An evaluation build writes question files (answers beside them), never a training format.
        var evaluation = recipe.IsEvaluation;
        IOutputFormat format = evaluation ? new EvalQuestionFormat(recipe.Sources.Count == 1) : FormatRegistry.Get(recipe.Format);
        var renderOptions = RenderOptionsOf(recipe, format);
        var embed = Embeds(format, renderOptions);
        var imageSettings = recipe.Images;
        if (imageSettings.Mode == "embed" && !embed)
        {
            throw new UsageException($"--images embed: {format.Name} carries image paths, not bytes; use --images copy or reference, or an embedding format (openai, m3it)");
        }

        if (embed && imageSettings.Mode is "none" or "reference" or "copy")
        {
            // Formats that carry the pixels embed them; the other checks of the stage come with it.
            imageSettings = imageSettings.WithMode("embed");
        }

        if (embed && format.Capabilities.RgbImagesOnly)
        {
            // OpenAI takes RGB or RGBA images only: greyscale, palette and CMYK ones are converted as they are embedded.
            imageSettings = imageSettings.WithMode(imageSettings.Mode);
            imageSettings.RequireRgb = true;
        }

        // Resolve every source's pieces before writing anything, so usage errors leave no files.
        var plans = recipe.Sources.Select(s => Plan(s, recipe, format, embed, imageSettings)).ToList();
        _decontamination = recipe.Exclude.Count == 0 ? null : new DecontaminationStep(EvalSet.Load(recipe.Exclude));
        plans = _decontamination is { } excluded ? [.. plans.Select(p => p with { Before = [.. p.Before, excluded] })] : plans;
        var inputs = recipe.Sources.SelectMany(s => s.Inputs.Values).Concat(recipe.Exclude).ToList();
        var files = new InputFiles();
        var (paths, tally) = (SourcePaths.For(recipe), new SourceTally());
        using var folder = OutputFolder.Open(outDir, inputs);
        var imageSummaries = new List<ImageSummary>();
        SinkResult written;
        using var answers = evaluation ? new AnswerFileWriter(folder.Staging, recipe.Sources.Count == 1) : null;
        using (var sink = new RecordSink(folder, new SinkSettings(recipe.Name, format, renderOptions, recipe.ShardRecords, recipe.ShardBytes, recipe.Strict), log, progress) { Observer = r => tally.Add(r), Paths = paths, Written = answers is null ? null : answers.Write })
        {
            foreach (var plan in plans)
            {
                var before = sink.Records;
                await RunSourceAsync(plan, folder, sink, files, progress, renderOptions, imageSettings, imageSummaries, ct).ConfigureAwait(false);
                log.Information("source {Source}: {Records} records", plan.Name, sink.Records - before);
                tally.End(plan.Name, plan.Adapter.Name, plan.Spec.Inputs, sink.Records - before);
            }

            written = sink.Complete();
            answers?.Complete();
        }

        var manifest = new Manifest
        {
            Name = recipe.Name,
            Format = format.Name,
            ToolVersion = ToolVersion,
            Seed = recipe.Seed,
            RecipeSha256 = RecipeLoader.Sha256(recipe),
            Records = written.Records,
            Shards = written.Shards,
            Rejects = written.Rejects,
            RejectsByReason = written.RejectsByReason,
            Inputs = paths.Keys(await files.HashesAsync().ConfigureAwait(false)),
            Container = renderOptions.Container,
            UploadLimits = format.Capabilities.UploadLimits,
            SplitReason = written.SplitReason,
            WriteExtra = w =>
            {
                if (imageSummaries.Count > 0)
                {
                    ImageSummary.Total(imageSummaries).WriteTo(w, imageSettings.Mode);
                }

                answers?.WriteManifestSection(w, format.Name);
                _decontamination?.WriteManifestSection(w, paths.Show);
            },
        };
        AtomicFile.Write(Path.Combine(folder.Staging, OutputFolder.ManifestFile), manifest.WriteTo);
        folder.Commit();
        return new BuildResult(written.Records, written.Rejects, written.Shards, Path.Combine(outDir, OutputFolder.ManifestFile), written.RejectsByReason)
        {
            Sources = tally.Sources,
        };
    }

    /// <summary>The <c>--exclude</c> step of the running build: before the image stage, and after it for content hashes.</summary>
    private DecontaminationStep? _decontamination;

    private sealed record SourcePlan(SourceSpec Spec, ISourceAdapter Adapter, string Name, IReadOnlyList<IRecordStep> Before, bool ImageStage);

    private SourcePlan Plan(SourceSpec s, Recipe recipe, IOutputFormat format, bool embed, ImageSettings imageSettings)
    {
        var adapter = AdapterRegistry.Get(s.Adapter);
        var name = s.Name ?? adapter.Name;
        if (embed && s.ImageRoot is null && adapter.Name != "instructions")
        {
            throw new UsageException($"format {format.Name} embeds the images: source '{name}' needs --image-root" + (format.Capabilities.Images == ImageCarriage.EmbeddedOrUrl ? " (or give --image-url-prefix)" : string.Empty));
        }

        if (imageSettings.Active && s.ImageRoot is null && adapter.Name != "instructions")
        {
            throw new UsageException($"--images {imageSettings.Mode}: source '{name}' needs --image-root");
        }

        var steps = new List<IRecordStep>();
        var stage = imageSettings.Active && s.ImageRoot is not null;
        if (s.ImageRoot is not null && !stage)
        {
            steps.Add(new ImageRootStep(new ImageRootCheck(s.ImageRoot)));
        }

        steps.Add(new LiteralTokenStep(recipe.Tokens.Image));
        steps.Add(new TemplateStep(s, templates, recipe.Seed, format.Capabilities.SeparateInput));
        return new SourcePlan(s, adapter, name, steps, stage);
    }

    private async Task RunSourceAsync(
        SourcePlan plan, OutputFolder folder, RecordSink sink, InputFiles files, ProgressCounter progress, RenderOptions renderOptions,
        ImageSettings imageSettings, List<ImageSummary> imageSummaries, CancellationToken ct)
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

        // After the image stage: the prefix, then inline images written out for formats that carry paths.
        var after = new List<IRecordStep>();
        if (plan.Spec.ImagePrefix is { Length: > 0 } prefix)
        {
            after.Add(new ImagePrefixStep(prefix));
        }

        if (!Embeds(sink.Format, renderOptions))
        {
            after.Add(new InlineImageStep(folder.Root));
        }

        if (plan.ImageStage && _decontamination is { } excluded)
        {
            after.Insert(0, excluded);
        }

        var stage = plan.ImageStage ? new ImageStage(imageSettings, plan.Spec.ImageRoot!, folder.Root) : null;
        var pending = new List<InstructionRecord>(64);
        await foreach (var item in plan.Adapter.ReadAsync(context, ct).ConfigureAwait(false))
        {
            if (Through(item, plan.Before, sink) is not { } record)
            {
                continue;
            }

            if (stage is null)
            {
                Finish(record, after, sink);
                continue;
            }

            pending.Add(record);
            if (pending.Count == stage.WindowRecords)
            {
                await FlushAsync(stage, pending, after, sink, ct).ConfigureAwait(false);
            }
        }

        if (stage is not null)
        {
            await FlushAsync(stage, pending, after, sink, ct).ConfigureAwait(false);
            imageSummaries.Add(stage.Summary);
            log.Information(
                "images of {Source}: {Checked} checked, {Exact} exact and {Near} near duplicates, rejected: {Rejected}",
                plan.Name, stage.Summary.Checked, stage.Summary.ExactDuplicates, stage.Summary.NearDuplicates,
                stage.Summary.Rejected.Count == 0 ? "none" : string.Join(", ", stage.Summary.Rejected.Select(kv => $"{kv.Key} {kv.Value}")));
        }
    }

    /// <summary>Runs an item through the steps; the record that comes out, or null when it became a reject.</summary>
    private static InstructionRecord? Through(SourceItem item, IReadOnlyList<IRecordStep> steps, RecordSink sink)
    {
        foreach (var step in steps)
        {
            if (item.Reject is { } rejected)
            {
                sink.Reject(rejected);
                return null;
            }

            item = step.Apply(item.Record!);
        }

        if (item.Reject is { } last)
        {
            sink.Reject(last);
            return null;
        }

        return item.Record;
    }

    private static void Finish(InstructionRecord record, IReadOnlyList<IRecordStep> after, RecordSink sink)
    {
        if (Through(SourceItem.Of(record), after, sink) is { } done)
        {
            sink.Write(done);
        }
    }

    private static async Task FlushAsync(ImageStage stage, List<InstructionRecord> pending, IReadOnlyList<IRecordStep> after, RecordSink sink, CancellationToken ct)
    {
        foreach (var (done, rejected) in await stage.ProcessAsync(pending, ct).ConfigureAwait(false))
        {
            if (rejected is not null)
            {
                sink.Reject(rejected);
            }
            else
            {
                Finish(done!, after, sink);
            }
        }

        pending.Clear();
    }
}
