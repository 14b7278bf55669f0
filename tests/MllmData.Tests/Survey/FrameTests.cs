using System.Text.Json;
using System.Text;
using MllmData.Records;
using MllmData.Templates;

namespace MllmData.Tests.Survey;

public sealed class FrameTests
{
    private const string Preamble = "<BOS>Each sample below sets a task, gives the input it is about (an image, a text or both), and then a response that carries the task out.";

    [Fact]
    public async Task Sections_Frame_Writes_A_Vqa_Record_In_The_Surveys_Order_With_The_Question_As_Input()
    {
        var built = await SurveyBuild.TextVqaAsync("--format", "template", "--frame", "sections", "--templates", SurveyBuild.VqaPack(), "--suffix", "none");

        Assert.Equal(0, built.ExitCode);
        var record = built.Record("textvqa-q0");
        Assert.Equal(
            Preamble + "\n\n### Instruction:\nAnswer the question about the picture in a word or two.\n\n### Input:\n<image>\nwhat is the brand of phone?\n\n### Response:\nnokia<EOS>",
            record.GetProperty("text").GetString());

        // The frame has {text}: every record got the instruction-only template.
        Assert.All(built.Records, r => Assert.Equal("without-question", r.GetProperty("meta").GetProperty("templates")[0].GetString()));
    }

    [Fact]
    public async Task Sections_Frame_Writes_A_Caption_Record_With_Its_Image_As_The_Whole_Input()
    {
        var built = await SurveyBuild.RunAsync(
            "--adapter", "coco-captions", "--input", $"captions={SurveyBuild.CocoCaptions}", "--image-root", SurveyBuild.CocoImages,
            "--format", "template", "--frame", "sections", "--templates", SurveyBuild.CaptionPack());

        Assert.Equal(0, built.ExitCode);
        Assert.Equal(
            Preamble + "\n\n### Instruction:\nWrite one sentence about this picture.\n\n### Input:\n<image>\n\n### Response:\nA plane floating on top of a lake surrounded by mountains.<EOS>",
            built.Record("coco-captions-c221865").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Plain_Frame_By_Name_Writes_The_Same_Bytes_As_No_Frame_And_Keeps_The_Question_In_The_Instruction()
    {
        var pack = SurveyBuild.VqaPack();
        var none = await SurveyBuild.TextVqaAsync("--format", "template", "--templates", pack);
        var plain = await SurveyBuild.TextVqaAsync("--format", "template", "--frame", "plain", "--templates", pack);

        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(none.Bytes, plain.Bytes);
        Assert.Equal("<BOS> what is the brand of phone? Reply briefly. <image> nokia <EOS>", plain.Record("textvqa-q0").GetProperty("text").GetString());
    }

    [Fact]
    public void A_Record_Without_Image_Or_Text_Has_No_Input_Section_And_An_Eval_Record_Keeps_Its_Eos()
    {
        var frame = FrameLibrary.LoadFile(Path.Combine(TestPaths.RepoRoot, "templates", "frames", "sections.yaml"));
        var record = new InstructionRecord
        {
            Id = "t1",
            Source = "s",
            Task = "text",
            Turns = [new Turn { Instruction = "Name a prime number.", Output = null }],
            Provenance = new Provenance { Adapter = "a", File = "f" },
        };

        Assert.Equal(Preamble + "\n\n### Instruction:\nName a prime number.\n\n### Response:\n<EOS>", frame.Render(record, "<BOS>", "<EOS>", "<image>"));
    }

    [Fact]
    public void An_Empty_Slot_Takes_Only_The_Spaces_Of_The_Text_Before_It()
    {
        var text = new FrameText("{bos} {instruction} {text} {output} {eos}");
        var sb = new StringBuilder();
        text.RenderTo(sb, new Dictionary<string, string> { ["bos"] = "<s>", ["instruction"] = "ends in a space ", ["text"] = string.Empty, ["output"] = "x", ["eos"] = "</s>" });

        // The instruction's own trailing space stays; only the frame's space before the empty {text} goes.
        Assert.Equal("<s> ends in a space  x </s>", sb.ToString());
    }

    [Fact]
    public async Task Templates_Lint_Reports_Unknown_Slots_And_A_Missing_Output_And_Build_Refuses_The_Frame()
    {
        var dir = TestPaths.NewTempDir();
        var bad = Path.Combine(dir, "bad-frame.yaml");
        File.WriteAllText(bad, "id: bad\nturn: \"{bos} {question} {image} {eos}\"\n");

        var lint = await CliRunner.RunAsync("templates", "lint", bad);
        var build = await SurveyBuild.TextVqaAsync("--format", "template", "--frame", bad);

        Assert.Equal(2, lint.ExitCode);
        Assert.Contains($"{bad}: turn: unknown-slot: {{question}}", lint.Output, StringComparison.Ordinal);
        Assert.Contains($"{bad}: turn: missing-output:", lint.Output, StringComparison.Ordinal);
        Assert.Equal(1, build.ExitCode);
        Assert.Contains("unknown-slot", build.Result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(build.Out));
    }

    [Fact]
    public async Task An_Instruction_Only_Frame_Without_A_Text_Slot_Is_Refused_Because_The_Question_Would_Be_Lost()
    {
        var dir = TestPaths.NewTempDir();
        var bad = Path.Combine(dir, "no-text.yaml");
        File.WriteAllText(bad, "id: no-text\ntemplates: instruction-only\nturn: \"{bos}{instruction} {image} {output}{eos}\"\n");

        var lint = await CliRunner.RunAsync("templates", "lint", bad);
        var build = await SurveyBuild.TextVqaAsync("--format", "template", "--frame", bad);

        Assert.Equal(2, lint.ExitCode);
        Assert.Contains($"{bad}: turn: missing-text: the turn has no {{text}} but the frame takes instruction-only templates: the question would be lost", lint.Output, StringComparison.Ordinal);
        Assert.Equal(1, build.ExitCode);
        Assert.Contains("missing-text", build.Result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(build.Out));
    }

    [Fact]
    public async Task A_Frame_File_Of_The_Users_Is_An_Input_Of_The_Manifest_With_Its_Sha256()
    {
        var dir = TestPaths.NewTempDir();
        var frame = Path.Combine(dir, "mine.yaml");
        File.WriteAllText(frame, "id: mine\nturn: \"{bos}{instruction}\\n{image} {text}\\n{output}{eos}\"\n");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(frame)));

        var built = await SurveyBuild.TextVqaAsync("--format", "template", "--frame", frame);

        Assert.Equal(0, built.ExitCode);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(built.Out, "manifest.json")));
        var inputs = manifest.RootElement.GetProperty("inputs").EnumerateArray().ToDictionary(i => i.GetProperty("path").GetString()!, i => i.GetProperty("sha256").GetString());
        Assert.Equal(sha, inputs["mine.yaml"]);
    }

    [Fact]
    public async Task Shipped_Frames_Pass_The_Lint()
    {
        var lint = await CliRunner.RunAsync("templates", "--templates-dir", Path.Combine(TestPaths.RepoRoot, "templates"), "lint");

        Assert.Equal(0, lint.ExitCode);
        Assert.Contains(", 3 frames, 0 findings", lint.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Frame_Is_Refused_For_Formats_Other_Than_Template()
    {
        var built = await SurveyBuild.TextVqaAsync("--format", "llava", "--frame", "sections");

        Assert.Equal(1, built.ExitCode);
        Assert.Contains("only the template format is laid out by a frame", built.Result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(built.Out));
    }
}
