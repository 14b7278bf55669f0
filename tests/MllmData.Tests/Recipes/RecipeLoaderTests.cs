using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using MllmData.Images;
using MllmData.Recipes;

namespace MllmData.Tests.Recipes;

/// <summary>Recipes: every documented key loads, empty sections and alias bombs are refused in bounded memory.</summary>
public partial class TheRecipeLoader
{
    private static readonly string Captions = TestPaths.RealFile("coco-mini", "annotations", "captions_val2017.json");

    private static string Write(string text, string name = "recipe.yaml")
    {
        var path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllText(path, text);
        return path;
    }

    [GeneratedRegex(@"```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();

    /// <summary>The fenced YAML blocks of docs/recipes.md: whole recipes alone, sections on top of the first whole recipe.</summary>
    public static TheoryData<int> DocumentedBlocks()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < YamlBlock().Count(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "recipes.md"))); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedBlocks))]
    public void Loads_And_Validates_Every_Example_In_The_Recipe_Docs(int index)
    {
        var blocks = YamlBlock().Matches(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "recipes.md"))).Select(m => m.Groups[1].Value).ToList();
        static bool Whole(string b) => b.Contains("\nsources:", StringComparison.Ordinal) || b.Contains("\nself_instruct:", StringComparison.Ordinal);
        var text = Whole(blocks[index]) ? blocks[index] : blocks.First(Whole) + blocks[index];

        var recipe = RecipeLoader.Load(Write(text));
        RecipeLoader.Validate(recipe);

        Assert.True(recipe.Sources.Count > 0 || recipe.SelfInstruct is not null);
    }

    [Theory]
    [InlineData("sedd: 3\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "line 1, column 1: unknown key 'sedd' in the recipe (docs/recipes.md lists every key)")]
    [InlineData("sources: [{adapter: coco-captions, inputs: {captions: c.json}, optoins: {a: b}}]\n", "line 1, column 64: unknown key 'optoins' in a source (docs/recipes.md lists every key)")]
    [InlineData("images: {maxside: 3}\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "line 1, column 10: unknown key 'maxside' in images (docs/recipes.md lists every key)")]
    [InlineData("seed: 1e400\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "line 1, column 7: this value is not of the key's type: The input string '1e400' was not in a correct format.")]
    [InlineData("exclude: notalist\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "line 1, column 10: this value is a single value, where a list is expected")]
    [InlineData("images: fast\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "line 1, column 9: this value is a single value, where a map of settings is expected")]
    [InlineData("sources: [{adapter: coco-captions, inputs: 5}]\n", "line 1, column 44: this value is a single value, where a map of names to values is expected")]
    [InlineData("seed: [1, 2]\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "line 1, column 7: this value is a list or a map, where a whole number is expected")]
    [InlineData("images: {threads: {a: 1}}\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "line 1, column 20: this value is a map, where a whole number is expected")]
    public void A_Misspelt_Key_Or_A_Value_Of_Another_Type_Is_Named_In_Words(string text, string message)
    {
        var path = Write(text);
        var ex = Assert.Throws<UsageException>(() => RecipeLoader.Load(path));
        Assert.Equal($"{path}: {message}", ex.Message);
    }

    [Theory]
    [InlineData("system_prompt: \"be\\x07 nice\"\n", "--system-prompt (system_prompt) holds the control character U+0007 at character 3")]
    [InlineData("system_prompt: \"\\x1b[31mred\"\n", "--system-prompt (system_prompt) holds the control character U+001B at character 1")]
    [InlineData("tokens: {eos: \"</s>\\x7f\"}\n", "--eos (tokens.eos) holds the control character U+007F at character 5")]
    public void A_Setting_Written_Into_Every_Record_Holds_No_Control_Character(string line, string message)
    {
        var recipe = RecipeLoader.Load(Write(line + "sources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n"));
        var ex = Assert.Throws<UsageException>(() => RecipeLoader.Validate(recipe));
        Assert.Equal(message, ex.Message);
    }

    private static readonly string[] ThreadSettings = ["", "images: {threads: 1}\n", "images: {threads: 3}\n", "images: {threads: 0, mode: none}\n"];

    [Fact]
    public void The_Recipe_Identity_Does_Not_Depend_On_The_Thread_Count_Or_The_Machine()
    {
        // --threads and the machine's cores change the speed only: a part built on a 2-core machine merges with one built
        // on a 4-core machine, and the card shows the same recipe.
        var recipes = ThreadSettings.Select(extra => RecipeLoader.Load(Write(extra + "sources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n")))
            .ToList();
        Assert.Equal([0, 1, 3, 0], recipes.Select(r => r.Images.Threads));
        Assert.Single(recipes.Select(RecipeLoader.Sha256).Distinct());

        var images = System.Text.Json.JsonDocument.Parse(RecipeLoader.Canonical(recipes[2])).RootElement.GetProperty("images");
        Assert.Equal(0, images.GetProperty("threads").GetInt32());
        Assert.DoesNotContain(images.EnumerateObject(), p => p.Name is "Workers" or "Active" or "Transforms");
        Assert.All(images.EnumerateObject(), p => Assert.Equal(p.Name.ToLowerInvariant(), p.Name));
    }

    [Fact]
    public void Reads_Every_Key_By_The_Name_The_Docs_Use()
    {
        var recipe = RecipeLoader.Load(Write($"""
            sources:
              - adapter: coco-captions
                inputs: {"{"}captions: {Captions}{"}"}
            images:
              allocation_limit_mb: 64
              max_side_pixels: 8000
            rewrite:
              rpm: 30
              tpm: 9000
              max_output_tokens: 99
            """));

        Assert.Equal((64, 8000), (recipe.Images.AllocationLimitMegabytes, recipe.Images.MaxSidePixels));
        Assert.Equal((30, 9000, 99), (recipe.Rewrite!.RequestsPerMinute, recipe.Rewrite.TokensPerMinute, recipe.Rewrite.MaxOutputTokens));
    }

    [Fact]
    public void Reads_The_Rewrite_Pack_Files_Beside_The_Recipe_And_Keeps_Pack_Ids()
    {
        // A prompt pack and the build's own template packs named in a recipe are found beside it, wherever the run starts.
        var path = Write($"""
            sources:
              - adapter: coco-captions
                inputs: {"{"}captions: {Captions}{"}"}
            rewrite:
              prompt: packs/my-prompt.yaml
              templates: [mine.yaml, vqa-short, /abs/theirs.yml]
            """);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var recipe = RecipeLoader.Load(path);

        Assert.Equal(Path.Combine(dir, "packs", "my-prompt.yaml"), recipe.Rewrite!.Prompt);
        Assert.Equal([Path.Combine(dir, "mine.yaml"), "vqa-short", "/abs/theirs.yml"], recipe.Rewrite.TemplatePacks);
        Assert.Equal("question-only", RecipeLoader.Load(Write($"""
            sources:
              - adapter: coco-captions
                inputs: {"{"}captions: {Captions}{"}"}
            rewrite:
              model: m
            """)).Rewrite!.Prompt);
    }

    [Fact]
    public void Documents_Every_Recipe_Key()
    {
        var docs = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "recipes.md"));
        var keys = new[] { typeof(Recipe), typeof(ImageSettings), typeof(TokenSettings), typeof(SourceSpec), typeof(RewriteSettings), typeof(SelfInstructSettings) }
            .SelectMany(t => t.GetProperties())
            .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name)
            .OfType<string>()
            .Distinct()
            .ToList();

        var undocumented = keys.Where(k => !Regex.IsMatch(docs, $@"(^|\s){Regex.Escape(k)}:", RegexOptions.Multiline)).ToList();
        Assert.True(undocumented.Count == 0, "not in docs/recipes.md: " + string.Join(", ", undocumented));
    }

    [Theory]
    [InlineData("sources: ~\n", 1, 1, "'sources' is empty")]
    [InlineData("sources:\n", 1, 1, "'sources' is empty")]
    [InlineData("images: ~\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", 1, 1, "'images' is empty")]
    [InlineData("tokens: null\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", 1, 1, "'tokens' is empty")]
    [InlineData("sources: [{adapter: coco-captions, inputs: {captions: c.json}}]\nrewrite: ~\n", 2, 1, "'rewrite' is empty")]
    [InlineData("self_instruct: ~\n", 1, 1, "'self_instruct' is empty")]
    [InlineData("sources:\n  - adapter: coco-captions\n    inputs: {captions: c.json}\n    options: ~\n", 4, 5, "'options' is empty")]
    [InlineData("sources:\n  - adapter: coco-captions\n    inputs: {captions: c.json}\n    template_tags: ~\n", 4, 5, "'template_tags' is empty")]
    [InlineData("name: ~\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", 1, 1, "'name' is empty")]
    public async Task Refuses_An_Empty_Section_Or_Value_With_Its_Line(string text, int line, int column, string what)
    {
        var path = Write(text);
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");

        var r = await CliRunner.RunAsync("build", "--recipe", path, "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {path}: line {line}, column {column}: {what} (~, null or nothing): give it a value, or leave the key out for the default\n", r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    [Theory]
    [InlineData("name: a\nname: b\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", "recipe.yaml", 2, "name")]
    [InlineData("sources:\n  - adapter: coco-captions\n    inputs: {captions: c.json, captions: d.json}\n", "recipe.yaml", 3, "captions")]
    [InlineData("sources:\n  - adapter: vqav2\n    inputs: {questions: q.json}\n    options: {answer: mc, answer: majority}\n", "recipe.yaml", 4, "answer")]
    [InlineData("{\"seed\": 1, \"sources\": [], \"seed\": 2}", "recipe.json", 1, "seed")]
    public async Task Refuses_A_Key_Written_Twice_With_Its_Line(string text, string name, int line, string key)
    {
        // A YAML or JSON reader keeps one of two equal keys silently: the recipe would build what its author may not have meant.
        var path = Write(text, name);
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");

        var r = await CliRunner.RunAsync("build", "--recipe", path, "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Matches($@"^error: {Regex.Escape(path)}: line {line}, column \d+: the key '{key}' is written twice in this map; which value is meant cannot be told \(keep one\)\n$", r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    [Theory]
    [InlineData("name: a\nName: b\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", 2, "'name' and 'Name'")]
    [InlineData("sources:\n  - adapter: coco-captions\n    ADAPTER: csv\n    inputs: {captions: c.json}\n", 3, "'adapter' and 'ADAPTER'")]
    [InlineData("images: {mode: none, Mode: reference}\nsources: [{adapter: coco-captions, inputs: {captions: c.json}}]\n", 1, "'mode' and 'Mode'")]
    public async Task Refuses_Keys_That_Differ_Only_In_Case(string text, int line, string which)
    {
        // Settings are matched in any case, so the reader would keep one of the two silently.
        var path = Write(text);

        var r = await CliRunner.RunAsync("build", "--recipe", path, "--out", Path.Combine(TestPaths.NewTempDir(), "out"));

        Assert.Equal(1, r.ExitCode);
        Assert.Matches($@"^error: {Regex.Escape(path)}: line {line}, column \d+: {which} are one key \(keys are matched in any case\); which value is meant cannot be told \(keep one\)\n$", r.Error);
    }

    [Fact]
    public async Task Refuses_Two_Spellings_Of_One_Option_But_Not_Inputs_That_Differ_In_Case()
    {
        var twins = Write("sources:\n  - adapter: vqav2\n    inputs: {questions: q.json}\n    options: {max-turns: 2, max_turns: 3}\n");
        var r = await CliRunner.RunAsync("build", "--recipe", twins, "--out", Path.Combine(TestPaths.NewTempDir(), "out"));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {twins}: sources[0].options: 'max-turns' and 'max_turns' are one option (max-turns); which value is meant cannot be told (give it once)\n", r.Error);

        // Input and option names are the adapter's, matched exactly: a second spelling in another case is another (unknown) name.
        var inputs = Write($"sources:\n  - adapter: coco-captions\n    inputs: {{captions: {Captions}, Captions: {Captions}}}\n");
        var i = await CliRunner.RunAsync("build", "--recipe", inputs, "--out", Path.Combine(TestPaths.NewTempDir(), "out"));
        Assert.DoesNotContain("are one key", i.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sources: [~]\n", "sources[0]")]
    [InlineData("sources: [{adapter: coco-captions, inputs: {captions: ~}}]\n", "sources[0].inputs.captions")]
    [InlineData("sources: [{adapter: vqav2, inputs: {questions: q.json}, options: {answer: ~}}]\n", "sources[0].options.answer")]
    public async Task Refuses_An_Empty_Entry_Of_A_List_Or_Map_By_Its_Place(string text, string where)
    {
        var path = Write(text);

        var r = await CliRunner.RunAsync("build", "--recipe", path, "--out", Path.Combine(TestPaths.NewTempDir(), "out"));

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {path}: {where} is empty (~, null or nothing): give it a value, or leave it out\n", r.Error);
    }

    [Fact]
    public void Accepts_Null_For_An_Optional_Plain_Value()
    {
        var recipe = RecipeLoader.Load(Write("image_url_prefix: null\nmeta: ~\nimages: {max_side: null}\nsources: [{adapter: coco-captions, inputs: {captions: c.json}, image_root: ~}]\n"));

        Assert.Null(recipe.ImageUrlPrefix);
        Assert.Null(recipe.Meta);
        Assert.Null(recipe.Images.MaxSide);
        Assert.Null(recipe.Sources[0].ImageRoot);
    }

    /// <summary>A "billion laughs" recipe: ten levels of ten aliases each, 10^10 values once expanded, in about 2 KB; line 5 passes the bound.</summary>
    private static string AliasBomb()
    {
        var sb = new StringBuilder("a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
        for (var level = 1; level <= 9; level++)
        {
            sb.Append($"a{level}: &a{level} [{string.Join(", ", Enumerable.Repeat($"*a{level - 1}", 10))}]\n");
        }

        return "sources:\n  - adapter: coco-captions\n    inputs: {captions: c.json}\n    template_tags: *a9\n".Insert(0, sb.ToString());
    }

    [Fact]
    public void Refuses_An_Alias_Bomb_Fast_And_In_Bounded_Memory()
    {
        var path = Write(AliasBomb());
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();

        var ex = Assert.Throws<UsageException>(() => RecipeLoader.Load(path));

        clock.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal($"{path}: line 5: the recipe expands (through YAML aliases) to more than 100000 values or 4194304 characters", ex.Message);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task An_Alias_Bomb_Is_Exit_1_And_Leaves_No_Output()
    {
        var path = Write(AliasBomb());
        var outDir = Path.Combine(TestPaths.NewTempDir(), "out");

        var r = await CliRunner.RunAsync("build", "--recipe", path, "--out", outDir);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {path}: line 5: the recipe expands (through YAML aliases) to more than 100000 values or 4194304 characters\n", r.Error);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Refuses_A_Long_Value_Repeated_Through_Aliases()
    {
        var path = Write($"x: &big \"{new string('y', 100_000)}\"\nsources: [{string.Join(", ", Enumerable.Repeat("*big", 100))}]\n");
        var before = GC.GetAllocatedBytesForCurrentThread();

        var ex = Assert.Throws<UsageException>(() => RecipeLoader.Load(path));

        Assert.Equal($"{path}: line 2: the recipe expands (through YAML aliases) to more than 100000 values or 4194304 characters", ex.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20);
    }

    [Fact]
    public void Accepts_A_Few_Aliases_That_Stay_Small()
    {
        var recipe = RecipeLoader.Load(Write("sources:\n  - adapter: coco-captions\n    inputs: &in {captions: c.json}\n  - name: again\n    adapter: coco-captions\n    inputs: *in\n"));

        Assert.Equal(recipe.Sources[0].Inputs["captions"], recipe.Sources[1].Inputs["captions"]);
    }

    [Fact]
    public void Refuses_A_Recipe_Over_One_Megabyte_And_Deep_Nesting()
    {
        var big = Write("sources: []\n#" + new string('x', 1 << 20));
        Assert.Equal($"{big}: a recipe may be at most 1 MB", Assert.Throws<UsageException>(() => RecipeLoader.Load(big)).Message);

        var deep = Write("name: " + new string('[', 5000) + new string(']', 5000) + "\n");
        Assert.Equal($"{deep}: line 1: the recipe nests deeper than 64 levels", Assert.Throws<UsageException>(() => RecipeLoader.Load(deep)).Message);
    }
}
