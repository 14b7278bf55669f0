using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MllmData.Formats;
using MllmData.Generation;
using MllmData.ModelCalls;
using MllmData.Output;
using MllmData.Parts;
using MllmData.Pipeline;
using Serilog;

namespace MllmData.Merging;

/// <summary>What a merge wrote.</summary>
public sealed record MergeResult(string Kind, long Records, long Rejects, IReadOnlyList<ShardInfo> Shards, string ManifestPath);

/// <summary>
/// <c>mllmdata merge PART... --out DIR</c>: the parts of a job array, merged by each event's place in the single run,
/// through the same shard writer, reject writer, side files and manifest a single run uses, so the output is
/// byte-identical to it. Streams: one event of each part in memory at a time.
/// </summary>
public static class PartMerge
{
    private sealed record Part(string Dir, JsonObject Json, int Index);

    /// <summary>Reads and checks every part: all finished, of one run, each index once, none missing.</summary>
    private static List<Part> Load(IReadOnlyList<string> dirs)
    {
        if (dirs.Count == 0)
        {
            throw new UsageException("merge: give the part folders of every worker");
        }

        var parts = new List<Part>(dirs.Count);
        foreach (var dir in dirs)
        {
            var file = Path.Combine(dir, OutputFolder.PartFile);
            if (!File.Exists(file))
            {
                var hint = File.Exists(Path.Combine(dir, OutputFolder.ManifestFile)) ? "it holds a whole build (manifest.json), not a part"
                    : Directory.Exists(dir) ? "its worker has not finished, or failed: run that worker again"
                    : File.Exists(dir) ? "it is a file, not a worker's output folder"
                    : "no such folder";
                throw new UsageException($"merge: {dir} has no {OutputFolder.PartFile}: {hint}");
            }

            JsonObject json;
            try
            {
                json = JsonNode.Parse(File.ReadAllBytes(file), documentOptions: Json.JsonRecord.Unique) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException ex)
            {
                throw new UsageException($"merge: {file} is not a part manifest: {Json.JsonErrors.InWords(ex)}");
            }

            if (json["mllmdata_part"] is null)
            {
                throw new UsageException($"merge: {file} is not a part manifest");
            }

            PartShape.Check(dir, file, json);
            parts.Add(new Part(dir, json, (int)json["shard_index"]!));
        }

        var first = parts[0];
        foreach (var other in parts.Skip(1))
        {
            foreach (var key in PartManifest.Identity)
            {
                var a = first.Json[key]?.ToJsonString() ?? "null";
                var b = other.Json[key]?.ToJsonString() ?? "null";
                if (a != b && key == "inputs")
                {
                    throw new UsageException($"merge: the parts are not of one run: {InputsDiffer(first, other)}");
                }

                if (a != b)
                {
                    throw new UsageException($"merge: the parts are not of one run: {Shorten(key)} is {Shorten(a)} in {first.Dir} but {Shorten(b)} in {other.Dir} ({(key == "templates_sha256" ? "the same template packs needed: give every worker the same --templates-dir or MLLMDATA_TEMPLATES" : "same recipe, seed and tool version needed")})");
                }
            }
        }

        if ((string?)first.Json["tool_version"] is { } version && version != PartManifest.ToolVersion)
        {
            throw new UsageException($"merge: the parts were written by mllmdata {version}, this is {PartManifest.ToolVersion}: merge with the version the workers ran");
        }

        var count = (int)first.Json["num_shards"]!;
        var seen = new Dictionary<int, string>();
        foreach (var p in parts)
        {
            if (!seen.TryAdd(p.Index, p.Dir))
            {
                throw new UsageException($"merge: part {p.Index} of {count} given twice: {seen[p.Index]} and {p.Dir}");
            }
        }

        var missing = Enumerable.Range(0, count).Where(i => !seen.ContainsKey(i)).ToList();
        if (missing.Count > 0)
        {
            throw new UsageException(string.Create(
                CultureInfo.InvariantCulture,
                $"merge: {(missing.Count == 1 ? "part" : "parts")} {string.Join(", ", missing)} of {count} missing (given: {string.Join(", ", seen.Keys.Order())}); run {(missing.Count == 1 ? "that worker" : "those workers")} (--shard-index {string.Join(", ", missing)}) and merge again"));
        }

        return [.. parts.OrderBy(p => p.Index)];
    }

    /// <summary>The template packs a build part's recipe names by path (they are part of its templates' sha256).</summary>
    private static IEnumerable<string?> RecipePackPaths(JsonObject head) =>
        head["recipe_canonical"] is JsonValue text
            ? JsonNode.Parse((string)text!)?["sources"]?.AsArray().Select(s => (string?)s?["templates"]) ?? []
            : [];

    /// <summary>Which input the two parts read differently: one file changed between their runs, or one read a file the other did not.</summary>
    private static string InputsDiffer(Part a, Part b)
    {
        static Dictionary<string, string> Of(Part p)
        {
            var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var i in p.Json["inputs"]!.AsArray().OfType<JsonObject>())
            {
                inputs[(string)i["path"]!] = (string)i["sha256"]!;
            }

            return inputs;
        }

        var (ia, ib) = (Of(a), Of(b));
        foreach (var (path, sha) in ia)
        {
            if (!ib.TryGetValue(path, out var other))
            {
                return $"{a.Dir} read the input {path}, {b.Dir} did not";
            }

            if (other != sha)
            {
                return $"the input {path} had sha256 {sha} for {a.Dir} but {other} for {b.Dir}: it changed between the workers' runs; run every worker on the same files";
            }
        }

        return ib.Keys.FirstOrDefault(k => !ia.ContainsKey(k)) is { } extra
            ? $"{b.Dir} read the input {extra}, {a.Dir} did not"
            : $"their lists of inputs differ ({a.Dir}, {b.Dir})";
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    private static string Str(JsonObject o, string key) => (string?)o[key] ?? throw new UsageException($"merge: part.json has no {key}");

    public static async Task<MergeResult> RunAsync(IReadOnlyList<string> dirs, string outDir, ILogger log, CancellationToken ct, Templates.TemplateLibrary? templates = null)
    {
        var parts = Load(dirs);
        var head = parts[0].Json;
        var kind = Str(head, "kind");
        if (kind is not (PartManifest.BuildKind or PartManifest.RewriteKind or PartManifest.SelfInstructKind))
        {
            throw new UsageException($"merge: unknown part kind '{kind}'");
        }

        // (A recipe naming a pack file by path is left to the workers' check: the path may not resolve where the merge runs.)
        if (templates is not null && (string?)head["templates_sha256"] is { } drawn
            && RecipePackPaths(head).All(p => p is null || templates.Packs.Any(pack => pack.Id == p)) && templates.Sha256([]) != drawn)
        {
            // The merge writes the dataset card with the templates it reads (questions are found by them): the workers' own.
            throw new UsageException($"merge: the parts were built with other templates than this merge reads ({templates.Root}): give the workers' --templates-dir (or MLLMDATA_TEMPLATES)");
        }

        foreach (var p in parts.Where(p => (bool?)p.Json["capped"] == true))
        {
            throw new UsageException($"merge: {p.Dir} stopped at a budget cap ({(string?)p.Json["cap"]}): its records past the cap are missing; raise the cap, run that worker again (its answers are cached) and merge");
        }

        var format = FormatRegistry.Get(Str(head, "format"));
        var name = Str(head, "name");
        var container = Str(head, "container");

        // Parquet parts: the rows' layout and row-group bounds as the workers were given them (their lines carry embedded images' bytes).
        var renderOptions = new RenderOptions
        {
            ImageToken = Str(head, "image_token"),
            Container = container,
            EmbedImageColumn = (string?)head["parquet_images"] == "embed",
            RowGroupRecords = (long?)head["row_group_records"] ?? ParquetSettings.DefaultRowGroupRecords,
            RowGroupBytes = (long?)head["row_group_bytes"] ?? ParquetSettings.DefaultRowGroupBytes,
        };
        var parquet = renderOptions.Parquet(format);
        var shardRecords = (long)head["shard_records"]!;
        var shardBytes = (long)head["shard_bytes"]!;
        var events = parts.Select(p => Path.Combine(p.Dir, PartWriter.EventsFile)).ToList();
        RefuseOutInPart(parts, outDir);
        using var folder = OutputFolder.Open(outDir, events);
        long recordsWithImages = 0;

        // Self-instruct: near duplicates are decided here, against every earlier sample of every part, as one process does.
        var threshold = (double?)head["near_duplicate_threshold"] ?? 0.7;
        var pool = new NearDuplicateFilter(threshold);
        var images = head["images"] is JsonObject stage ? new PartImages.Replay((int)stage["near_duplicate_distance"]!) : null;
        var byKind = (head["kinds"] as JsonArray)?.Select(k => (string)k!).ToDictionary(k => k, _ => 0L) ?? [];
        IReadOnlyList<ShardInfo> shards;
        long records;
        string? splitReason;
        IReadOnlyDictionary<string, long> byReason;
        long rejectCount;
        using (var shardWriter = new ShardWriter(folder.StagingData, name, shardRecords, shardBytes, container, format.Capabilities.UploadLimits, parquet))
        using (var rejects = new RejectWriter(folder.Staging))
        {
            var readers = parts.Select(p => new PartEventReader(Path.Combine(p.Dir, PartWriter.EventsFile), Str(p.Json, "events_sha256"))).ToList();
            try
            {
                var read = new (long Records, long WithImages, long Rejects)[readers.Count];
                var heads = new PriorityQueue<int, long>();
                var current = new PartEvent?[readers.Count];
                for (var i = 0; i < readers.Count; i++)
                {
                    if ((current[i] = readers[i].Next()) is { } e)
                    {
                        heads.Enqueue(i, e.Seq);
                    }
                }

                long last = -1;
                while (heads.TryDequeue(out var i, out var seq))
                {
                    ct.ThrowIfCancellationRequested();
                    if (seq == last)
                    {
                        throw new UsageException($"merge: event {seq} is in two parts (one of them {parts[i].Dir}): the parts overlap");
                    }

                    last = seq;
                    var e = current[i]!.Value;
                    read[i] = e.Kind == PartEventKind.Line
                        ? (read[i].Records + 1, read[i].WithImages + (e.HasImages ? 1 : 0), read[i].Rejects)
                        : (read[i].Records, read[i].WithImages, read[i].Rejects + 1);
                    if (images is not null && e.Flags != "-")
                    {
                        images.See(e.Flags);
                    }

                    if (kind == PartManifest.SelfInstructKind && e.Flags != "-" && Sample(e, pool, threshold, byKind) is { } duplicate)
                    {
                        rejects.Write(duplicate);
                    }
                    else if (e.Kind == PartEventKind.Line)
                    {
                        shardWriter.WriteLine(e.Payload.Span, e.HasImages);
                        recordsWithImages += e.HasImages ? 1 : 0;
                    }
                    else
                    {
                        var reject = RejectJson.Read(e.Payload.Span);
                        if (e.Flags == "rel")
                        {
                            reject = reject with { File = Path.GetRelativePath(outDir, reject.File).Replace('\\', '/') };
                        }

                        rejects.Write(reject);
                    }

                    if ((current[i] = readers[i].Next()) is { } next)
                    {
                        heads.Enqueue(i, next.Seq);
                    }
                }

                for (var i = 0; i < readers.Count; i++)
                {
                    // Every count the part gives of its events is checked against the events read (a count edited in part.json would go unnoticed otherwise).
                    foreach (var (key, n) in new[] { ("events", readers[i].Events), ("records", read[i].Records), ("records_with_images", read[i].WithImages), ("rejects", read[i].Rejects) })
                    {
                        if (n != (long)parts[i].Json[key]!)
                        {
                            throw new Json.InputDataException(events[i], "-", "bad-part", string.Create(CultureInfo.InvariantCulture, $"{n} {key.Replace('_', ' ')}, but part.json says {(long)parts[i].Json[key]!}"));
                        }
                    }
                }
            }
            finally
            {
                readers.ForEach(r => r.Dispose());
            }

            shards = shardWriter.Complete(folder.Staging);
            records = shardWriter.Records;
            splitReason = shardWriter.SplitReason;
            rejects.Complete();
            byReason = new Dictionary<string, long>(rejects.ByReason);
            rejectCount = rejects.Count;
            format.WriteSideFiles(new SideFileContext(folder.Staging, name, shards, renderOptions, recordsWithImages));
        }

        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in head["inputs"]!.AsArray().OfType<JsonObject>())
        {
            var path = Str(input, "path");
            inputs[kind == PartManifest.RewriteKind ? Path.GetRelativePath(outDir, path).Replace('\\', '/') : path] = Str(input, "sha256");
        }

        var manifest = new Manifest
        {
            Name = name,
            Format = format.Name,
            ToolVersion = Str(head, "tool_version"),
            Seed = (long)head["seed"]!,
            RecipeSha256 = Str(head, "recipe_sha256"),
            Records = records,
            Shards = shards,
            Rejects = rejectCount,
            RejectsByReason = byReason,
            Inputs = inputs,
            Container = container,
            Parquet = parquet,
            UploadLimits = format.Capabilities.UploadLimits,
            SplitReason = splitReason,
            WriteExtra = kind switch
            {
                PartManifest.RewriteKind => w => WriteRewrite(w, parts),
                PartManifest.SelfInstructKind => w => WriteSelfInstruct(w, parts, byKind, pool.MaxKeptScore),
                _ when images is not null => w => images.Total(parts.Select(p => p.Json["images"]!.AsObject())).WriteTo(w, Str(head["images"]!.AsObject(), "mode")),
                _ => null,
            },
        };
        // The parts' image files, checked against their names and counts, staged, then placed beside the shards.
        var gathered = GatherImages(parts, folder.Staging);

        if (kind == PartManifest.BuildKind && head["recipe_canonical"] is JsonValue canonicalText && templates is not null)
        {
            // A single build writes its dataset card from its shards; the merge writes the same card from the same shards.
            var canonical = System.Text.Encoding.UTF8.GetBytes((string)canonicalText!);
            var recipe = JsonSerializer.Deserialize(canonical, Recipes.RecipeJsonContext.Default.Recipe)!;
            manifest = Pipeline.DatasetCard.WriteInto(folder.Staging, manifest, recipe, templates, SourcesOf(parts), evaluation: false, canonical);
        }

        if (kind is PartManifest.RewriteKind or PartManifest.SelfInstructKind)
        {
            // A rewrite or self-instruct run writes its card from its shards and manifest; the merge, from the same ones.
            manifest = Pipeline.DatasetCard.WriteDerived(folder.Staging, manifest, kind == PartManifest.RewriteKind ? "rewrite" : "self-instruct", templates, renderOptions.ImageToken);
        }

        AtomicFile.Write(Path.Combine(folder.Staging, OutputFolder.ManifestFile), manifest.WriteTo);
        PlaceImages(gathered, folder.Staging, folder.Root);
        if (kind == PartManifest.BuildKind)
        {
            // As after a single build: images/ holds the files the records refer to, no earlier build's.
            folder.ImagesKept = gathered;
        }

        folder.Commit();
        log.Information("merged {Parts} parts: {Records} records in {Shards} shards, {Rejects} rejects, in {Out}", parts.Count, records, shards.Count, rejectCount, outDir);
        if (kind == PartManifest.BuildKind)
        {
            ThrowIfEmpty(parts);
        }

        await Task.CompletedTask.ConfigureAwait(false);
        return new MergeResult(kind, records, rejectCount, shards, Path.Combine(outDir, OutputFolder.ManifestFile));
    }

    /// <summary>
    /// An --out that is a part folder or lies in one is refused before anything is written: the worker's next run there
    /// (or the part's own data/ and images/) would delete or mix with the merged output.
    /// </summary>
    private static void RefuseOutInPart(List<Part> parts, string outDir)
    {
        if (string.IsNullOrWhiteSpace(outDir) || outDir.Contains('\0', StringComparison.Ordinal))
        {
            return;
        }

        var real = RealPath.Of(outDir) + Path.DirectorySeparatorChar;
        foreach (var p in parts)
        {
            if (real.StartsWith(RealPath.Of(p.Dir) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new OutputException(Path.GetFullPath(outDir), $"this folder is or lies in the part {p.Dir}: the merged output would mix with the part, and a new run of its worker would delete it; choose an --out outside the parts", null, refused: true);
            }
        }
    }

    /// <summary>Each source's records summed over the parts, in the build's source order.</summary>
    private static List<Pipeline.SourceOutcome> SourcesOf(List<Part> parts) =>
        parts[0].Json["sources"] is JsonArray first
            ? [.. first.OfType<JsonObject>().Select((s, i) => new Pipeline.SourceOutcome(
                Str(s, "name"), (string?)s["adapter"] ?? string.Empty, new Dictionary<string, string>(), parts.Sum(p => (long?)p.Json["sources"]?[i]?["records"] ?? 0), new Dictionary<string, (long, Records.Reject)>()))]
            : [];

    /// <summary>
    /// The files of every part's <c>images/</c> (copies and written-out inline images, each named by the sha256 of its
    /// bytes), staged once each. A file whose bytes do not hash to its name, a name no worker gives, or a folder holding
    /// another number of files than its part.json counts is a bad part (the merge would otherwise hand on wrong images,
    /// or records naming images that are not there). The names gathered.
    /// </summary>
    private static HashSet<string> GatherImages(List<Part> parts, string staging)
    {
        var gathered = new HashSet<string>(StringComparer.Ordinal);
        var target = Path.Combine(staging, OutputFolder.ImagesFolder);
        foreach (var p in parts)
        {
            var from = Path.Combine(p.Dir, OutputFolder.ImagesFolder);
            var files = Directory.Exists(from) ? Directory.EnumerateFiles(from).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList() : [];
            var odd = files.FirstOrDefault(f => Path.GetFileNameWithoutExtension(f) is var stem && (stem.Length != 64 || !stem.All(char.IsAsciiHexDigitLower)));
            if (odd is not null)
            {
                throw new Json.InputDataException(odd, "-", "bad-part", "not an image its worker wrote (those are named by the sha256 of their bytes); move it out of the part");
            }

            if ((long?)p.Json["image_files"] is { } expected && expected != files.Count)
            {
                throw new Json.InputDataException(from, "-", "bad-part", string.Create(CultureInfo.InvariantCulture, $"{files.Count} image files, but part.json says {expected}: files were removed or added since its worker finished; run that worker again"));
            }

            foreach (var file in files)
            {
                // Each file is checked, also one another part gave first: a damaged part is named even where its twin is sound.
                var name = Path.GetFileName(file);
                var first = gathered.Add(name);
                if (first)
                {
                    Directory.CreateDirectory(target);
                }

                string sha;
                using (var read = File.OpenRead(file))
                using (var write = first ? new FileStream(Path.Combine(target, name), FileMode.CreateNew, FileAccess.Write) : null)
                using (var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
                {
                    var buffer = new byte[1 << 16];
                    int n;
                    while ((n = read.Read(buffer)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        write?.Write(buffer, 0, n);
                    }

                    sha = Convert.ToHexStringLower(hash.GetHashAndReset());
                }

                if (sha != Path.GetFileNameWithoutExtension(name))
                {
                    throw new Json.InputDataException(file, "-", "bad-part", $"its bytes hash to {sha}, not to its name: the file changed since its worker finished; run that worker again");
                }
            }
        }

        return gathered;
    }

    /// <summary>The staged images go into the output's images folder (replacing a file of the same name, which may be damaged).</summary>
    private static void PlaceImages(HashSet<string> gathered, string staging, string root)
    {
        if (gathered.Count == 0)
        {
            return;
        }

        var target = Path.Combine(root, OutputFolder.ImagesFolder);
        Directory.CreateDirectory(target);
        foreach (var name in gathered.Order(StringComparer.Ordinal))
        {
            File.Move(Path.Combine(staging, OutputFolder.ImagesFolder, name), Path.Combine(target, name), overwrite: true);
        }
    }

    /// <summary>A source no worker got a record from fails the merge as it fails a single build (after writing, exit 2).</summary>
    private static void ThrowIfEmpty(List<Part> parts)
    {
        if ((bool?)parts[0].Json["allow_empty"] == true || parts[0].Json["sources"] is not JsonArray first)
        {
            return;
        }

        for (var s = 0; s < first.Count; s++)
        {
            var total = parts.Sum(p => (long?)p.Json["sources"]?[s]?["records"] ?? 0);
            if (total == 0)
            {
                throw new EmptySourceException($"source '{(string?)first[s]?["name"]}' yielded no records in any part; see rejects.jsonl in the output folder; pass --allow-empty to accept an empty source");
            }
        }
    }

    private static UsageCounters Usage(List<Part> parts)
    {
        var usage = new UsageCounters();
        foreach (var p in parts)
        {
            if (p.Json["usage"] is JsonObject u)
            {
                usage.Add(u);
            }
        }

        return usage;
    }

    private static decimal? Cost(List<Part> parts, UsageCounters usage) =>
        PriceTable.Load((string?)parts[0].Json["price_table"]).Cost(Str(parts[0].Json, "model"), usage.InputTokens, usage.OutputTokens);

    /// <summary>A self-instruct sample's event: the near-duplicate reject that replaces it, or null (its records counted by kind).</summary>
    private static Records.Reject? Sample(PartEvent e, NearDuplicateFilter pool, double threshold, Dictionary<string, long> byKind)
    {
        var flags = JsonNode.Parse(e.Flags)!.AsObject();
        var kind = (string)flags["kind"]!;
        if (flags["questions"] is JsonArray questions
            && SelfInstructor.Duplicate(pool, [.. questions.Select(q => (string)q!)], threshold) is { } detail)
        {
            return new Records.Reject((string)flags["source"]!, (string)flags["file"]!, (string)flags["position"]!, SelfInstructor.NearDuplicate, detail);
        }

        if (e.Kind == PartEventKind.Line)
        {
            byKind[kind] = byKind.GetValueOrDefault(kind) + 1;
        }

        return null;
    }

    private static void WriteSelfInstruct(Utf8JsonWriter w, List<Part> parts, Dictionary<string, long> byKind, double maxKept)
    {
        var usage = Usage(parts);
        w.WriteStartObject("self_instruct");
        w.WriteString("model", Str(parts[0].Json, "model"));
        w.WriteStartObject("records_by_kind");
        foreach (var (kind, n) in byKind)
        {
            w.WriteNumber(kind, n);
        }

        w.WriteEndObject();
        w.WriteStartObject("prompt_versions");
        foreach (var (kind, v) in parts[0].Json["prompt_versions"]!.AsObject())
        {
            w.WriteString(kind, (string)v!);
        }

        w.WriteEndObject();
        w.WriteBoolean("capped", false);
        w.WriteNumber("near_duplicate_threshold", (double)parts[0].Json["near_duplicate_threshold"]!);
        w.WriteNumber("max_kept_question_rouge_l", Math.Round(maxKept, 4));
        w.WriteEndObject();
        if (parts[0].Json["hallucination"] is JsonObject first)
        {
            Generation.HallucinationTally.Sum(parts.Select(p => p.Json["hallucination"]!["counts"]!.AsObject())).WriteTo(w, Str(first, "mode"));
        }

        usage.WriteTo(w, Cost(parts, usage));
    }

    private static void WriteRewrite(Utf8JsonWriter w, List<Part> parts)
    {
        var usage = Usage(parts);
        w.WriteStartObject("rewrite");
        w.WriteString("model", Str(parts[0].Json, "model"));
        w.WriteString("prompt_version", Str(parts[0].Json, "prompt_version"));
        w.WriteBoolean("capped", false);
        w.WriteNumber("rewritten_answers", parts.Sum(p => (long)p.Json["rewritten_answers"]!));
        w.WriteEndObject();
        usage.WriteTo(w, Cost(parts, usage));
    }
}
