using System.Security.Cryptography;
using System.Text.Json;
using MllmData.Adapters;
using MllmData.Formats;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using MllmData.Json;

namespace MllmData.Recipes;

/// <summary>Loads recipes (YAML, or JSON of the same shape), checks them and hashes them.</summary>
public static partial class RecipeLoader
{
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$")]
    private static partial System.Text.RegularExpressions.Regex CardId();

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial System.Text.RegularExpressions.Regex TaskCategory();

    public static Recipe Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"recipe '{path}' does not exist");
        }

        var text = RecipeBounds.ReadText(path);
        Recipe? recipe;
        try
        {
            RecipeBounds.Check(path, text);
            var deserializer = new DeserializerBuilder()
                .WithTypeInspector(inner => new RecipeKeys(inner))
                .WithNodeDeserializer(new EmptyScalarGuard(), where => where.OnTop())
                .WithCaseInsensitivePropertyMatching()
                .WithDuplicateKeyChecking()
                .Build();
            lock (Json.YamlGate.Lock)
            {
                ThrowIfCaseTwins(path, text);
                recipe = deserializer.Deserialize<Recipe>(text);
            }
        }
        catch (YamlException ex)
        {
            var cause = ex.InnerException;
            while (cause is YamlException { InnerException: not null })
            {
                cause = cause.InnerException;
            }

            var why = cause is EmptyRecipeValueException empty ? empty.Message : InWords(ex, cause);
            throw new UsageException($"{path}: line {ex.Start.Line}, column {ex.Start.Column}: {why}");
        }

        if (recipe is null)
        {
            throw new UsageException($"{path}: the recipe is empty; it needs at least one entry under sources, or a self_instruct section");
        }

        if (FirstEmpty(recipe) is { } where)
        {
            throw new UsageException($"{path}: {where} is empty (~, null or nothing): give it a value, or leave it out");
        }

        if (recipe.Sources.Count == 0 && recipe.SelfInstruct is null)
        {
            throw new UsageException($"{path}: a recipe needs at least one entry under sources, or a self_instruct section");
        }

        if (recipe.Sources.Count > 0 && recipe.SelfInstruct is not null)
        {
            throw new UsageException($"{path}: put self_instruct in a recipe of its own (without sources)");
        }

        // Paths in a recipe are relative to the recipe's folder, so a recipe works from any current folder.
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        recipe.Folder = baseDir;
        MapPaths(recipe, p => Resolve(baseDir, p));
        for (var i = 0; i < recipe.Sources.Count; i++)
        {
            try
            {
                recipe.Sources[i].Options = Normalise(recipe.Sources[i].Options);
            }
            catch (UsageException twins)
            {
                throw new UsageException($"{path}: sources[{i}].{twins.Message}");
            }
        }

        return recipe;
    }

    /// <summary>Where a list or map of the recipe holds an empty entry (e.g. <c>sources[1]</c>), or null.</summary>
    private static string? FirstEmpty(Recipe recipe)
    {
        for (var i = 0; i < recipe.Sources.Count; i++)
        {
            var s = recipe.Sources[i];
            var at = $"sources[{i}]";
            if (s is null)
            {
                return at;
            }

            var hit = s.Inputs.FirstOrDefault(kv => kv.Value is null).Key is { } k ? $"{at}.inputs.{k}"
                : s.Options.FirstOrDefault(kv => kv.Value is null).Key is { } o ? $"{at}.options.{o}"
                : s.Map.FirstOrDefault(kv => kv.Value is null).Key is { } m ? $"{at}.map.{m}"
                : s.TemplateTags.Any(t => t is null) ? $"{at}.template_tags" : null;
            if (hit is not null)
            {
                return hit;
            }
        }

        return recipe.SelfInstruct is { } g && (g.Inputs.FirstOrDefault(kv => kv.Value is null).Key is { } gk)
            ? $"self_instruct.inputs.{gk}"
            : recipe.SelfInstruct?.Kinds.Any(k => k is null) == true ? "self_instruct.kinds" : null;
    }

    /// <summary>Every local path a recipe holds, in one place: resolved when loaded, shown relative when hashed.</summary>
    private static void MapPaths(Recipe recipe, Func<string, string> map)
    {
        foreach (var source in recipe.Sources)
        {
            foreach (var key in source.Inputs.Keys.ToList())
            {
                source.Inputs[key] = map(source.Inputs[key]);
            }

            source.ImageRoot = source.ImageRoot is null ? null : map(source.ImageRoot);
            if (source.Templates is { } t && (t.EndsWith(".yaml", StringComparison.Ordinal) || t.Contains('/', StringComparison.Ordinal)))
            {
                source.Templates = map(t);
            }
        }

        recipe.Exclude = [.. recipe.Exclude.Select(p => string.IsNullOrEmpty(p) ? p : map(p))];
        if (recipe.SelfInstruct is { } generate)
        {
            foreach (var key in generate.Inputs.Keys.ToList())
            {
                generate.Inputs[key] = map(generate.Inputs[key]);
            }

            generate.PriceTable = generate.PriceTable is null ? null : map(generate.PriceTable);
            if (generate.Tools is { } tools && (tools.EndsWith(".yaml", StringComparison.Ordinal) || tools.EndsWith(".yml", StringComparison.Ordinal) || tools.Contains('/', StringComparison.Ordinal)))
            {
                generate.Tools = map(tools);
            }
        }

        if (recipe.Rewrite is { } rewrite)
        {
            rewrite.Captions = rewrite.Captions is null ? null : map(rewrite.Captions);
            rewrite.Instances = rewrite.Instances is null ? null : map(rewrite.Instances);
            rewrite.ImageRoot = rewrite.ImageRoot is null ? null : map(rewrite.ImageRoot);
            rewrite.PriceTable = rewrite.PriceTable is null ? null : map(rewrite.PriceTable);

            // Pack files (a prompt pack, the build's own template packs) are paths beside the recipe; pack ids stay ids.
            if (IsPackFile(rewrite.Prompt))
            {
                rewrite.Prompt = map(rewrite.Prompt);
            }

            rewrite.TemplatePacks = rewrite.TemplatePacks?.Select(p => IsPackFile(p) ? map(p) : p).ToList();
        }
    }

    private static bool IsPackFile(string? value) =>
        value is not null && (value.EndsWith(".yaml", StringComparison.Ordinal) || value.EndsWith(".yml", StringComparison.Ordinal) || value.Contains('/', StringComparison.Ordinal));

    private static string Resolve(string baseDir, string path) => Path.IsPathRooted(path) ? path : Path.Combine(baseDir, path);

    /// <summary>Option names are written with '-' on the command line; recipes may use '_' too.</summary>
    /// <exception cref="UsageException">Two spellings of one option (<c>max-turns</c> and <c>max_turns</c>): which value is meant cannot be told.</exception>
    public static SortedDictionary<string, string> Normalise(IDictionary<string, string> options)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var spelled = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in options)
        {
            var name = k.Replace('_', '-');
            if (spelled.TryGetValue(name, out var first))
            {
                throw new UsageException($"options: '{first}' and '{k}' are one option ({name}); which value is meant cannot be told (give it once)");
            }

            spelled[name] = k;
            result[name] = v;
        }

        return result;
    }

    /// <summary>Keys of a map that name recipe settings (matched in any case), not free names (inputs, options, map).</summary>
    private static readonly HashSet<string> FreeMaps = new(StringComparer.OrdinalIgnoreCase) { "inputs", "options", "map" };

    /// <summary>
    /// Refuses two keys of one settings map that differ only in case (<c>name</c> and <c>Name</c>): settings are matched in any
    /// case, so the reader would keep one of the two silently, as with a key written twice.
    /// </summary>
    private static void ThrowIfCaseTwins(string path, string text)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException)
        {
            // The deserializer reports it, in the recipe's words.
            return;
        }

        var seen = new HashSet<YamlDotNet.RepresentationModel.YamlNode>(ReferenceEqualityComparer.Instance);
        void Walk(YamlDotNet.RepresentationModel.YamlNode node, bool settings)
        {
            if (!seen.Add(node))
            {
                return;
            }

            switch (node)
            {
                case YamlDotNet.RepresentationModel.YamlMappingNode map:
                    var keys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    foreach (var (key, value) in map.Children)
                    {
                        var name = (key as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value;
                        if (settings && name is not null)
                        {
                            if (keys.TryGetValue(name, out var first) && first != name)
                            {
                                throw new UsageException($"{path}: line {key.Start.Line}, column {key.Start.Column}: '{first}' and '{name}' are one key (keys are matched in any case); which value is meant cannot be told (keep one)");
                            }

                            keys.TryAdd(name, name);
                        }

                        Walk(value, settings && !(name is not null && FreeMaps.Contains(name)));
                    }

                    break;
                case YamlDotNet.RepresentationModel.YamlSequenceNode list:
                    foreach (var item in list.Children)
                    {
                        Walk(item, settings);
                    }

                    break;
            }
        }

        foreach (var document in stream.Documents)
        {
            Walk(document.RootNode, settings: true);
        }
    }

    /// <summary>A YAML error as a recipe's author reads it: keys by their name and section, values by what was expected.</summary>
    private static string InWords(YamlException ex, Exception? cause)
    {
        if (System.Text.RegularExpressions.Regex.Match(ex.Message, @"^Property '([^']*)' not found on type '[^']*?(\w+)'\.$") is { Success: true } unknown)
        {
            var section = unknown.Groups[2].Value switch
            {
                "Recipe" => "the recipe",
                "SourceSpec" => "a source",
                "ImageSettings" => "images",
                "TokenSettings" => "tokens",
                "MixtureSettings" => "mixture",
                "RewriteSettings" => "rewrite",
                "SelfInstructSettings" => "self_instruct",
                var type => null,
            };
            return section is null
                ? $"this value is a map, where {Expected(unknown.Groups[2].Value)} is expected"
                : $"unknown key '{unknown.Groups[1].Value}' in {section} (docs/recipes.md lists every key)";
        }

        if (ex.Message.StartsWith("Encountered duplicate key ", StringComparison.Ordinal))
        {
            // YAML (and JSON) readers keep one of two equal keys without a word; a recipe must say one thing.
            return Json.YamlErrors.InWords(ex.Message);
        }

        var text = $"{ex.Message} {cause?.Message}";
        if (System.Text.RegularExpressions.Regex.Match(text, @"Invalid cast from '[^']*' to '([^'\[`]*)") is { Success: true } cast)
        {
            return $"this value is a single value, where {Expected(cast.Groups[1].Value)} is expected";
        }

        if (System.Text.RegularExpressions.Regex.Match(text, @"into type ([\w.`]+)") is { Success: true } node)
        {
            return $"this value is a list or a map, where {Expected(node.Groups[1].Value)} is expected";
        }

        return cause switch
        {
            FormatException or OverflowException => $"this value is not of the key's type: {cause.Message}",
            null => ex.Message,
            _ => $"{ex.Message} ({cause.Message})",
        };
    }

    /// <summary>A .NET type as the shape of a recipe value.</summary>
    private static string Expected(string type)
    {
        var name = type[(type.LastIndexOf('.') + 1)..];
        return name switch
        {
            _ when name.StartsWith("List", StringComparison.Ordinal) => "a list",
            _ when name.Contains("Dictionary", StringComparison.Ordinal) => "a map of names to values",
            "Int32" or "Int64" => "a whole number",
            "Double" or "Single" or "Decimal" => "a number",
            "Boolean" => "true or false",
            "String" => "a text",
            _ => "a map of settings",
        };
    }

    /// <summary>Canonical JSON of the recipe (everything that decides the output), its paths shown as <see cref="SourcePaths"/> shows them.</summary>
    public static byte[] Canonical(Recipe recipe)
    {
        var copy = JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(recipe, RecipeJsonContext.Default.Recipe), RecipeJsonContext.Default.Recipe)!;
        foreach (var s in copy.Sources)
        {
            // A deserialized dictionary sorts by the culture; the canonical form sorts ordinally.
            (s.Inputs, s.Options, s.Map) = (new(s.Inputs, StringComparer.Ordinal), new(s.Options, StringComparer.Ordinal), new(s.Map, StringComparer.Ordinal));
        }

        if (copy.SelfInstruct is { } g)
        {
            g.Inputs = new(g.Inputs, StringComparer.Ordinal);
        }

        // How many images are worked on at once changes the speed, never the output: builds, parts and merges agree whatever it is.
        copy.Images.Threads = 0;
        MapPaths(copy, SourcePaths.For(recipe).Show);
        return JsonSerializer.SerializeToUtf8Bytes(copy, RecipeJsonContext.Default.Recipe);
    }

    public static string Sha256(Recipe recipe) => Convert.ToHexStringLower(SHA256.HashData(Canonical(recipe)));

    /// <summary>
    /// Checks every setting of every source before any file is touched (Spectre's bind, validate, run), so a mistake is
    /// a usage error (exit 1) with one line saying what is wrong, and no output folder is made.
    /// </summary>
    public static void Validate(Recipe recipe)
    {
        Refuse(SafeName.FileProblem(recipe.Name) is { } bad ? $"--name (name) {bad}" : null);
        Refuse(FormatRegistry.Names.Contains(recipe.Format, StringComparer.Ordinal) ? null : $"--format (format) must be one of {string.Join(", ", FormatRegistry.Names)}, got '{recipe.Format}'");
        Refuse(recipe.ShardRecords is >= 1 and <= 100_000_000 ? null : FormattableString.Invariant($"--shard-records (shard_records) must be from 1 to 100000000, got {recipe.ShardRecords}"));
        Refuse(recipe.RowGroupRecords is null or (>= 1 and <= 100_000_000) ? null : FormattableString.Invariant($"--row-group-records (row_group_records) must be from 1 to 100000000, got {recipe.RowGroupRecords}"));
        Refuse(recipe.RowGroupBytes is null or >= 1 ? null : FormattableString.Invariant($"--row-group-bytes (row_group_bytes) must be 1 or more, got {recipe.RowGroupBytes}"));
        Refuse(recipe.ShardBytes >= 0 ? null : FormattableString.Invariant($"--shard-bytes (shard_bytes) must be 0 (no bound) or more, got {recipe.ShardBytes}"));
        Refuse(recipe.Images.Problem());
        Refuse(recipe.License is { } license && !CardId().IsMatch(license) ? $"license must be a licence id such as cc-by-4.0 or apache-2.0 (letters, digits, '.', '+', '_', '-'; at most 64), got '{license}'" : null);
        Refuse(recipe.TaskCategories.FirstOrDefault(t => !TaskCategory().IsMatch(t)) is { } category ? $"task_categories takes Hub task ids such as visual-question-answering (lower-case letters, digits, '-'), got '{category}'" : null);
        Refuse(recipe.Rewrite?.Problem("rewrite"));
        Refuse(recipe.SelfInstruct?.Problem("self_instruct"));
        Refuse(recipe.SelfInstruct is { } si && si.Kinds.Contains("tool-use", StringComparer.Ordinal) && FormatRegistry.Names.Contains(recipe.Format, StringComparer.Ordinal) && !FormatRegistry.Get(recipe.Format).Capabilities.ToolUse
            ? $"--kinds tool-use (self_instruct.kinds) needs a format with a place for tool calls ({string.Join(", ", FormatRegistry.All.Where(f => f.Capabilities.ToolUse).Select(f => f.Name))}), not {recipe.Format}"
            : null);
        Refuse(recipe.SplitRole is null or "train" or "eval" ? null : $"--split-role (split_role) must be train or eval, got '{recipe.SplitRole}'");
        Refuse(recipe.SplitRole == "eval" && recipe.FormatGiven
            ? $"--split-role eval writes an evaluation set (LLaVA question files and answers.jsonl), not {recipe.Format}: leave out --format (format)"
            : null);
        Refuse(recipe.IsEvaluation && recipe.Rewrite is not null ? "rewrite: an evaluation set keeps its questions and reference answers as the benchmark gives them; leave out the rewrite section" : null);
        Refuse(Recipe.IclOrders.Contains(recipe.IclOrder, StringComparer.Ordinal) ? null : $"--icl-order (icl_order) must be {string.Join(" or ", Recipe.IclOrders)}, got '{recipe.IclOrder}'");
        Refuse(recipe.Exclude.Any(string.IsNullOrWhiteSpace) ? "--exclude (exclude) takes an evaluation set's folder, manifest or answers file, got an empty path" : null);
        foreach (var (setting, text) in new[] { ("--system-prompt (system_prompt)", recipe.SystemPrompt), ("--bos (tokens.bos)", recipe.Tokens.Bos), ("--eos (tokens.eos)", recipe.Tokens.Eos), ("--image-token (tokens.image)", recipe.Tokens.Image) })
        {
            // Written into every record: a control character there would be in all of them.
            Refuse(text is not null && TextCheck.ControlAt(text) is { } at
                ? FormattableString.Invariant($"{setting} holds the control character U+{(int)text[at]:X4} at character {at + 1}")
                : null);
        }

        // A system message that shows nothing would be an empty message in every record.
        Refuse(recipe.SystemPrompt is { } system && TextCheck.IsBlank(system)
            ? $"--system-prompt (system_prompt) is {TextCheck.BlankKind(system)}; leave it out for no system message"
            : null);

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in recipe.Sources)
        {
            var adapter = AdapterRegistry.Get(s.Adapter);
            var name = s.Name ?? adapter.Name;
            Refuse(SafeName.Problem(name) is { } badName ? $"source name (--source-name, sources[].name) {badName}" : null);
            if (!names.Add(name))
            {
                throw new UsageException($"two sources are named '{name}'; give each a distinct name");
            }

            foreach (var key in s.Inputs.Keys.Where(k => adapter.Inputs.All(i => i.Name != k)))
            {
                throw new UsageException($"adapter '{adapter.Name}' has no input '{key}'; inputs: {string.Join(", ", adapter.Inputs.Select(i => i.Name))}");
            }

            foreach (var missing in adapter.Inputs.Where(i => i.Required && !s.Inputs.ContainsKey(i.Name)))
            {
                throw new UsageException($"source '{name}' needs --input {missing.Name}=FILE ({missing.Description})");
            }

            foreach (var (key, value) in s.Options)
            {
                var option = adapter.Options.FirstOrDefault(o => o.Name == key)
                    ?? throw new UsageException($"adapter '{adapter.Name}' has no option '{key}'; options: {string.Join(", ", adapter.Options.Select(o => o.Name))}");
                Refuse(value.Length == 0 ? null : option.Problem(value, s.Inputs) is { } problem ? $"--{key} (source '{name}') {problem}" : null);
                Refuse(option.OnlyWith.Select(w => w.Problem(s.Options, adapter.Options)).FirstOrDefault(p => p is not null) is { } misplaced ? $"--{key} (source '{name}') {misplaced}" : null);
            }

            // An evaluation set has one line per question: two records per problem would share its id.
            Refuse(recipe.IsEvaluation && s.Options.TryGetValue("cot", out var cot) && cot == "two-stage"
                ? $"--cot two-stage (source '{name}') makes two records per question, and an evaluation set has one line per question: use --cot rationale or --cot answer-given-rationale"
                : null);

            // Nor would a conversation of several questions: every record would be an unsupported-shape reject.
            Refuse(recipe.IsEvaluation && s.Options.TryGetValue("group-by-image", out var grouped) && grouped is not ("false" or "0" or "no" or "")
                ? $"--group-by-image (source '{name}') merges the questions of an image into one conversation, and an evaluation set has one line per question: leave it out"
                : null);

            // Question-only records never go into a training format: they make an evaluation set.
            var questionOnly = s.Options.TryGetValue(Sample.Unanswered.Name, out var unanswered) && unanswered == "eval";
            Refuse(questionOnly && (recipe.SplitRole == "train" || recipe.FormatGiven)
                ? $"--unanswered eval (source '{name}') makes question-only records, which never go into a training format" +
                  (recipe.FormatGiven ? $" such as {recipe.Format}: leave out --format (format)" : ": leave out --split-role train (split_role)") +
                  " to write an evaluation set (LLaVA question files and answers.jsonl), or build a split that has answers"
                : null);

            if (s.Map.Count > 0 && adapter.Name is not ("csv" or "jsonl"))
            {
                throw new UsageException($"--map is for the csv and jsonl adapters, not '{adapter.Name}'");
            }

            Refuse(s.License is { } sourceLicense && (sourceLicense.Length is 0 or > 200 || sourceLicense.Any(char.IsControl)) ? $"license (source '{name}') must be one line of 1 to 200 characters" : null);
            Refuse(s.SuffixTurns is "first" or "every" ? null : $"--suffix-turns (suffix_turns) must be first or every, got '{s.SuffixTurns}'");
            Refuse(s.Constraints is SourceSpec.ConstraintsMatch or SourceSpec.ConstraintsOff ? null : $"--constraints (constraints) must be match or off, got '{s.Constraints}'");
            Refuse(s.CotTrigger is { } trigger && string.IsNullOrWhiteSpace(trigger) ? "--cot-trigger (cot_trigger) needs a trigger id of the cot pack, or random" : null);
            Refuse(MixtureProblem(s, name, recipe.Mixture is not null));
        }

        Refuse(recipe.Mixture?.Problem());
        Refuse(recipe.Mixture is not null && recipe.Sources.Count == 0 ? "a mixture: section needs sources to mix" : null);
    }

    /// <summary>The largest sampling weight: shares are weight × size, so larger ones would lose precision.</summary>
    public const double MaxWeight = 1_000_000;

    /// <summary>A source's mixture keys: only with a mixture section, and each in its range.</summary>
    private static string? MixtureProblem(SourceSpec s, string name, bool mixture)
    {
        var given = new[] { ("weight", s.Weight is not null), ("max_samples", s.MaxSamples is not null), ("repeat", s.Repeat is not null) }.FirstOrDefault(k => k.Item2).Item1;
        if (!mixture)
        {
            return given is null ? null : $"sources[].{given} (source '{name}') needs a mixture: section in the recipe";
        }

        return s.Weight is { } w && !(w > 0 && w <= MaxWeight) ? FormattableString.Invariant($"sources[].weight (source '{name}') must be a number above 0 and at most {MaxWeight}, got {w}")
            : s.MaxSamples is < 1 ? FormattableString.Invariant($"sources[].max_samples (source '{name}') must be 1 or more, got {s.MaxSamples}")
            : s.Repeat is < 1 or > 1000 ? FormattableString.Invariant($"sources[].repeat (source '{name}') must be from 1 to 1000, got {s.Repeat}")
            : null;
    }

    private static void Refuse(string? problem)
    {
        if (problem is not null)
        {
            throw new UsageException(problem);
        }
    }
}
