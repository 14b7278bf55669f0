using System.Globalization;
using MllmData.Records;

namespace MllmData.Adapters;

/// <summary>Streams canonical records from one benchmark's own files.</summary>
public interface ISourceAdapter
{
    /// <summary>The name used on the command line and in recipes, e.g. <c>vqav2</c>.</summary>
    string Name { get; }

    string Description { get; }

    IReadOnlyList<AdapterInput> Inputs { get; }

    IReadOnlyList<AdapterOption> Options { get; }

    /// <summary>The template pack used when the recipe names none.</summary>
    string DefaultTemplatePack { get; }

    IAsyncEnumerable<SourceItem> ReadAsync(SourceContext context, CancellationToken cancellationToken);
}

/// <summary>A named input file of an adapter.</summary>
public sealed record AdapterInput(string Name, bool Required, string Description);

/// <summary>
/// An adapter setting, given as <c>--flag</c> on the command line or under <c>options:</c> in a recipe.
/// Its allowed values are declared here, beside it, so every value is checked before any file is opened.
/// </summary>
public sealed record AdapterOption(string Name, string Description, string? Default = null)
{
    /// <summary>The values a switch takes: a bare <c>--flag</c> is <c>true</c>.</summary>
    public static readonly IReadOnlyList<string> FlagValues = ["true", "false", "yes", "no", "1", "0"];

    /// <summary>The values the option takes; empty = any text (then only <see cref="Check"/> decides).</summary>
    public IReadOnlyList<string> Allowed { get; init; } = [];

    /// <summary>The value is a comma-separated list of <see cref="Allowed"/> values.</summary>
    public bool List { get; init; }

    /// <summary>A further check of a value against the source's inputs: the problem, or null when the value is fine.</summary>
    public Func<string, IReadOnlyDictionary<string, string>, string?>? Check { get; init; }

    /// <summary>
    /// The option means something only when each condition holds: another option of the source has one of some values (given, or its
    /// default): e.g. coco-objects' <c>negatives</c> only with <c>task=existence</c>. Set elsewhere, it is a usage error.
    /// </summary>
    public IReadOnlyList<OptionCondition> OnlyWith { get; init; } = [];

    /// <summary>What is wrong with <paramref name="value"/>, or null when it may be used.</summary>
    public string? Problem(string value, IReadOnlyDictionary<string, string> inputs)
    {
        if (Allowed.Count > 0)
        {
            string[] values = List ? value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [value];
            var listed = string.Join(", ", Allowed);
            if (values.Length == 0)
            {
                return $"must list at least one of {listed}";
            }

            if (values.FirstOrDefault(v => !Allowed.Contains(v, StringComparer.Ordinal)) is { } bad)
            {
                return List ? $"takes a comma-separated list of {listed}; '{bad}' is not one of them" : $"must be one of {listed}, got '{bad}'";
            }
        }

        return Check?.Invoke(value, inputs);
    }

    /// <summary>A whole number from 1 to <paramref name="max"/>.</summary>
    public static Func<string, IReadOnlyDictionary<string, string>, string?> Count(int max) => (v, _) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= max
            ? null
            : $"must be a whole number from 1 to {max.ToString(CultureInfo.InvariantCulture)}, got '{v}'";

    /// <summary>Some <paramref name="values"/> exist only in an input file, so they need it.</summary>
    public static Func<string, IReadOnlyDictionary<string, string>, string?> NeedsInput(string input, params string[] values) => (v, inputs) =>
        values.Contains(v, StringComparer.Ordinal) && !inputs.ContainsKey(input)
            ? $"needs --input {input}=FILE for '{v}', which only that file lists"
            : null;

    /// <summary>An image file pattern: see <see cref="ImagePattern.Problem"/>.</summary>
    public static readonly Func<string, IReadOnlyDictionary<string, string>, string?> ImagePatternCheck = (v, _) => ImagePattern.Problem(v);

    /// <summary>A name that goes into file names: see <see cref="SafeName.Problem"/>.</summary>
    public static readonly Func<string, IReadOnlyDictionary<string, string>, string?> NameCheck = (v, _) => SafeName.Problem(v);
}

/// <summary>Another option and the values it must have for an option to apply.</summary>
public sealed record OptionCondition(string Option, params string[] Values)
{
    /// <summary>What is wrong with giving the option beside <paramref name="options"/> (the source's, among <paramref name="all"/>), or null when it applies.</summary>
    public string? Problem(IReadOnlyDictionary<string, string> options, IReadOnlyList<AdapterOption> all)
    {
        var value = options.TryGetValue(Option, out var v) && v.Length > 0 ? v : all.FirstOrDefault(o => o.Name == Option)?.Default;
        return value is not null && Values.Contains(value, StringComparer.Ordinal)
            ? null
            : $"applies only with --{Option} {string.Join(" or ", Values)}{(value is null ? string.Empty : $", not '{value}'")}";
    }
}

/// <summary>Names that end up in file names and record ids: letters, digits, '.', '_' and '-', never a path.</summary>
public static class SafeName
{
    public const int MaxLength = 100;

    /// <summary>What is wrong with <paramref name="name"/> as a name, or null when it is fine.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "must not be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"is longer than {MaxLength.ToString(CultureInfo.InvariantCulture)} characters";
        }

        if (name.Contains("..", StringComparison.Ordinal) || name[0] is '.' or '-')
        {
            return $"must not start with '.' or '-' or contain '..', got '{name}'";
        }

        var bad = name.FirstOrDefault(c => !(char.IsLetterOrDigit(c) || c is '.' or '_' or '-'));
        return bad == default
            ? null
            : $"must hold only letters, digits, '.', '_' and '-', got '{name}' ({Describe(bad)})";
    }

    /// <summary>What is wrong with <paramref name="name"/> as a name that shard files carry: <see cref="Problem"/>'s rules, in ASCII.</summary>
    public static string? FileProblem(string? name) =>
        Problem(name) ?? (name!.FirstOrDefault(c => !char.IsAscii(c)) is var c and not '\0'
            ? $"must hold only ASCII letters, digits, '.', '_' and '-' (it names the shard files), got '{name}' ({Describe(c)})"
            : null);

    private static string Describe(char c) => c switch
    {
        ' ' => "a space",
        '/' or '\\' => $"'{c}': a name is not a path",
        _ when char.IsControl(c) => FormattableString.Invariant($"the control character U+{(int)c:X4}"),
        _ => $"'{c}'",
    };
}
