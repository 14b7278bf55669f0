using System.Text.Json;
using System.Text.RegularExpressions;

namespace MllmData.Tests.Conformance;

/// <summary>
/// Our m3it output against M3IT's own records (MMInstruction/M3IT on the Hub: the loader script's _generate_examples
/// and the dataset viewer): the task instruction in <c>instruction</c>, the sample's question in <c>inputs</c>, the
/// answer in <c>outputs</c>, raw base64 images in the <c>image_base64_str</c> list.
/// </summary>
public class TheM3itConsumer
{
    [Fact]
    public async Task Should_Put_The_Question_In_Inputs_And_An_Instruction_Only_Template_In_Instruction()
    {
        var outDir = await Consumers.TextVqaAsync("m3it", "--meta");
        var source = JsonDocument.Parse(File.ReadAllText(Consumers.TextVqaTrain)).RootElement.GetProperty("data").EnumerateArray()
            .ToDictionary(q => q.GetProperty("question_id").ToString(), q => (Question: q.GetProperty("question").GetString()!, Image: q.GetProperty("image_id").GetString()!));
        var instructionOnly = InstructionOnlyTemplateIds();

        var lines = File.ReadAllLines(TestPaths.Shards(outDir).Single());
        Assert.Equal(5, lines.Length);
        foreach (var line in lines)
        {
            var r = JsonDocument.Parse(line).RootElement;
            var (question, image) = source[r.GetProperty("meta").GetProperty("ids").GetProperty("question_id").GetString()!];

            // [M2] inputs = the per-sample input (the question); instruction = the task instruction without it.
            Assert.Equal(question, r.GetProperty("inputs").GetString());
            var instruction = r.GetProperty("instruction").GetString()!;
            Assert.DoesNotContain(question, instruction, StringComparison.OrdinalIgnoreCase);
            Assert.False(string.IsNullOrWhiteSpace(instruction));
            Assert.Contains(r.GetProperty("meta").GetProperty("templates")[0].GetString()!, instructionOnly);
            Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("outputs").GetString()));

            // [M1] image_base64_str is always a list of raw base64 (the loader b64decodes it; no data: prefix).
            var images = r.GetProperty("image_base64_str");
            Assert.Equal(JsonValueKind.Array, images.ValueKind);
            var encoded = Assert.Single(images.EnumerateArray()).GetString()!;
            Assert.False(encoded.StartsWith("data:", StringComparison.Ordinal));
            Assert.Equal(File.ReadAllBytes(Path.Combine(Consumers.TextVqaRoot, "train_images", image + ".jpg")), Convert.FromBase64String(encoded));
        }
    }

    /// <summary>Ids of the shipped templates tagged instruction-only.</summary>
    private static HashSet<string> InstructionOnlyTemplateIds()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pack in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "templates"), "*.yaml"))
        {
            string? current = null;
            foreach (var line in File.ReadLines(pack))
            {
                var id = Regex.Match(line, @"^\s*- id:\s*(\S+)");
                if (id.Success)
                {
                    current = id.Groups[1].Value;
                }
                else if (current is not null && Regex.IsMatch(line, @"^\s*tags:.*\binstruction-only\b"))
                {
                    ids.Add(current);
                }
            }
        }

        return ids;
    }
}
