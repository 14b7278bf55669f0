using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MllmData.Templates;

/// <summary>Loads template packs from a folder of YAML files (one pack per file, searched recursively; <c>frames/</c> holds frames, see <see cref="FrameLibrary"/>).</summary>
public sealed class TemplateLibrary
{
    private readonly Dictionary<string, TemplatePack> _packs;

    private TemplateLibrary(string root, Dictionary<string, TemplatePack> packs)
    {
        Root = root;
        _packs = packs;
    }

    /// <summary>The folder beside the packs that holds tool catalogues (see <c>ToolCatalogue</c>).</summary>
    public const string ToolsFolder = "tools";

    public string Root { get; }

    public IEnumerable<TemplatePack> Packs => _packs.Values.OrderBy(p => p.Id, StringComparer.Ordinal);

    /// <summary>
    /// The templates folder: an explicit path, else <c>MLLMDATA_TEMPLATES</c>, else <c>templates/</c> beside the
    /// executable (where the tool package puts it), else <c>templates/</c> in the current folder.
    /// </summary>
    public static string LocateRoot(string? explicitRoot)
    {
        if (!string.IsNullOrEmpty(explicitRoot))
        {
            return explicitRoot;
        }

        var env = Environment.GetEnvironmentVariable("MLLMDATA_TEMPLATES");
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }

        var beside = Path.Combine(AppContext.BaseDirectory, "templates");
        return Directory.Exists(beside) ? beside : Path.GetFullPath("templates");
    }

    public static TemplateLibrary Load(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new UsageException($"templates folder '{root}' does not exist");
        }

        var packs = new Dictionary<string, TemplatePack>(StringComparer.Ordinal);
        var frames = Path.Combine(root, FrameLibrary.Folder) + Path.DirectorySeparatorChar;
        var tools = Path.Combine(root, ToolsFolder) + Path.DirectorySeparatorChar;
        foreach (var file in Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            // Frames (whole-record layouts) and tool catalogues live beside the packs but are not packs.
            if (file.StartsWith(frames, StringComparison.Ordinal) || file.StartsWith(tools, StringComparison.Ordinal))
            {
                continue;
            }

            var pack = LoadFile(file);
            if (!packs.TryAdd(pack.Id, pack))
            {
                throw new UsageException($"template pack id '{pack.Id}' is defined in both {packs[pack.Id].Path} and {file}");
            }
        }

        return new TemplateLibrary(root, packs);
    }

    /// <summary>
    /// The sha256 of the templates folder (every YAML file under it, packs, frames and tool catalogues, by relative path
    /// and bytes) and of the pack files named by path in <paramref name="packPaths"/>: the words a build draws from,
    /// which the recipe names but does not hold. Workers of one job array must draw from the same ones.
    /// </summary>
    public string Sha256(IEnumerable<string?> packPaths)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Add(string name, string file)
        {
            var bytes = File.ReadAllBytes(file);
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name}\n{bytes.Length}\n")));
            hash.AppendData(bytes);
        }

        foreach (var file in Directory.EnumerateFiles(Root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            Add(Path.GetRelativePath(Root, file).Replace('\\', '/'), file);
        }

        foreach (var path in packPaths.OfType<string>().Where(p => !_packs.ContainsKey(p) && File.Exists(p)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            Add("pack:" + path, path);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A pack by id, or by path to a YAML file.</summary>
    public TemplatePack Get(string idOrPath)
    {
        if (_packs.TryGetValue(idOrPath, out var pack))
        {
            return pack;
        }

        if (File.Exists(idOrPath))
        {
            return LoadFile(idOrPath);
        }

        throw new UsageException($"unknown template pack '{idOrPath}'; known: {string.Join(", ", _packs.Keys.Order(StringComparer.Ordinal))}");
    }

    /// <summary>
    /// One reader for every pack file: building one costs more than reading a pack (its type descriptions are made by
    /// reflection), and a build reads every pack of the folder. Used under <see cref="Json.YamlGate.Lock"/> only.
    /// </summary>
    private static readonly Lazy<IDeserializer> PackReader = new(() =>
        new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).WithDuplicateKeyChecking().Build());

    public static TemplatePack LoadFile(string file)
    {
        PackFile? dto;
        try
        {
            using var reader = new StreamReader(file);
            lock (Json.YamlGate.Lock)
            {
                dto = PackReader.Value.Deserialize<PackFile>(reader);
            }
        }
        catch (YamlException ex)
        {
            throw new UsageException($"{file}: line {ex.Start.Line}: {Json.YamlErrors.InWords(ex.Message)}");
        }

        if (dto?.Id is null || dto.Task is null || dto.Templates is null)
        {
            throw new UsageException($"{file}: a template pack needs id, task and templates");
        }

        static InstructionTemplate Convert(TemplateEntry t, string file) =>
            new(t.Id ?? throw new UsageException($"{file}: a template has no id"), t.Text ?? string.Empty, t.Tags ?? []);

        return new TemplatePack
        {
            Id = dto.Id,
            Task = dto.Task,
            Description = dto.Description ?? string.Empty,
            Placeholders = dto.Placeholders ?? [],
            Templates = [.. dto.Templates.Select(t => Convert(t, file))],
            Suffixes = [.. (dto.Suffixes ?? []).Select(t => Convert(t, file))],
            DefaultSuffix = dto.DefaultSuffix,
            System = dto.System ?? string.Empty,
            Examples = [.. (dto.Examples ?? []).Select(e => new FewShotExample(
                e.Id ?? throw new UsageException($"{file}: an example has no id"), e.Context ?? string.Empty, e.Response ?? string.Empty))],
            Kind = dto.Kind ?? "instructions",
            Path = file,
        };
    }

    private sealed class PackFile
    {
        public string? Id { get; set; }

        public string? Task { get; set; }

        public string? Description { get; set; }

        public List<string>? Placeholders { get; set; }

        public List<TemplateEntry>? Templates { get; set; }

        public List<TemplateEntry>? Suffixes { get; set; }

        public string? DefaultSuffix { get; set; }

        public string? System { get; set; }

        public string? Kind { get; set; }

        public List<ExampleEntry>? Examples { get; set; }
    }

    private sealed class ExampleEntry
    {
        public string? Id { get; set; }

        public string? Context { get; set; }

        public string? Response { get; set; }
    }

    private sealed class TemplateEntry
    {
        public string? Id { get; set; }

        public string? Text { get; set; }

        public List<string>? Tags { get; set; }
    }
}
