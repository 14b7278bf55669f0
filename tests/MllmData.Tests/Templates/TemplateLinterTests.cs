using MllmData.Templates;

namespace MllmData.Tests.Templates;

public class TheTemplateLinter
{
    private static string WritePack(string body)
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "pack.yaml");
        File.WriteAllText(path, body);
        return path;
    }

    [Fact]
    public void Should_Find_Every_Defect_Class_In_A_Crafted_Pack()
    {
        var path = WritePack("""
            id: broken
            task: vqa
            placeholders: [question]
            templates:
              - id: t1
                text: "Look closely at the photo and answer: {question}"
              - id: t2
                text: "look closely at the photo, and answer {question}"
              - id: t3
                text: "Look closely at the photos and answer: {question}"
              - id: t4
                text: "   "
              - id: t5
                text: "Which of {options} fits {question}?"
              - id: t6
                text: "A stray { brace"
            """);
        var findings = TemplateLinter.Lint(TemplateLibrary.LoadFile(path));
        var codes = findings.Select(f => (f.TemplateId, f.Code)).ToList();

        Assert.Contains(("t2", "duplicate"), codes);
        Assert.Contains(("t3", "near-identical"), codes);
        Assert.Contains(("t4", "empty"), codes);
        Assert.Contains(("t5", "unknown-placeholder"), codes);
        Assert.Contains(("t6", "stray-brace"), codes);
        Assert.Contains(("-", "too-few"), codes);
        Assert.DoesNotContain(codes, c => c.TemplateId == "t1");
    }

    [Fact]
    public async Task Should_Pass_On_The_Shipped_Packs_And_Fail_On_A_Bad_One()
    {
        var clean = await CliRunner.RunAsync("templates", "lint", "--templates-dir", Path.Combine(TestPaths.RepoRoot, "templates"));
        Assert.Equal(0, clean.ExitCode);
        Assert.Contains(" 0 findings", clean.Output, StringComparison.Ordinal);

        var bad = WritePack("id: bad\ntask: caption\ntemplates:\n  - id: a\n    text: Describe it.\n  - id: b\n    text: Describe it.\n");
        var r = await CliRunner.RunAsync("templates", "lint", bad, "--templates-dir", Path.Combine(TestPaths.RepoRoot, "templates"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("b: duplicate: same text as a", r.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id: twice\ntask: caption\ntask: vqa\ntemplates:\n  - id: a\n    text: Describe it.\n", 3, "the key 'task' is written twice in this map; which value is meant cannot be told (keep one)")]
    [InlineData("id: cased\nTask: caption\ntemplates:\n  - id: a\n    text: Describe it.\n", 2, "unknown key 'Task' (keys are lower case, words joined by '_')")]
    public async Task Should_Refuse_A_Pack_With_A_Key_Twice_Or_Miscased_In_The_Authors_Words(string text, int line, string why)
    {
        var pack = WritePack(text);

        var r = await CliRunner.RunAsync("templates", "lint", pack, "--templates-dir", Path.Combine(TestPaths.RepoRoot, "templates"));

        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: {pack}: line {line}: {why}\n", r.Error);
    }

    [Fact]
    public void Should_Ship_At_Least_15_Templates_Per_Pack_With_Brief_Variants_And_Suffixes()
    {
        var lib = TemplateLibrary.Load(Path.Combine(TestPaths.RepoRoot, "templates"));
        foreach (var id in new[] { "vqa-short", "caption-brief", "caption-detailed" })
        {
            Assert.True(lib.Get(id).Templates.Count >= 15, id);
        }

        var vqa = lib.Get("vqa-short");
        Assert.True(vqa.Templates.Count(t => t.Tags.Contains("brief")) >= 4);
        Assert.NotNull(vqa.DefaultSuffix);
        Assert.All(vqa.Templates.Where(t => !t.Tags.Contains("instruction-only")), t => Assert.Equal(["question"], t.PlaceholderNames()));

        // Instruction-only templates leave the question out, for formats that carry it in a field of its own.
        foreach (var id in new[] { "vqa-short", "vqa-long", "vqa-ocr", "multiple-choice", "scienceqa" })
        {
            var io = lib.Get(id).Templates.Where(t => t.Tags.Contains("instruction-only")).ToList();
            Assert.True(io.Count >= 6, id);
            Assert.All(io, t => Assert.DoesNotContain("question", t.PlaceholderNames()));
        }
    }

    [Fact]
    public async Task Should_Show_A_Pack_With_Its_Suffixes()
    {
        var r = await CliRunner.RunAsync("templates", "show", "vqa-short", "--templates-dir", Path.Combine(TestPaths.RepoRoot, "templates"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("vqa-short-01: {question}", r.Output, StringComparison.Ordinal);
        Assert.Contains("suffix word-or-phrase (default): Reply with one word or a short phrase.", r.Output, StringComparison.Ordinal);
    }
}
