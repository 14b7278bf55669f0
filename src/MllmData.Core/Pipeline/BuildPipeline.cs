using System.Reflection;
using MllmData.Adapters;
using MllmData.Eval;
using MllmData.Formats;
using MllmData.Images;
using MllmData.Records;
using MllmData.Output;
using MllmData.Parts;
using System.Text.Json.Nodes;
using MllmData.Pipeline.Steps;
using MllmData.Recipes;
using MllmData.Stats;
using MllmData.Templates;
using Serilog;
using MllmData.Inputs;

namespace MllmData.Pipeline;

/// <summary>What a finished build produced.</summary>
public sealed record BuildResult(long Records, long Rejects, IReadOnlyList<ShardInfo> Shards, string ManifestPath, IReadOnlyDictionary<string, long> RejectsByReason)
{
    /// <summary>Records and rejects of each source, in build order.</summary>
    public IReadOnlyList<SourceOutcome> Sources { get; init; } = [];

    /// <summary>How to point the format's consumer at this build, if the format says.</summary>
    public string? LoadHint { get; init; }
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
    /// <summary>This worker's share of a job array (<c>--num-shards</c>), or null: the whole build.</summary>
    public WorkSplit? Split { get; init; }

    /// <summary>Go on from an interrupted run's finished work in the output folder (<c>--resume</c>).</summary>
    public bool Resume { get; init; }

    public static string ToolVersion { get; } =
        typeof(BuildPipeline).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The render settings a recipe asks for, checked against its format; frames are looked up under templatesRoot.</summary>
    public static RenderOptions RenderOptionsOf(Recipe recipe, IOutputFormat format, string? templatesRoot = null)
    {
        if (recipe.Frame is not null && format is not TemplateFormat)
        {
            throw new UsageException($"--frame {recipe.Frame}: only the template format is laid out by a frame, not {format.Name}");
        }

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
            EmbedImageColumn = recipe.Container == "parquet" && recipe.Images.Mode == "embed" && format.Capabilities.Images == ImageCarriage.Paths,
            RowGroupRecords = recipe.RowGroupRecords ?? ParquetSettings.DefaultRowGroupRecords,
            RowGroupBytes = recipe.RowGroupBytes ?? ParquetSettings.DefaultRowGroupBytes,
            Frame = format is TemplateFormat ? FrameLibrary.ForBuild(recipe.Frame, recipe.IclShots, templatesRoot ?? TemplateLibrary.LocateRoot(null), recipe.Folder) : null,
        };
        if (!format.Capabilities.Containers.Contains(options.Container))
        {
            throw new UsageException($"--container {options.Container}: {format.Name} is written as {string.Join(" or ", format.Capabilities.Containers)}");
        }

        if (options.Container != "parquet" && (recipe.RowGroupRecords is not null || recipe.RowGroupBytes is not null))
        {
            throw new UsageException($"--row-group-records/--row-group-bytes: row groups are a Parquet setting; build with --container parquet (this build writes {options.Container})");
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
        options.EmbedImageColumn || format.Capabilities.Images == ImageCarriage.Embedded || (format.Capabilities.Images == ImageCarriage.EmbeddedOrUrl && options.ImageUrlPrefix is null);

    public async Task<BuildResult> RunAsync(Recipe recipe, string outDir, ProgressCounter progress, CancellationToken ct)
    {
        RecipeLoader.Validate(recipe);

        // An evaluation build writes question files (answers beside them), never a training format.
        var evaluation = recipe.IsEvaluation;
        IOutputFormat format = evaluation ? new EvalQuestionFormat(recipe.Sources.Count == 1) : FormatRegistry.Get(recipe.Format);
        var renderOptions = RenderOptionsOf(recipe, format, templates.Root);
        var embed = Embeds(format, renderOptions);
        var imageSettings = recipe.Images;
        if (imageSettings.Mode == "embed" && !embed)
        {
            throw new UsageException($"--images embed: {format.Name} carries image paths, not bytes; use --images copy or reference, --container parquet (bytes in the image column), or an embedding format (openai, m3it)");
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

        if (Split is { } split)
        {
            CheckSplittable(recipe, imageSettings);
            log.Information("shard {Index} of {Count} (index from {Origin}): writing a part for `mllmdata merge`", split.Index, split.Count, split.Origin);
        }

        // Resolve every source's pieces before writing anything, so usage errors leave no files.
        _decontamination = recipe.Exclude.Count == 0 ? null : new DecontaminationStep(EvalSet.Load(recipe.Exclude));
        var plans = recipe.Sources.Select((s, i) => Plan(s, recipe, format, embed, imageSettings) with { Index = i }).ToList();
        if (!evaluation)
        {
            foreach (var triggered in recipe.Sources.Where(s => s.CotTrigger is not null))
            {
                // A trigger asks for reasoning; the records answer with the source's own answers, most of them a word.
                log.Warning(
                    "source {Source}: --cot-trigger on a training build pairs a request for step-by-step reasoning with the source's own answers; use it for an evaluation set, or turn the answers into reasoning with `mllmdata rewrite --prompt rationale`",
                    triggered.Name ?? triggered.Adapter);
            }
        }

        var settingFiles = SettingFiles(recipe);
        var inputs = recipe.Sources.SelectMany(s => s.Inputs.Values).Concat(recipe.Exclude).Concat(settingFiles).ToList();
        var files = new InputFiles();
        foreach (var file in settingFiles)
        {
            // The output depends on them as on the sources: the manifest lists their sha256.
            files.Track(file);
        }

        var (paths, tally) = (SourcePaths.For(recipe), new SourceTally());
        // Image roots are guarded too: an --out that is (or holds) an image root would delete the images its records point at.
        using var folder = OutputFolder.Open(outDir, inputs.Concat(recipe.Sources.Select(s => s.ImageRoot).OfType<string>()), keepStaging: Resume);
        var key = ResumeJournal.KeyOf(ToolVersion, RecipeLoader.Sha256(recipe), Split is { } s ? $"{s.Index}/{s.Count}" : null, inputs);
        folder.Journal = ResumeJournal.Start(folder, key, Resume, recipe.Name, ShardWriter.ExtensionOf(renderOptions.Container), log);
        try
        {
            var result = await WriteAsync(recipe, outDir, format, renderOptions, imageSettings, evaluation, plans, paths, tally, files, folder, progress, ct).ConfigureAwait(false);
            if (Resume)
            {
                log.Information("resume: {Shards} finished shards reused as they were, {Images} processed images taken from the journal", folder.Journal.ShardsReused, folder.Journal.ImagesReused);
            }

            return result;
        }
        catch (OperationCanceledException)
        {
            // Stopped from outside (Ctrl-C, SIGTERM): the finished work stays staged for --resume.
            folder.KeepStaging = true;
            log.Warning("cancelled: the finished shards and images stay in {Staging}; run the same command with --resume to go on from them", folder.Staging);
            throw;
        }
    }

    private async Task<BuildResult> WriteAsync(
        Recipe recipe, string outDir, IOutputFormat format, RenderOptions renderOptions, ImageSettings imageSettings, bool evaluation, List<SourcePlan> plans,
        SourcePaths paths, SourceTally tally, InputFiles files, OutputFolder folder, ProgressCounter progress, CancellationToken ct)
    {
        var imageSummaries = new List<ImageSummary>();
        SinkResult written;
        PartWriter? sinkPart = null;
        string? sinkSha = null;
        MixtureReport? mixed = null;
        using var answers = evaluation ? new AnswerFileWriter(folder.Staging, recipe.Sources.Count == 1) : null;
        // The dataset card's figures are gathered on the second core from the lines as they are written.
        using var statsWorker = Split is null ? new StatsWorker(format.Name, new QuestionFinder(templates), recipe.Tokens.Image, ct) : null;
        using (var sink = new RecordSink(folder, new SinkSettings(recipe.Name, format, renderOptions, recipe.ShardRecords, recipe.ShardBytes, recipe.Strict), log, progress, part: Split is not null) { Observer = r => tally.Add(r), Paths = paths, Written = answers is null ? null : answers.Write, Stats = statsWorker })
        {
            var run = new SourceRun(folder, sink, files, progress, renderOptions, imageSettings, imageSummaries, recipe.Seed);
            if (recipe.Mixture is { } mixture)
            {
                mixed = await RunMixtureAsync(recipe, mixture, plans, run, tally, ct).ConfigureAwait(false);
            }
            else
            {
                foreach (var plan in plans)
                {
                    var before = sink.Records;
                    await RunSourceAsync(plan, run, ct).ConfigureAwait(false);
                    log.Information("source {Source}: {Records} records", plan.Name, sink.Records - before);
                    tally.End(plan.Name, plan.Adapter.Name, plan.Spec.Inputs, sink.Records - before);
                }
            }

            // The card's figures are finished on the second core while the last shard reaches the disk.
            statsWorker?.Seal();
            written = sink.Complete();
            (sinkPart, sinkSha) = (sink.Part, sink.PartSha256);
            answers?.Complete();
        }

        if (Split is { } worker)
        {
            var part = PartManifest.Header(PartManifest.BuildKind, worker, recipe.Name, format, renderOptions, recipe.ShardRecords, recipe.ShardBytes, recipe.Seed, RecipeLoader.Sha256(recipe));
            part["inputs"] = PartManifest.Inputs(paths.Keys(await files.HashesAsync().ConfigureAwait(false)));
            part["templates_sha256"] = templates.Sha256(recipe.Sources.Select(s => s.Templates));
            part["allow_empty"] = recipe.AllowEmpty;
            if (imageSummaries.Count > 0)
            {
                part["images"] = PartImages.Summary(ImageSummary.Total(imageSummaries), imageSettings);
            }

            // The files of the part's images/ (copies, written-out inline images): the merge checks it finds them all.
            part["image_files"] = folder.Journal?.PlacedImages.Count ?? 0;
            part["sources"] = new JsonArray([.. tally.Sources.Select(s => (JsonNode)new JsonObject { ["name"] = s.Name, ["adapter"] = s.Adapter, ["records"] = s.Records })]);

            // What the merge needs to write the same dataset card: the canonical recipe, byte for byte.
            part["recipe_canonical"] = System.Text.Encoding.UTF8.GetString(RecipeLoader.Canonical(recipe));
            PartManifest.Complete(part, sinkPart!, sinkSha!, written.RejectsByReason);
            PartManifest.Write(folder.Staging, part);
            folder.Commit(OutputFolder.PartFile);
            return new BuildResult(written.Records, written.Rejects, [], Path.Combine(outDir, OutputFolder.PartFile), written.RejectsByReason) { Sources = tally.Sources };
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
            Parquet = renderOptions.Parquet(format),
            UploadLimits = format.Capabilities.UploadLimits,
            SplitReason = written.SplitReason,
            Mixture = mixed,
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
        // The dataset card is made from the figures of the shard lines (gathered as they were written, by the code
        // `mllmdata stats` reads shards with) and the manifest without its card entry; the manifest then lists the card with its sha256.
        manifest = DatasetCard.WriteInto(folder.Staging, manifest, recipe, templates, tally.Sources, evaluation, gathered: statsWorker!.Complete());
        AtomicFile.Write(Path.Combine(folder.Staging, OutputFolder.ManifestFile), manifest.WriteTo);
        if (!recipe.AllowEmpty && tally.Sources.Any(s => s.Records == 0))
        {
            // A failed build replaces nothing: the previous output stays, and this one's files stay staged to be read.
            folder.KeepStaging = true;
            SourceTally.ThrowIfEmpty(tally.Sources, allowEmpty: false, folder.Staging);
        }

        folder.Commit();
        return new BuildResult(written.Records, written.Rejects, written.Shards, Path.Combine(outDir, OutputFolder.ManifestFile), written.RejectsByReason)
        {
            Sources = tally.Sources,
            LoadHint = format.LoadHint(Path.GetFullPath(outDir), recipe.Name, [.. written.Shards.Select(s => s.Path)], ImageBase(recipe, imageSettings, outDir)),
        };
    }

    /// <summary>Files a setting names that decide the output: a frame file of the user's, the in-context pool's shards.</summary>
    private static List<string> SettingFiles(Recipe recipe)
    {
        string Resolve(string p) => Path.IsPathRooted(p) || recipe.Folder is null ? p : Path.Combine(recipe.Folder, p);
        var files = new List<string>();
        if (recipe.Frame is { } frame && File.Exists(Resolve(frame)))
        {
            files.Add(Resolve(frame));
        }

        if (recipe.IclPool is { } pool && recipe.IclShots > 0)
        {
            files.AddRange(IclStep.PoolFiles(Resolve(pool)));
        }

        return files;
    }

    /// <summary>The folder the written image paths are relative to: the output with <c>--images copy</c>, else the first image root.</summary>
    private static string? ImageBase(Recipe recipe, ImageSettings imageSettings, string outDir) =>
        imageSettings.Mode == "copy" ? Path.GetFullPath(outDir)
        : recipe.Sources.Select(s => s.ImageRoot).FirstOrDefault(r => r is not null) is { } root ? Path.GetFullPath(root) : null;

    /// <summary>The <c>--exclude</c> step of the running build: before the image stage, and after it for content hashes.</summary>
    private DecontaminationStep? _decontamination;

    private sealed record SourcePlan(SourceSpec Spec, ISourceAdapter Adapter, string Name, IReadOnlyList<IRecordStep> Before, bool ImageStage)
    {
        /// <summary>The source's place in the recipe (a split build's merge keeps one image history per source).</summary>
        public int Index { get; init; }
    }

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

        // Every format: one whose consumer's loader is not known still cannot load a mailto: or urn: image.
        var steps = new List<IRecordStep> { new ImageUrlStep(format) };

        var stage = imageSettings.Active && s.ImageRoot is not null;
        if (s.ImageRoot is not null && !stage)
        {
            steps.Add(new ImageRootStep(new ImageRootCheck(s.ImageRoot)));
        }

        steps.Add(new TextContentStep());
        steps.Add(new LiteralTokenStep(recipe.Tokens.Image, format.Capabilities.ReservedTags));
        // Frames with a {text} slot carry the question there, so they take instruction-only templates.
        var frame = format is TemplateFormat ? FrameLibrary.ForBuild(recipe.Frame, recipe.IclShots, templates.Root, recipe.Folder) : null;
        steps.Add(new TemplateStep(s, templates, recipe.Seed, format.Capabilities.SeparateInput || frame?.InstructionOnly == true));
        steps.Add(new ConstraintCheckStep());
        if (_decontamination is { } excluded)
        {
            // Before the in-context step, so contaminated records are neither queries nor examples.
            steps.Add(excluded);
        }

        if (IclStep.For(s, name, adapter, recipe, format, steps, log) is { } icl)
        {
            steps.Add(icl);
        }

        return new SourcePlan(s, adapter, name, steps, stage);
    }

    /// <summary>What every source of a build writes into.</summary>
    private sealed record SourceRun(
        OutputFolder Folder, RecordSink Sink, InputFiles Files, ProgressCounter Progress, RenderOptions RenderOptions, ImageSettings ImageSettings, List<ImageSummary> ImageSummaries, long Seed);

    private static SourceContext ContextOf(SourcePlan plan, SourceRun run, ProgressCounter progress) => new()
    {
        SourceName = plan.Name,
        Inputs = plan.Spec.Inputs,
        Options = plan.Spec.Options,
        Map = plan.Spec.Map,
        ImageRoot = plan.Spec.ImageRoot,
        Files = run.Files,
        Progress = progress,
        IncludeDetail = run.RenderOptions.IncludeMeta,
        Seed = run.Seed,
    };

    /// <summary>After the image stage: the prefix, then inline images written out for formats that carry paths.</summary>
    private List<IRecordStep> AfterSteps(SourcePlan plan, SourceRun run)
    {
        var after = new List<IRecordStep>();
        if (plan.Spec.ImagePrefix is { Length: > 0 } prefix)
        {
            after.Add(new ImagePrefixStep(prefix));
        }

        if (!Embeds(run.Sink.Format, run.RenderOptions))
        {
            after.Add(new InlineImageStep(run.Folder.Root, run.Folder.Journal));
        }

        if (plan.ImageStage && _decontamination is { } excluded)
        {
            // After the image stage too: content hashes are known only there.
            after.Insert(0, excluded);
        }

        return after;
    }

    private static ImageStage? StageOf(SourcePlan plan, SourceRun run) =>
        plan.ImageStage ? new ImageStage(run.ImageSettings, plan.Spec.ImageRoot!, run.Folder.Root, run.Folder.Journal) : null;

    private void EndStage(SourcePlan plan, ImageStage stage, SourceRun run)
    {
        run.ImageSummaries.Add(stage.Summary);
        log.Information(
            "images of {Source}: {Checked} checked, {Exact} exact and {Near} near duplicates, rejected: {Rejected}",
            plan.Name, stage.Summary.Checked, stage.Summary.ExactDuplicates, stage.Summary.NearDuplicates,
            stage.Summary.Rejected.Count == 0 ? "none" : string.Join(", ", stage.Summary.Rejected.Select(kv => $"{kv.Key} {kv.Value}")));
    }

    private async Task RunSourceAsync(SourcePlan plan, SourceRun run, CancellationToken ct)
    {
        log.Information("source {Source}: adapter {Adapter}, templates {Pack}", plan.Name, plan.Adapter.Name, plan.Spec.Templates ?? "by task");
        var context = ContextOf(plan, run, run.Progress);
        var after = AfterSteps(plan, run);
        var sink = run.Sink;
        var stage = StageOf(plan, run);
        var pending = new List<(InstructionRecord Record, bool Owned)>(64);
        var young = new Json.YoungGarbage(Json.YoungGarbage.DefaultWindow);
        await foreach (var item in plan.Adapter.ReadAsync(context, ct).ConfigureAwait(false))
        {
            young.Check();
            var owned = Split is not { } split || split.Owns(OwnerKey(item));
            if (!owned && stage is null)
            {
                // Another worker's record: its one event is counted in the run's order, nothing of it is done here.
                sink.Skip();
                continue;
            }

            // Before the image stage every worker runs the cheap steps on every item, so windows and the order of events are the single run's.
            if (Through(item, plan.Before, sink, owned) is not { } record)
            {
                continue;
            }

            if (stage is null)
            {
                Finish(record, after, sink);
                continue;
            }

            pending.Add((record, owned));
            if (pending.Count == stage.WindowRecords)
            {
                await FlushAsync(stage, pending, after, sink, plan.Index, ct).ConfigureAwait(false);
            }
        }

        if (stage is not null)
        {
            await FlushAsync(stage, pending, after, sink, plan.Index, ct).ConfigureAwait(false);
            EndStage(plan, stage, run);
        }
    }

    /// <summary>
    /// A mixture: pass 1 counts every source's records, the targets follow from the sampling rule, and pass 2 reads all
    /// sources at once, each giving its selected records, merged by their seeded order keys (<see cref="MixtureOrder"/>).
    /// </summary>
    private async Task<MixtureReport> RunMixtureAsync(Recipe recipe, MixtureSettings mixture, List<SourcePlan> plans, SourceRun run, SourceTally tally, CancellationToken ct)
    {
        var sources = plans.Select(p => new MixtureSource(
            p.Name, first => p.Adapter.ReadAsync(ContextOf(p, run, first ? run.Progress : new ProgressCounter()), ct), p.Before)).ToList();
        var inputs = new List<MixtureInput>(plans.Count);
        for (var i = 0; i < plans.Count; i++)
        {
            var available = await sources[i].CountAsync(ct).ConfigureAwait(false);
            inputs.Add(new MixtureInput(plans[i].Name, available, plans[i].Spec.Weight ?? 1, plans[i].Spec.MaxSamples, plans[i].Spec.Repeat ?? 1));
        }

        var targets = MixtureTargets.Compute(mixture.Sampling, mixture.Total, inputs);
        for (var i = 0; i < plans.Count; i++)
        {
            log.Information("mixture: source {Source}: {Available} records, target {Target}", plans[i].Name, inputs[i].Available, targets[i]);
        }

        if (mixture.Total is { } asked && asked > targets.Sum())
        {
            log.Warning("mixture: total {Asked} asked, but the sources give only {Total} records (after max_samples and repeat)", asked, targets.Sum());
        }

        var stages = plans.Select(p => StageOf(p, run)).ToList();
        var afters = plans.Select(p => AfterSteps(p, run)).ToList();
        var window = stages.OfType<ImageStage>().Select(s => s.WindowRecords).DefaultIfEmpty(1).Min();
        var taken = new long[plans.Count];
        var cursors = sources.Select((s, i) => s.SelectAsync(recipe.Seed, inputs[i].Available, inputs[i].Repeat, targets[i], r => run.Sink.Reject(r), ct).GetAsyncEnumerator(ct)).ToList();
        try
        {
            var heads = new PriorityQueue<int, (double Key, int Source)>();
            var given = new long[plans.Count];
            for (var i = 0; i < plans.Count; i++)
            {
                if (targets[i] > 0)
                {
                    heads.Enqueue(i, (MixtureOrder.Key(recipe.Seed, plans[i].Name, 0, targets[i]), i));
                }
            }

            var pending = new List<(int Source, InstructionRecord Record)>(window);
            while (heads.TryDequeue(out var i, out _))
            {
                if (!await cursors[i].MoveNextAsync().ConfigureAwait(false))
                {
                    log.Warning("mixture: source {Source} gave {Given} of its {Target} records (did its input change since it was counted?)", plans[i].Name, given[i], targets[i]);
                    continue;
                }

                pending.Add((i, cursors[i].Current));
                if (++given[i] < targets[i])
                {
                    heads.Enqueue(i, (MixtureOrder.Key(recipe.Seed, plans[i].Name, given[i], targets[i]), i));
                }

                if (pending.Count >= window)
                {
                    await FlushMixtureAsync(pending, stages, afters, taken, run.Sink, ct).ConfigureAwait(false);
                }
            }

            await FlushMixtureAsync(pending, stages, afters, taken, run.Sink, ct).ConfigureAwait(false);

            // The rest of each input is read for its rejects.
            foreach (var cursor in cursors)
            {
                while (await cursor.MoveNextAsync().ConfigureAwait(false))
                {
                }
            }
        }
        finally
        {
            foreach (var cursor in cursors)
            {
                await cursor.DisposeAsync().ConfigureAwait(false);
            }
        }

        var total = taken.Sum();
        var reported = new List<MixtureSourceReport>(plans.Count);
        for (var i = 0; i < plans.Count; i++)
        {
            var p = plans[i];
            if (stages[i] is { } stage)
            {
                EndStage(p, stage, run);
            }

            log.Information("source {Source}: {Records} records of {Available}", p.Name, taken[i], inputs[i].Available);

            // A source that gives nothing only because the mixture asked nothing of it is not an empty source.
            tally.End(p.Name, p.Adapter.Name, p.Spec.Inputs, targets[i] == 0 ? inputs[i].Available : taken[i]);
            reported.Add(new MixtureSourceReport(p.Name, inputs[i].Available, inputs[i].Repeat, p.Spec.MaxSamples, inputs[i].Weight, targets[i], taken[i]));
        }

        return new MixtureReport(mixture.Sampling, mixture.Total, total, reported);
    }

    /// <summary>Sends a window of mixed records through their sources' image stages and writes them in mixture order.</summary>
    private static async Task FlushMixtureAsync(
        List<(int Source, InstructionRecord Record)> pending, List<ImageStage?> stages, List<List<IRecordStep>> afters, long[] taken, RecordSink sink, CancellationToken ct)
    {
        var results = new (InstructionRecord? Record, Reject? Reject)[pending.Count];
        for (var s = 0; s < stages.Count; s++)
        {
            var at = Enumerable.Range(0, pending.Count).Where(k => pending[k].Source == s).ToList();
            if (at.Count == 0)
            {
                continue;
            }

            if (stages[s] is not { } stage)
            {
                at.ForEach(k => results[k] = (pending[k].Record, null));
                continue;
            }

            var done = await stage.ProcessAsync([.. at.Select(k => pending[k].Record)], ct).ConfigureAwait(false);
            for (var j = 0; j < at.Count; j++)
            {
                results[at[j]] = done[j];
            }
        }

        for (var k = 0; k < pending.Count; k++)
        {
            if (results[k].Reject is { } rejected)
            {
                sink.Reject(rejected);
            }
            else if (Finish(results[k].Record!, afters[pending[k].Source], sink))
            {
                taken[pending[k].Source]++;
            }
        }

        pending.Clear();
    }

    /// <summary>Whose an item is under a split: its record's id, or for an unreadable item, where it was read.</summary>
    public static string OwnerKey(SourceItem item) => item.Record is { } r ? r.Id : $"{item.Reject!.File}\u001f{item.Reject.Position}";

    /// <summary>What a worker of a split cannot reproduce exactly: refused before any file is touched.</summary>
    private static void CheckSplittable(Recipe recipe, ImageSettings images)
    {
        string? why = recipe.Mixture is not null ? "a mixture (its sampling reads every source whole)"
            : recipe.IclShots > 0 ? "in-context examples (--icl-shots draws each query's examples from the other records)"
            : recipe.IsEvaluation ? "an evaluation build (--split-role eval)"
            : recipe.Exclude.Count > 0 ? "--exclude (its manifest section counts every excluded record)"
            : images.Dedup ? "--dedup-images (a repeat is dropped by what every earlier record's image was)"
            : null;
        if (why is not null)
        {
            throw new UsageException($"--num-shards: {why} cannot be split over workers and merged exactly yet; build it in one process");
        }
    }

    /// <summary>Runs an item through the steps; the record that comes out, or null when it became a reject (another worker's: skipped).</summary>
    private static InstructionRecord? Through(SourceItem item, IReadOnlyList<IRecordStep> steps, RecordSink sink, bool owned = true)
    {
        for (var i = 0; i < steps.Count && item.Reject is null; i++)
        {
            item = steps[i].Apply(item.Record!);
        }

        if (item.Reject is { } rejected)
        {
            if (owned)
            {
                sink.Reject(rejected);
            }
            else
            {
                sink.Skip();
            }

            return null;
        }

        return item.Record;
    }

    /// <summary>Runs the record through the steps after the image stage and writes it; false when it became a reject.</summary>
    private static bool Finish(InstructionRecord record, IReadOnlyList<IRecordStep> after, RecordSink sink) =>
        Through(SourceItem.Of(record), after, sink) is { } done && sink.Write(done);

    /// <summary>
    /// Sends a window through the image stage and writes it in order. Under a split only this worker's records are
    /// processed (the others' events are skipped in place), and each event carries what the duplicate check saw of its
    /// images, so the merge counts repeats over the whole run.
    /// </summary>
    private static async Task FlushAsync(ImageStage stage, List<(InstructionRecord Record, bool Owned)> pending, IReadOnlyList<IRecordStep> after, RecordSink sink, int source, CancellationToken ct)
    {
        var mine = pending.Where(p => p.Owned).Select(p => p.Record).ToList();
        var facts = sink.Part is null ? null : new List<List<ImageFact>>(mine.Count);
        var done = await stage.ProcessAsync(mine, ct, facts).ConfigureAwait(false);
        var k = 0;
        foreach (var (_, owned) in pending)
        {
            if (!owned)
            {
                sink.Skip();
                continue;
            }

            if (facts is not null)
            {
                sink.PartFlags = PartImages.Flags(source, facts[k]);
            }

            var (record, rejected) = done[k++];
            if (rejected is not null)
            {
                sink.Reject(rejected);
            }
            else
            {
                Finish(record!, after, sink);
            }
        }

        sink.PartFlags = "-";
        pending.Clear();
    }
}
