using System.Reflection;
using System.Text.Json.Serialization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.TypeInspectors;

namespace MllmData.Recipes;

/// <summary>
/// The one naming source for recipe keys: each setting's <see cref="JsonPropertyNameAttribute"/>. YAML and JSON recipes
/// are read by these names and the canonical JSON behind <c>recipe_sha256</c> is written with them, so no second list exists.
/// </summary>
internal sealed class RecipeKeys(ITypeInspector inner) : TypeInspectorSkeleton
{
    private static readonly NullabilityInfoContext Nullability = new();

    public override string GetEnumName(Type enumType, string name) => inner.GetEnumName(enumType, name);

    public override string GetEnumValue(object enumValue) => inner.GetEnumValue(enumValue);

    public override bool HasParseMethod(Type type) => inner.HasParseMethod(type);

    public override object? Parse(string value, Type type) => inner.Parse(value, type);

    public override IEnumerable<IPropertyDescriptor> GetProperties(Type type, object? container)
    {
        foreach (var descriptor in inner.GetProperties(type, container))
        {
            var property = type.GetProperty(descriptor.Name, BindingFlags.Public | BindingFlags.Instance);
            if (property?.GetCustomAttribute<JsonPropertyNameAttribute>() is { } key && property.GetCustomAttribute<JsonIgnoreAttribute>() is not { Condition: JsonIgnoreCondition.Always })
            {
                yield return new Key(descriptor, key.Name, NullAllowed(property));
            }
        }
    }

    /// <summary>Only optional plain values may be written <c>~</c> or <c>null</c>; a section or a required value may not.</summary>
    private static bool NullAllowed(PropertyInfo property) =>
        Nullable.GetUnderlyingType(property.PropertyType) is not null
        || (property.PropertyType == typeof(string) && Nullability.Create(property).WriteState == NullabilityState.Nullable);

    /// <summary>A property under its recipe key, refusing a null where none is allowed.</summary>
    private sealed class Key(IPropertyDescriptor inner, string name, bool nullAllowed) : IPropertyDescriptor
    {
        public string Name => name;

        public bool AllowNulls => nullAllowed;

        public bool CanWrite => inner.CanWrite;

        public Type Type => inner.Type;

        public Type? TypeOverride
        {
            get => inner.TypeOverride;
            set => inner.TypeOverride = value;
        }

        public int Order
        {
            get => inner.Order;
            set => inner.Order = value;
        }

        public ScalarStyle ScalarStyle
        {
            get => inner.ScalarStyle;
            set => inner.ScalarStyle = value;
        }

        public bool Required => inner.Required;

        public Type? ConverterType => inner.ConverterType;

        public T? GetCustomAttribute<T>()
            where T : Attribute => inner.GetCustomAttribute<T>();

        public IObjectDescriptor Read(object target) => inner.Read(target);

        public void Write(object target, object? value)
        {
            if (value is null && !nullAllowed)
            {
                throw new EmptyRecipeValueException(name);
            }

            inner.Write(target, value);
        }
    }
}

/// <summary>A recipe key written with no value (<c>~</c>, <c>null</c> or nothing) where a value or section is needed.</summary>
public sealed class EmptyRecipeValueException : Exception
{
    public EmptyRecipeValueException(string key)
        : base($"'{key}' is empty (~, null or nothing): give it a value, or leave the key out for the default")
    {
        Key = key;
    }

    public EmptyRecipeValueException(string key, string message)
        : base(message)
    {
        Key = key;
    }

    public EmptyRecipeValueException()
    {
        Key = string.Empty;
    }

    public EmptyRecipeValueException(string message, Exception innerException)
        : base(message, innerException)
    {
        Key = string.Empty;
    }

    public string Key { get; }
}

/// <summary>
/// Refuses a plain value that must be given (a number or a switch, such as <c>seed</c> or <c>strict</c>) written with no
/// value, which YAML would otherwise read as 0 or false.
/// </summary>
internal sealed class EmptyScalarGuard : INodeDeserializer
{
    public bool Deserialize(IParser reader, Type expectedType, Func<IParser, Type, object?> nestedObjectDeserializer, out object? value, ObjectDeserializer rootDeserializer)
    {
        value = null;
        if (expectedType.IsValueType && Nullable.GetUnderlyingType(expectedType) is null
            && reader.Current is Scalar { Style: ScalarStyle.Plain, Value: "" or "~" or "null" or "Null" or "NULL" })
        {
            // YAML would turn the null into 0 or false before the key sees it, so it is refused here, at its line.
            throw new EmptyRecipeValueException("the key", "this key is empty (~, null or nothing): give it a value, or leave the key out for the default");
        }

        return false;
    }
}
