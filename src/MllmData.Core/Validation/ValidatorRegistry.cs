using MllmData.Adapters;
using MllmData.Rendering;

namespace MllmData.Validation;

/// <summary>The one place where format validators are registered.</summary>
public static class ValidatorRegistry
{
    public static IFormatValidator Create(string format, RenderOptions? options = null)
    {
        var o = options ?? new RenderOptions();
        return format switch
        {
            "llava" => new ConversationValidator(ConversationValidator.Llava, o.ImageToken),
            "sharegpt" or "swift" => new ConversationValidator(ConversationValidator.ShareGpt(format), o.ImageToken),
            "openai" => new OpenAiChatValidator(),
            "template" => new TemplateFormValidator(o.Bos, o.Eos, o.ImageToken),
            "m3it" => new M3itValidator(),
            _ => throw new UsageException($"unknown format '{format}'; known: {string.Join(", ", RendererRegistry.Names)}"),
        };
    }
}
