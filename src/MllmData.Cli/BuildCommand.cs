using System.CommandLine;
using MllmData.Adapters;
using MllmData.Generation;
using MllmData.Pipeline;
using MllmData.Recipes;
using MllmData.Templates;
using MllmData.Inputs;

namespace MllmData.Cli;

/// <summary><c>mllmdata build</c>: one source from flags, or a recipe with any number of sources.</summary>
public static class BuildCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var recipe = new Option<string?>("--recipe") { Description = "Recipe file (YAML or JSON); flags given beside it override its top-level settings" };
        var adapter = new Option<string?>("--adapter") { Description = "Source adapter (see `mllmdata sources`)" };
        var input = new Option<string[]>("--input") { Description = "Input file as NAME=FILE (repeatable), e.g. questions=v2_..._questions.json" };
        var map = new Option<string[]>("--map") { Description = "csv/jsonl: FIELD=COLUMN (repeatable); fields image, question, answer, choices, id" };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder the images are resolved and checked under" };
        var imagePrefix = new Option<string?>("--image-prefix") { Description = "Prefix put before image paths in the output, e.g. coco/train2014/" };
        var format = new Option<string?>("--format") { Description = "Output format: " + Formats.FormatRegistry.NameList + " (see `mllmdata formats`)" };
        var container = new Option<string?>("--container") { Description = "Shard container: jsonl, json (one JSON list per shard, as LLaVA's trainer reads it) or parquet (a row per record; with --images embed the image bytes in the image column)" };
        container.AcceptOnlyFromAmong("jsonl", "json", "parquet");
        var rowGroupRecords = new Option<long?>("--row-group-records") { Description = "parquet: most rows per row group (default 1000)" };
        var rowGroupBytes = new Option<long?>("--row-group-bytes") { Description = "parquet: most string and image bytes per row group (default 16777216, 16 MiB)" };
        var imageDetail = new Option<string?>("--image-detail") { Description = "openai: the detail of image parts: auto, low or high" };
        imageDetail.AcceptOnlyFromAmong("auto", "low", "high");
        var imageUrlPrefix = new Option<string?>("--image-url-prefix") { Description = "openai: image URLs under this prefix instead of embedded base64 data URLs" };
        var systemPrompt = new Option<string?>("--system-prompt") { Description = "openai: a system message put first in every example" };
        var imagesMode = new Option<string?>("--images") { Description = "Image stage: reference (verify, record size and sha256), copy (into out/images by content hash) or embed (bytes in the record)" };
        imagesMode.AcceptOnlyFromAmong("none", "reference", "copy", "embed");
        var maxSide = new Option<int?>("--max-side") { Description = "copy/embed: resize so the longer side is at most N pixels, keeping the ratio" };
        var centerCrop = new Option<int?>("--center-crop") { Description = "copy/embed: resize to cover an NxN square and crop its centre" };
        var jpegQuality = new Option<int?>("--jpeg-quality") { Description = "JPEG quality when images are re-encoded (default 90)" };
        var maxImageBytes = new Option<long?>("--max-image-bytes") { Description = "Largest image file accepted (default 50 MB)" };
        var maxPixels = new Option<long?>("--max-pixels") { Description = "Most pixels an image may declare (default 40,000,000; 16,384 a side)" };
        var decodeTimeout = new Option<double?>("--decode-timeout") { Description = "Seconds one image may take to decode and process (default 20)" };
        var allocationLimit = new Option<int?>("--allocation-limit-mb") { Description = "Hard cap on what one decode may allocate (default 256 MB)" };
        var threads = new Option<int?>("--threads") { Description = "Images processed at once by the image stage (default: every core)" };
        var dedupImages = new Option<bool>("--dedup-images") { Description = "Drop records whose image repeats an earlier one (same bytes, or a perceptual hash within the distance)" };
        var nearDistance = new Option<int?>("--near-duplicate-distance") { Description = "Hamming distance of perceptual hashes that counts as a near duplicate (0-7, default 4)" };
        var meta = new Option<bool>("--meta") { Description = "Write the meta (provenance) object (default for llava and template)" };
        var output = new Option<string?>("--out") { Description = "Output folder (default with --recipe: out/<name>)" };
        var seed = new Option<long?>("--seed") { Description = "Run seed for template selection (default 0)" };
        var shardRecords = new Option<long?>("--shard-records") { Description = "Records per shard (default 100000)" };
        var shardBytes = new Option<long?>("--shard-bytes") { Description = "Bytes per shard, 0 for no bound (default 0)" };
        var name = new Option<string?>("--name") { Description = "Dataset name used in shard file names (default: data)" };
        var sourceName = new Option<string?>("--source-name") { Description = "Source name used in record ids (default: the adapter name)" };
        var templates = new Option<string?>("--templates") { Description = "Template pack id or YAML file (default: the adapter's pack)" };
        var templateTags = new Option<string[]>("--template-tags") { Description = "Use only templates with these tags, e.g. brief", AllowMultipleArgumentsPerToken = true };
        var suffix = new Option<string?>("--suffix") { Description = "Response-format suffix id of the pack, default, or none" };
        var suffixTurns = new Option<string?>("--suffix-turns") { Description = "Put the suffix on the first turn or every turn (default every)" };
        suffixTurns.AcceptOnlyFromAmong("first", "every");
        var cotTrigger = new Option<string?>("--cot-trigger") { Description = "Append a reasoning trigger of the cot pack to every instruction: its id (see `mllmdata templates show cot`), or random (seeded per record)" };
        var constraints = new Option<string?>("--constraints") { Description = "match: every question turn gets an answer-format constraint suffix its answer satisfies (\"Answer yes or no.\" only on yes/no answers), checked at build time; off (default)" };
        constraints.AcceptOnlyFromAmong(SourceSpec.ConstraintsMatch, SourceSpec.ConstraintsOff);
        var strict = new Option<bool>("--strict") { Description = "Any reject stops the build (exit 2) and leaves no shard" };
        var allowEmpty = new Option<bool>("--allow-empty") { Description = "Accept a source that yields no records (otherwise the build fails with exit 2, naming the source)" };
        var resume = new Option<bool>("--resume") { Description = "Go on from an interrupted build of the same recipe in --out: its finished shards (checksums verified) and processed images are reused; the output is the same bytes an uninterrupted build writes" };
        var noMeta = new Option<bool>("--no-meta") { Description = "Leave out the meta (provenance) object in records" };
        var bos = new Option<string?>("--bos") { Description = "Begin token of the template format (default <BOS>)" };
        var eos = new Option<string?>("--eos") { Description = "End token of the template format (default <EOS>)" };
        var imageToken = new Option<string?>("--image-token") { Description = "Image placeholder (default <image>)" };
        var frame = new Option<string?>("--frame") { Description = "template: the frame (whole-record layout), a name in templates/frames (plain, sections, icl) or a YAML file (default plain)" };
        var iclShots = new Option<int?>("--icl-shots") { Description = "In-context examples: K solved examples of the same task, each with its own image, before every query" };
        var iclOrder = new Option<string?>("--icl-order") { Description = "Order of the in-context examples: seeded (default) or similar-length (the closest in length last)" };
        iclOrder.AcceptOnlyFromAmong("seeded", "similar-length");
        var iclPool = new Option<string?>("--icl-pool") { Description = "Built shards (a file or a build folder) to draw in-context examples from, instead of the source itself" };
        var splitRole = new Option<string?>("--split-role")
        {
            Description = "train (default), or eval: an evaluation set, LLaVA question files in data/ and the reference answers in answers.jsonl (a test split read with the adapter option unanswered=eval is one)",
        };
        var exclude = new Option<string[]>("--exclude") { Description = "Evaluation set (a build folder or manifest, or an answers file; repeatable): drop records sharing an image or a question with it" };

        // Adapter options: every adapter's option is a flag; only those of the chosen adapter are allowed.
        var adapterOptions = AdapterRegistry.All.SelectMany(a => a.Options).Select(o => o.Name).Distinct().Order(StringComparer.Ordinal)
            .Select(n => new Option<string?>("--" + n)
            {
                // Listed per adapter by `mllmdata sources ADAPTER`, not in build's own help.
                Hidden = true,
                Arity = ArgumentArity.ZeroOrOne,
            })
            .ToList();

        var command = new Command("build", "Build instruction-tuning shards from a benchmark. Each adapter's own flags (--answer, --per-image, ...) are listed by `mllmdata sources ADAPTER`.")
        {
            recipe, adapter, input, map, imageRoot, imagePrefix, format, output, seed, shardRecords, shardBytes, name, sourceName,
            templates, templateTags, suffix, suffixTurns, cotTrigger, constraints, strict, allowEmpty, noMeta, bos, eos, imageToken, imageUrlPrefix, systemPrompt, meta,
            container, rowGroupRecords, rowGroupBytes, imageDetail, imagesMode, maxSide, centerCrop, jpegQuality, maxImageBytes, maxPixels, decodeTimeout, allocationLimit, dedupImages, nearDistance, threads,
            frame, iclShots, iclOrder, iclPool,
            splitRole, exclude, resume,
        };
        foreach (var o in adapterOptions)
        {
            command.Options.Add(o);
        }

        var sharding = new ShardOptions();
        sharding.AddTo(command);

        // Settings of one source: a recipe holds its own, so beside --recipe these are mistakes, not overrides.
        Option[] sourceFlags = [adapter, input, map, imageRoot, imagePrefix, sourceName, templates, templateTags, suffix, suffixTurns, cotTrigger, constraints, .. adapterOptions];

        command.SetAction((parse, ct) =>
        {
            // The template packs load on the other core while the command line becomes a recipe: the YAML reader's first
            // use (its type descriptions, made by reflection) is most of the time before a build's first record. A folder
            // that cannot be read is reported where the packs are first needed, after the recipe's own checks.
            var packs = Task.Run(() => TemplateLibrary.Load(TemplateLibrary.LocateRoot(parse.GetValue(globals.TemplatesDir))), ct);
            return CliApp.RunAsync(parse, globals, log => Build(parse, log, packs, ct));
        });
        return command;

        async Task<int> Build(ParseResult parse, Serilog.ILogger log, Task<TemplateLibrary> packs, CancellationToken ct)
        {
            Recipe r;
            var recipePath = parse.GetValue(recipe);
            if (recipePath is not null)
            {
                var given = sourceFlags.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                {
                    throw new UsageException($"{string.Join(", ", given)} {(given.Count == 1 ? "is a source setting" : "are source settings")} that --recipe does not take: set {(given.Count == 1 ? "it" : "them")} in the recipe's source instead");
                }

                r = RecipeLoader.Load(recipePath);
            }
            else
            {
                var adapterName = parse.GetValue(adapter) ?? throw new UsageException("give --adapter NAME with --input NAME=FILE, or --recipe FILE");
                var spec = new SourceSpec
                {
                    Adapter = adapterName,
                    Name = parse.GetValue(sourceName),
                    Inputs = ParsePairs("--input", parse.GetValue(input) ?? []),
                    Map = ParsePairs("--map", parse.GetValue(map) ?? []),
                    ImageRoot = parse.GetValue(imageRoot),
                    ImagePrefix = parse.GetValue(imagePrefix),
                    Templates = parse.GetValue(templates),
                    TemplateTags = [.. parse.GetValue(templateTags) ?? []],
                    Suffix = parse.GetValue(suffix) ?? "default",
                    SuffixTurns = parse.GetValue(suffixTurns) ?? "every",
                    CotTrigger = parse.GetValue(cotTrigger),
                    Constraints = parse.GetValue(constraints) ?? SourceSpec.ConstraintsOff,
                };
                foreach (var o in adapterOptions)
                {
                    var given = parse.GetResult(o);
                    if (given is not null)
                    {
                        // A bare flag (--per-image) means true.
                        spec.Options[o.Name.TrimStart('-')] = parse.GetValue(o) ?? "true";
                    }
                }

                r = new Recipe { Sources = [spec] };
            }

            if (parse.GetValue(format) is { } f)
            {
                r.Format = f;
            }

            if (parse.GetValue(seed) is { } s)
            {
                r.Seed = s;
            }

            if (parse.GetValue(shardRecords) is { } sr)
            {
                r.ShardRecords = sr;
            }

            if (parse.GetValue(shardBytes) is { } sb)
            {
                r.ShardBytes = sb;
            }

            if (parse.GetValue(name) is { } n)
            {
                r.Name = n;
            }

            if (parse.GetValue(strict))
            {
                r.Strict = true;
            }

            if (parse.GetValue(allowEmpty))
            {
                r.AllowEmpty = true;
            }

            if (parse.GetValue(noMeta))
            {
                r.Meta = false;
            }
            else if (parse.GetValue(meta))
            {
                r.Meta = true;
            }

            r.ImageUrlPrefix = parse.GetValue(imageUrlPrefix) ?? r.ImageUrlPrefix;
            r.Container = parse.GetValue(container) ?? r.Container;
            r.RowGroupRecords = parse.GetValue(rowGroupRecords) ?? r.RowGroupRecords;
            r.RowGroupBytes = parse.GetValue(rowGroupBytes) ?? r.RowGroupBytes;
            r.ImageDetail = parse.GetValue(imageDetail) ?? r.ImageDetail;
            var img = r.Images;
            img.Mode = parse.GetValue(imagesMode) ?? img.Mode;
            img.MaxSide = parse.GetValue(maxSide) ?? img.MaxSide;
            img.CenterCrop = parse.GetValue(centerCrop) ?? img.CenterCrop;
            img.JpegQuality = parse.GetValue(jpegQuality) ?? img.JpegQuality;
            img.MaxBytes = parse.GetValue(maxImageBytes) ?? img.MaxBytes;
            img.MaxPixels = parse.GetValue(maxPixels) ?? img.MaxPixels;
            img.DecodeTimeout = parse.GetValue(decodeTimeout) ?? img.DecodeTimeout;
            img.AllocationLimitMegabytes = parse.GetValue(allocationLimit) ?? img.AllocationLimitMegabytes;
            img.NearDuplicateDistance = parse.GetValue(nearDistance) ?? img.NearDuplicateDistance;
            img.Threads = parse.GetValue(threads) ?? img.Threads;
            img.Dedup |= parse.GetValue(dedupImages);
            r.SystemPrompt = parse.GetValue(systemPrompt) ?? r.SystemPrompt;
            r.SplitRole = parse.GetValue(splitRole) ?? r.SplitRole;
            r.Exclude = [.. r.Exclude, .. parse.GetValue(exclude) ?? []];

            // Files named by flags are relative to the working folder, not to the recipe's.
            r.Frame = parse.GetValue(frame) is { } fr ? (File.Exists(fr) ? Path.GetFullPath(fr) : fr) : r.Frame;
            r.IclShots = parse.GetValue(iclShots) ?? r.IclShots;
            r.IclOrder = parse.GetValue(iclOrder) ?? r.IclOrder;
            r.IclPool = parse.GetValue(iclPool) is { } pool ? Path.GetFullPath(pool) : r.IclPool;

            r.Tokens.Bos = parse.GetValue(bos) ?? r.Tokens.Bos;
            r.Tokens.Eos = parse.GetValue(eos) ?? r.Tokens.Eos;
            r.Tokens.Image = parse.GetValue(imageToken) ?? r.Tokens.Image;

            // Everything is checked before any file is touched: a bad value leaves no output folder.
            RecipeLoader.Validate(r);
            var outDir = parse.GetValue(output) ?? (recipePath is not null ? Path.Combine("out", r.Name) : throw new UsageException("give --out DIR"));
            var split = sharding.Read(parse);
            if (split is not null && r.Rewrite is not null)
            {
                throw new UsageException("--num-shards: a recipe with a rewrite section builds and rewrites in one run; split it as `build --num-shards` + `merge`, then `rewrite --num-shards` + `merge`");
            }

            // The recipe's canonical form (its sha256 keys the resume journal and the manifest) is first made while the
            // template packs finish loading: the serializer's set-up (metadata for every recipe type, compiled on first use) runs on
            // the other core instead of after the packs.
            var warm = Task.Run(() => RecipeLoader.Sha256(r), ct);
            var library = await packs.ConfigureAwait(false);
            await warm.ConfigureAwait(false);
            if (r.SelfInstruct is { } generate)
            {
                await SelfInstructRunner.RunAsync(generate, r, outDir, library, log, ct, split).ConfigureAwait(false);
                await parse.InvocationConfiguration.Output.WriteLineAsync(Path.Combine(outDir, split is null ? "manifest.json" : "part.json")).ConfigureAwait(false);
                return CliApp.Ok;
            }

            var progress = new ProgressCounter();
            var pipeline = new BuildPipeline(library, log) { Split = split, Resume = parse.GetValue(resume) };
            BuildResult result;

            // With a rewrite section the plain build is kept beside the result, in <out>/build.
            var buildDir = r.Rewrite is null ? outDir : Path.Combine(outDir, "build");
            using (new ProgressDisplay(progress, parse.InvocationConfiguration.Error))
            {
                result = await pipeline.RunAsync(r, buildDir, progress, ct).ConfigureAwait(false);
            }

            if (split is not null)
            {
                // A worker's share of a source may be empty; the merge checks the sources whole.
                log.Information("part {Index} of {Count}: {Records} records, {Rejects} rejects in {Out}; merge every part with `mllmdata merge`", split.Index, split.Count, result.Records, result.Rejects, outDir);
                await parse.InvocationConfiguration.Output.WriteLineAsync(result.ManifestPath).ConfigureAwait(false);
                return CliApp.Ok;
            }

            if (r.Rewrite is { } rewrite)
            {
                // The sources' own pack files are the rewrite's too: their suffixes come off rewritten questions.
                rewrite.TemplatePacks = [.. (rewrite.TemplatePacks ?? []).Concat(r.Sources.Select(s => s.Templates).OfType<string>().Where(File.Exists).Select(Path.GetFullPath)).Distinct(StringComparer.Ordinal)];
                log.Information("built {Records} records in {Dir}; rewriting short answers", result.Records, buildDir);
                await RewriteRunner.RunAsync(rewrite, buildDir, outDir, library, log, ct).ConfigureAwait(false);
                await parse.InvocationConfiguration.Output.WriteLineAsync(Path.Combine(outDir, "manifest.json")).ConfigureAwait(false);
                return CliApp.Ok;
            }

            log.Information(
                "wrote {Records} records in {Shards} shards to {Out}; {Rejects} rejects{Reasons}",
                result.Records,
                result.Shards.Count,
                outDir,
                result.Rejects,
                result.Rejects == 0 ? string.Empty : " (" + string.Join(", ", result.RejectsByReason.Select(kv => $"{kv.Key}: {kv.Value}")) + ")");
            if (result.LoadHint is { } hint)
            {
                log.Information("{Hint}", hint);
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync(result.ManifestPath).ConfigureAwait(false);
            return CliApp.Ok;
        }
    }

    private static SortedDictionary<string, string> ParsePairs(string flag, string[] values)
    {
        var inputs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var eq = v.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == v.Length - 1)
            {
                throw new UsageException($"{flag} takes NAME=VALUE, got '{v}'");
            }

            if (!inputs.TryAdd(v[..eq], v[(eq + 1)..]))
            {
                throw new UsageException($"{flag} {v[..eq]} given twice");
            }
        }

        return inputs;
    }
}
