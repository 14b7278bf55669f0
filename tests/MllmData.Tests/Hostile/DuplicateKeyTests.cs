namespace MllmData.Tests.Hostile;

/// <summary>
/// A JSON file whose top-level key is written twice: a JSON reader keeps one of the two values without a word, so the
/// other list's records would be lost. The build stops on it, naming the file, the place and the key; nothing is promoted.
/// </summary>
public class ATopLevelKeyWrittenTwice
{
    [Fact]
    public async Task Stops_A_Vqa_Build_Naming_The_File_And_The_Key()
    {
        var dir = TestPaths.NewTempDir();
        var q = Path.Combine(dir, "questions.json");
        var a = Path.Combine(dir, "annotations.json");
        File.WriteAllText(q, """{"questions":[{"image_id":1,"question":"Is it red?","question_id":1}],"info":{},"questions":[{"image_id":2,"question":"Is it blue?","question_id":2}]}""");
        File.WriteAllText(a, """{"annotations":[{"question_id":1,"multiple_choice_answer":"yes","answers":[{"answer":"yes"}]},{"question_id":2,"multiple_choice_answer":"no","answers":[{"answer":"no"}]}]}""");
        var outDir = Path.Combine(dir, "out");

        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{q}: byte 80: duplicate-key: the top-level key \"questions\" appears a second time", r.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));
    }

    [Theory]
    [InlineData("annotations")]
    [InlineData("images")]
    public async Task Stops_A_Coco_Captions_Build_Whichever_List_Is_Doubled(string key)
    {
        var dir = TestPaths.NewTempDir();
        var captions = Path.Combine(dir, "captions.json");
        const string images = "\"images\":[{\"id\":1,\"file_name\":\"a.jpg\"}]";
        const string annotations = "\"annotations\":[{\"id\":10,\"image_id\":1,\"caption\":\"A cat on a mat.\"}]";
        var doubled = key == "images" ? "\"images\":[{\"id\":2,\"file_name\":\"b.jpg\"}]" : "\"annotations\":[{\"id\":11,\"image_id\":1,\"caption\":\"A dog.\"}]";
        File.WriteAllText(captions, $"{{{images},{annotations},{doubled}}}");

        var r = await CliRunner.RunAsync("build", "--adapter", "coco-captions", "--input", $"captions={captions}", "--format", "llava", "--out", Path.Combine(dir, "out"));

        Assert.Equal(2, r.ExitCode);
        Assert.True(r.Error.Contains($"duplicate-key: the top-level key \"{key}\" appears a second time", StringComparison.Ordinal), r.Error);
        Assert.Contains(captions, r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_Keys_Written_Twice_Are_None_Of_Its_Concern()
    {
        var dir = TestPaths.NewTempDir();
        var q = Path.Combine(dir, "questions.json");
        var a = Path.Combine(dir, "annotations.json");
        File.WriteAllText(q, """{"info":{},"questions":[{"image_id":1,"question":"Is it red?","question_id":1}],"license":1,"license":2}""");
        File.WriteAllText(a, """{"annotations":[{"question_id":1,"multiple_choice_answer":"yes","answers":[{"answer":"yes"}]}]}""");

        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", Path.Combine(dir, "out"));

        Assert.True(r.ExitCode == 0, r.Error);
    }

    [Fact]
    public async Task Stops_A_Coco_Objects_Build_With_The_Same_Reason()
    {
        var dir = TestPaths.NewTempDir();
        var instances = Path.Combine(dir, "instances.json");
        File.WriteAllText(instances, "{\"images\":[{\"id\":1,\"file_name\":\"a.jpg\",\"width\":10,\"height\":10}],\"categories\":[{\"id\":1,\"name\":\"cat\"}],\"annotations\":[],\"categories\":[{\"id\":2,\"name\":\"dog\"}]}");

        var r = await CliRunner.RunAsync("build", "--adapter", "coco-objects", "--input", $"instances={instances}", "--format", "llava", "--out", Path.Combine(dir, "out"));

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("duplicate-key: the top-level key \"categories\" appears a second time", r.Error, StringComparison.Ordinal);
    }
}
