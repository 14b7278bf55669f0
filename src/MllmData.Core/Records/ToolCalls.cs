namespace MllmData.Records;

/// <summary>A tool a tool-use record may call: its name, what it does, and its arguments.</summary>
public sealed record ToolSpec(string Name, string Description, IReadOnlyList<ToolArgument> Arguments);

/// <summary>
/// One argument of a tool. <see cref="Type"/> is <c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c>,
/// <c>box</c> (<c>[x1, y1, x2, y2]</c>, fractions of the image from 0 to 1) or <c>enum</c> (one of <see cref="Values"/>).
/// </summary>
public sealed record ToolArgument(string Name, string Type, string Description, bool Required, IReadOnlyList<string> Values);

/// <summary>A call the assistant makes: an id unique within the record, the tool's name and its arguments as a JSON object text.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>One step of a tool-use turn: the reasoning before the call (optional), the call, and what the tool returned.</summary>
public sealed record ToolStep(string? Thought, ToolCall Call, string Observation);
