using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MllmData.Templates;

/// <summary>Loads and checks frames: YAML files in the <c>frames/</c> folder of the templates folder, or any frame file.</summary>
public static class FrameLibrary
{
    /// <summary>The folder of the templates folder that holds frames (not template packs).</summary>
    public const string Folder = "frames";

    /// <summary>The frame of today's flat output, used when none is named.</summary>
    public const string Plain = "plain";

    /// <summary>The frame used for in-context examples when none is named.</summary>
    public const string Icl = "icl";

    private static readonly string[] Required = ["output", "image"];

    /// <summary>The plain frame as built in, for builds that name no frame (the same layout as <c>frames/plain.yaml</c>).</summary>
    public static Frame BuiltInPlain { get; } = new()
    {
        Id = Plain,
        Description = "the flat form as it always was",
        Turn = new FrameText("{bos} {instruction} {image} {text} {output} {eos}"),
    };

    /// <summary>Every frame in <c>&lt;root&gt;/frames</c>, by file name order.</summary>
    public static IReadOnlyList<Frame> All(string root)
    {
        var dir = Path.Combine(root, Folder);
        return Directory.Exists(dir)
            ? [.. Directory.EnumerateFiles(dir, "*.yaml").Order(StringComparer.Ordinal).Select(LoadFile)]
            : [];
    }

    /// <summary>A frame by id (a file <c>&lt;root&gt;/frames/&lt;id&gt;.yaml</c>) or by path to a YAML file; it must pass the lint.</summary>
    public static Frame Get(string root, string idOrPath)
    {
        var named = Path.Combine(root, Folder, idOrPath + ".yaml");
        Frame frame;
        if (!idOrPath.Contains('/', StringComparison.Ordinal) && !idOrPath.Contains('\\', StringComparison.Ordinal) && File.Exists(named))
        {
            frame = LoadFile(named);
        }
        else if (File.Exists(idOrPath))
        {
            frame = LoadFile(idOrPath);
        }
        else
        {
            var known = All(root).Select(f => f.Id);
            throw new UsageException($"--frame {idOrPath}: no such frame or file; known: {string.Join(", ", known)}");
        }

        var findings = Lint(frame);
        return findings.Count == 0
            ? frame
            : throw new UsageException($"--frame {idOrPath}: {findings[0].TemplateId}: {findings[0].Code}: {findings[0].Message} (run `mllmdata templates lint`)");
    }

    /// <summary>
    /// The frame of a template-format build: the one named (an id, or a file, relative to the recipe's folder when there
    /// is one); by default null (the built-in plain frame), or <c>icl</c> when there are in-context examples. A frame
    /// with <c>{examples}</c> needs examples and examples need such a frame (exit 1 otherwise).
    /// </summary>
    public static Frame? ForBuild(string? name, int iclShots, string root, string? recipeFolder)
    {
        if (name is null && iclShots == 0)
        {
            return null;
        }

        var idOrPath = name ?? Icl;
        if (recipeFolder is not null && name is not null && !File.Exists(Path.Combine(root, Folder, name + ".yaml")) && !Path.IsPathRooted(name))
        {
            idOrPath = Path.Combine(recipeFolder, name);
        }

        var frame = Get(root, idOrPath);
        if (iclShots > 0 && !frame.TakesExamples)
        {
            throw new UsageException($"--frame {name}: --icl-shots {iclShots} needs a frame with {{examples}}, e.g. {Icl}");
        }

        if (iclShots == 0 && frame.TakesExamples)
        {
            throw new UsageException($"--frame {name}: this frame shows in-context examples; give --icl-shots K");
        }

        return frame;
    }

    public static Frame LoadFile(string file)
    {
        FrameFile? dto;
        try
        {
            var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).WithDuplicateKeyChecking().Build();
            using var reader = new StreamReader(file);
            lock (Json.YamlGate.Lock)
            {
                dto = deserializer.Deserialize<FrameFile>(reader);
            }
        }
        catch (YamlException ex)
        {
            throw new UsageException($"{file}: line {ex.Start.Line}: {Json.YamlErrors.InWords(ex.Message)}");
        }

        if (dto?.Id is null || dto.Turn is null)
        {
            throw new UsageException($"{file}: a frame needs id and turn");
        }

        var turn = new FrameText(dto.Turn);
        return new Frame
        {
            Id = dto.Id,
            Description = dto.Description ?? string.Empty,
            Turn = turn,
            Example = dto.Example is null ? null : new FrameText(dto.Example),
            TurnSeparator = dto.TurnSeparator ?? "\n",
            ImageSeparator = dto.ImageSeparator ?? " ",
            ExampleSeparator = dto.ExampleSeparator ?? "\n",
            Separator = dto.Separator ?? "\n",
            Templates = dto.Templates ?? (turn.Slots.Contains("text") ? Frame.TemplatesInstructionOnly : Frame.TemplatesAny),
            Path = file,
        };
    }

    /// <summary>Unknown slots, a missing <c>{output}</c> or <c>{image}</c>, examples without a layout or after the query's image, an unknown <c>templates</c> value.</summary>
    public static IReadOnlyList<LintFinding> Lint(Frame frame)
    {
        var findings = new List<LintFinding>();
        void Check(string part, FrameText text, IReadOnlyList<string> allowed)
        {
            foreach (var slot in text.Slots.Distinct().Where(s => !allowed.Contains(s)))
            {
                findings.Add(new(frame.Id, part, "unknown-slot", $"{{{slot}}} is not a slot of a frame's {part} ({string.Join(", ", allowed.Select(a => "{" + a + "}"))})"));
            }

            foreach (var slot in Required.Where(s => !text.Slots.Contains(s)))
            {
                findings.Add(new(frame.Id, part, "missing-" + slot, $"the {part} has no {{{slot}}}: " + (slot == "output" ? "the answer would be lost" : "image tokens would not match the images")));
            }

            if (frame.InstructionOnly && !text.Slots.Contains("text"))
            {
                // Instruction-only templates leave the question out of the instruction: only {text} carries it.
                findings.Add(new(frame.Id, part, "missing-text", $"the {part} has no {{text}} but the frame takes instruction-only templates: the question would be lost"));
            }

            foreach (var slot in text.Slots.GroupBy(s => s).Where(g => g.Count() > 1))
            {
                findings.Add(new(frame.Id, part, "repeated-slot", $"{{{slot.Key}}} is used {slot.Count()} times"));
            }
        }

        Check("turn", frame.Turn, Frame.TurnSlots);
        if (frame.Example is { } example)
        {
            Check("example", example, Frame.ExampleSlots);
            if (!frame.TakesExamples)
            {
                findings.Add(new(frame.Id, "turn", "missing-examples", "the frame has an example layout but its turn has no {examples}"));
            }
        }
        else if (frame.TakesExamples)
        {
            findings.Add(new(frame.Id, "example", "missing-example", "the turn has {examples} but the frame has no example layout"));
        }

        var slots = frame.Turn.Slots.ToList();
        if (frame.TakesExamples && slots.Contains("image") && slots.IndexOf("examples") > slots.IndexOf("image"))
        {
            findings.Add(new(frame.Id, "turn", "examples-after-image", "{examples} must come before the query's {image}: image tokens follow the images' order"));
        }

        if (frame.Templates is not (Frame.TemplatesAny or Frame.TemplatesInstructionOnly))
        {
            findings.Add(new(frame.Id, "templates", "unknown-templates", $"templates is '{frame.Templates}'; use {Frame.TemplatesAny} or {Frame.TemplatesInstructionOnly}"));
        }

        return findings;
    }

    private sealed class FrameFile
    {
        public string? Id { get; set; }

        public string? Description { get; set; }

        public string? Templates { get; set; }

        public string? Turn { get; set; }

        public string? TurnSeparator { get; set; }

        public string? ImageSeparator { get; set; }

        public string? Example { get; set; }

        public string? ExampleSeparator { get; set; }

        public string? Separator { get; set; }
    }
}
