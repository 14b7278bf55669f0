using System.Security.Cryptography;
using System.Text.RegularExpressions;
using MllmData.Records;
using MllmData.Templates;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MllmData.Generation;

/// <summary>A tool of the catalogue and how its observation is made.</summary>
/// <remarks>
/// Observation kinds: <c>detect</c> (boxes of a category, from the annotations), <c>count</c> (how many of a category),
/// <c>crop</c> (the objects inside a box), <c>calculate</c> (the expression's value), <c>caption</c> (the image's first
/// human caption) and <c>model</c> (the model's own text, marked on the record).
/// </remarks>
public sealed record CatalogueTool(ToolSpec Spec, string Observation);

/// <summary>A YAML tool catalogue: the tools tool-use samples may call, with typed arguments.</summary>
public sealed partial class ToolCatalogue
{
    /// <summary>The folder of <c>templates/</c> that holds catalogues (not template packs).</summary>
    public const string Folder = TemplateLibrary.ToolsFolder;

    public const string DefaultName = "vision-tools";

    public static IReadOnlyList<string> ArgumentTypes { get; } = ["string", "integer", "number", "boolean", "box", "enum"];

    public static IReadOnlyList<string> ObservationKinds { get; } = ["detect", "count", "crop", "calculate", "caption", "model"];

    private readonly Dictionary<string, CatalogueTool> _byName;

    private ToolCatalogue(string path, string sha256, IReadOnlyList<CatalogueTool> tools)
    {
        Path = path;
        Sha256 = sha256;
        Tools = tools;
        _byName = tools.ToDictionary(t => t.Spec.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    /// <summary>SHA-256 of the file's bytes, part of the prompt version.</summary>
    public string Sha256 { get; }

    public IReadOnlyList<CatalogueTool> Tools { get; }

    public IReadOnlyList<ToolSpec> Specs => [.. Tools.Select(t => t.Spec)];

    public bool NeedsObjects => Tools.Any(t => t.Observation is "detect" or "count" or "crop");

    public CatalogueTool? Find(string name) => _byName.GetValueOrDefault(name);

    // OpenAI's rule for function names.
    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ToolName();

    /// <summary>
    /// The catalogue a <c>--tools</c> value names: a file, or the name of a catalogue in <c>templates/tools/</c>;
    /// null or empty means the shipped <c>vision-tools</c>.
    /// </summary>
    public static string Resolve(string? value, string templatesRoot)
    {
        if (string.IsNullOrEmpty(value))
        {
            value = DefaultName;
        }

        if (File.Exists(value))
        {
            return value;
        }

        var shipped = System.IO.Path.Combine(templatesRoot, Folder, value + ".yaml");
        return File.Exists(shipped)
            ? shipped
            : throw new UsageException($"--tools: '{value}' is neither a file nor a catalogue in {System.IO.Path.Combine(templatesRoot, Folder)}");
    }

    public static ToolCatalogue Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException ex)
        {
            throw new UsageException($"--tools {path}: {ex.Message}");
        }

        CatalogueFile? dto;
        try
        {
            var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).WithDuplicateKeyChecking().Build();
            using var reader = new StreamReader(new MemoryStream(bytes));
            lock (Json.YamlGate.Lock)
            {
                dto = deserializer.Deserialize<CatalogueFile>(reader);
            }
        }
        catch (YamlException ex)
        {
            throw new UsageException($"{path}: line {ex.Start.Line}: {Json.YamlErrors.InWords(ex.Message)}");
        }

        if (dto?.Tools is not { Count: > 0 } entries)
        {
            throw new UsageException($"{path}: a tool catalogue needs a non-empty list under tools");
        }

        var tools = new List<CatalogueTool>();
        // Names that differ only in case ('Calc', 'calc') are one tool to a reader and to most models: refused as a repeat.
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in entries)
        {
            var name = e.Name ?? string.Empty;
            void Fail(string why) => throw new UsageException($"{path}: tool '{name}': {why}");
            if (!ToolName().IsMatch(name))
            {
                Fail("a name is 1 to 64 letters, digits, '_' or '-'");
            }

            if (!names.Add(name))
            {
                Fail(names.TryGetValue(name, out var first) && first != name ? $"defined twice (as '{first}' before; names that differ only in case name one tool)" : "defined twice");
            }

            if (string.IsNullOrWhiteSpace(e.Description))
            {
                Fail("needs a description");
            }

            var observation = e.Observation ?? "model";
            if (!ObservationKinds.Contains(observation, StringComparer.Ordinal))
            {
                Fail($"observation must be one of {string.Join(", ", ObservationKinds)}, got '{observation}'");
            }

            var arguments = new List<ToolArgument>();
            foreach (var a in e.Arguments ?? [])
            {
                var argName = a.Name ?? string.Empty;
                if (!ToolName().IsMatch(argName))
                {
                    Fail($"argument '{argName}' needs a unique name of letters, digits, '_' or '-'");
                }

                // As with tool names, 'Unit' and 'unit' are one argument to a reader and to a model that fills them in.
                if (arguments.FirstOrDefault(x => string.Equals(x.Name, argName, StringComparison.OrdinalIgnoreCase)) is { } twin)
                {
                    Fail(twin.Name == argName ? $"argument '{argName}' is defined twice" : $"argument '{argName}' is defined twice (as '{twin.Name}' before; names that differ only in case name one argument)");
                }

                var type = a.Type ?? string.Empty;
                if (!ArgumentTypes.Contains(type, StringComparer.Ordinal))
                {
                    Fail($"argument '{argName}' has type '{type}'; types are {string.Join(", ", ArgumentTypes)}");
                }

                var values = a.Values ?? [];
                if ((type == "enum") != (values.Count > 0) || values.Any(string.IsNullOrWhiteSpace) || values.Distinct(StringComparer.Ordinal).Count() != values.Count)
                {
                    Fail($"argument '{argName}': an enum lists its distinct values under values, and only an enum does");
                }

                // "km" and "KM" (or " km") read as one value, and a call that gives either would be judged by its bytes.
                if (values.GroupBy(v => v.Trim(), StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } same)
                {
                    Fail($"argument '{argName}': enum values {string.Join(" and ", same.Select(v => $"'{v}'"))} differ only in case or spaces; list one of them");
                }

                arguments.Add(new ToolArgument(argName, type, a.Description?.Trim() ?? string.Empty, a.Required ?? true, values));
            }

            CheckContract(name, observation, arguments, Fail);
            tools.Add(new CatalogueTool(new ToolSpec(name, e.Description!.Trim(), arguments), observation));
        }

        return new ToolCatalogue(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), tools);
    }

    /// <summary>The arguments our own observations read: detect and count take a category and an optional region, crop a box, calculate an expression.</summary>
    private static void CheckContract(string name, string observation, List<ToolArgument> arguments, Action<string> fail)
    {
        (string Name, string Type, bool Required)[]? expected = observation switch
        {
            "detect" or "count" => [("category", "string", true), ("region", "box", false)],
            "crop" => [("box", "box", true)],
            "calculate" => [("expression", "string", true)],
            _ => null,
        };
        if (expected is null)
        {
            return;
        }

        foreach (var a in arguments)
        {
            var match = expected.FirstOrDefault(x => x.Name == a.Name);
            if (match.Name is null || match.Type != a.Type || (match.Required && !a.Required))
            {
                fail($"a tool with observation {observation} takes {string.Join(" and ", expected.Select(x => $"{(x.Required ? string.Empty : "an optional ")}{x.Name} ({x.Type})"))}; '{a.Name}' ({a.Type}{(a.Required ? string.Empty : ", optional")}) does not fit");
            }
        }

        foreach (var x in expected.Where(x => x.Required && arguments.All(a => a.Name != x.Name)))
        {
            fail($"a tool with observation {observation} needs the argument {x.Name} ({x.Type})");
        }
    }

    private sealed class CatalogueFile
    {
        public List<ToolEntry>? Tools { get; set; }
    }

    private sealed class ToolEntry
    {
        public string? Name { get; set; }

        public string? Description { get; set; }

        public string? Observation { get; set; }

        public List<ArgumentEntry>? Arguments { get; set; }
    }

    private sealed class ArgumentEntry
    {
        public string? Name { get; set; }

        public string? Type { get; set; }

        public string? Description { get; set; }

        public bool? Required { get; set; }

        public List<string>? Values { get; set; }
    }
}
