using System.Security.Cryptography;
using System.Text.Json;
using MllmData.Adapters;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MllmData.Recipes;

/// <summary>Loads recipes (YAML, or JSON of the same shape) and hashes them.</summary>
public static class RecipeLoader
{
    public static Recipe Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"recipe '{path}' does not exist");
        }

        Recipe? recipe;
        try
        {
            var deserializer = new DeserializerBuilder()
                .WithNamingConvention(UnderscoredNamingConvention.Instance)
                .WithCaseInsensitivePropertyMatching()
                .Build();
            using var reader = new StreamReader(path);
            recipe = deserializer.Deserialize<Recipe>(reader);
        }
        catch (YamlException ex)
        {
            var inner = ex.InnerException is null ? string.Empty : $" ({ex.InnerException.Message})";
            throw new UsageException($"{path}: line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}{inner}");
        }

        if (recipe is null || (recipe.Sources.Count == 0 && recipe.SelfInstruct is null))
        {
            throw new UsageException($"{path}: a recipe needs at least one entry under sources, or a self_instruct section");
        }

        if (recipe.Sources.Count > 0 && recipe.SelfInstruct is not null)
        {
            throw new UsageException($"{path}: put self_instruct in a recipe of its own (without sources)");
        }

        // Paths in a recipe are relative to the recipe's folder, so a recipe works from any current folder.
        var baseDir = Path.GetDirectoryName(path) ?? string.Empty;
        foreach (var source in recipe.Sources)
        {
            foreach (var key in source.Inputs.Keys.ToList())
            {
                source.Inputs[key] = Resolve(baseDir, source.Inputs[key]);
            }

            source.ImageRoot = source.ImageRoot is null ? null : Resolve(baseDir, source.ImageRoot);
            if (source.Templates is { } t && (t.EndsWith(".yaml", StringComparison.Ordinal) || t.Contains('/', StringComparison.Ordinal)))
            {
                source.Templates = Resolve(baseDir, t);
            }

            source.Options = Normalise(source.Options);
        }

        if (recipe.SelfInstruct is { } generate)
        {
            foreach (var key in generate.Inputs.Keys.ToList())
            {
                generate.Inputs[key] = Resolve(baseDir, generate.Inputs[key]);
            }
        }

        if (recipe.Rewrite is { } rewrite)
        {
            rewrite.Captions = rewrite.Captions is null ? null : Resolve(baseDir, rewrite.Captions);
            rewrite.ImageRoot = rewrite.ImageRoot is null ? null : Resolve(baseDir, rewrite.ImageRoot);
            rewrite.PriceTable = rewrite.PriceTable is null ? null : Resolve(baseDir, rewrite.PriceTable);
        }

        return recipe;
    }

    private static string Resolve(string baseDir, string path) => Path.IsPathRooted(path) ? path : Path.Combine(baseDir, path);

    /// <summary>Option names are written with '-' on the command line; recipes may use '_' too.</summary>
    public static SortedDictionary<string, string> Normalise(IDictionary<string, string> options)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in options)
        {
            result[k.Replace('_', '-')] = v;
        }

        return result;
    }

    /// <summary>Canonical JSON of the recipe (everything that decides the output).</summary>
    public static byte[] Canonical(Recipe recipe) => JsonSerializer.SerializeToUtf8Bytes(recipe, RecipeJsonContext.Default.Recipe);

    public static string Sha256(Recipe recipe) => Convert.ToHexStringLower(SHA256.HashData(Canonical(recipe)));

    /// <summary>Checks names and values before any file is touched, so mistakes are usage errors (exit 1).</summary>
    public static void Validate(Recipe recipe)
    {
        if (recipe.ShardRecords <= 0)
        {
            throw new UsageException("shard_records must be positive");
        }

        if (recipe.ShardBytes < 0)
        {
            throw new UsageException("shard_bytes must not be negative");
        }

        if (recipe.Images.Mode is not ("none" or "reference" or "copy" or "embed"))
        {
            throw new UsageException($"images mode must be none, reference, copy or embed, got '{recipe.Images.Mode}'");
        }

        if (recipe.Images.NearDuplicateDistance is < 0 or > 7)
        {
            throw new UsageException("the near-duplicate distance must be between 0 and 7 bits");
        }

        if (recipe.Images.MaxSide is <= 0 || recipe.Images.CenterCrop is <= 0 || recipe.Images.JpegQuality is < 1 or > 100)
        {
            throw new UsageException("max side and centre crop must be positive, and JPEG quality between 1 and 100");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in recipe.Sources)
        {
            var adapter = AdapterRegistry.Get(s.Adapter);
            var name = s.Name ?? adapter.Name;
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

            foreach (var key in s.Options.Keys.Where(k => adapter.Options.All(o => o.Name != k)))
            {
                throw new UsageException($"adapter '{adapter.Name}' has no option '{key}'; options: {string.Join(", ", adapter.Options.Select(o => o.Name))}");
            }

            if (s.Map.Count > 0 && adapter.Name is not ("csv" or "jsonl"))
            {
                throw new UsageException($"--map is for the csv and jsonl adapters, not '{adapter.Name}'");
            }

            if (s.SuffixTurns is not ("first" or "every"))
            {
                throw new UsageException($"suffix_turns must be first or every, got '{s.SuffixTurns}'");
            }
        }
    }
}
