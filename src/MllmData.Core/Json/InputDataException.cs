namespace MllmData.Json;

/// <summary>An input file cannot be read on: names the file, the place in it and the reason.</summary>
public sealed class InputDataException : Exception
{
    public InputDataException(string file, string position, string reason, string detail)
        : base($"{file}: {position}: {reason}: {detail}")
    {
        File = file;
        Position = position;
        Reason = reason;
        Detail = detail;
    }

    public InputDataException()
    {
        File = Position = Reason = Detail = string.Empty;
    }

    public InputDataException(string message)
        : base(message)
    {
        File = Position = Reason = Detail = string.Empty;
    }

    public InputDataException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = Position = Reason = Detail = string.Empty;
    }

    public string File { get; }

    public string Position { get; }

    public string Reason { get; }

    public string Detail { get; }
}
