using System.Text.Json;
using System.Text.Json.Nodes;

namespace MllmData.Tests.Adapters;

public class TheVqaV2Adapter
{
    /// <summary>Writes a questions file and an annotations file in the official layout.</summary>
    private static (string Questions, string Annotations, string Dir) WriteVqa(JsonArray questions, JsonArray annotations, string split = "val2014")
    {
        var dir = TestPaths.NewTempDir();
        var q = Path.Combine(dir, $"v2_OpenEnded_mscoco_{split}_questions.json");
        var a = Path.Combine(dir, $"v2_mscoco_{split}_annotations.json");
        File.WriteAllText(q, new JsonObject { ["info"] = new JsonObject { ["year"] = 2017 }, ["data_subtype"] = split, ["questions"] = questions }.ToJsonString());
        File.WriteAllText(a, new JsonObject { ["info"] = new JsonObject(), ["annotations"] = annotations }.ToJsonString());
        return (q, a, dir);
    }

    private static JsonObject Q(JsonNode imageId, string question, JsonNode qid) => new() { ["image_id"] = imageId, ["question"] = question, ["question_id"] = qid };

    private static JsonObject A(JsonNode qid, JsonNode imageId, string mc, string[] answers, bool withAnswerId = true)
    {
        var list = new JsonArray();
        for (var i = 0; i < answers.Length; i++)
        {
            var ans = new JsonObject { ["answer"] = answers[i], ["answer_confidence"] = "yes" };
            if (withAnswerId)
            {
                ans["answer_id"] = i + 1;
            }

            list.Add(ans);
        }

        return new JsonObject
        {
            ["question_id"] = qid, ["image_id"] = imageId, ["question_type"] = "what", ["answer_type"] = "other",
            ["multiple_choice_answer"] = mc, ["answers"] = list,
        };
    }

    private static List<JsonElement> Records(string dir) =>
        [.. TestPaths.Shards(dir).Order(StringComparer.Ordinal).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static List<JsonElement> Rejects(string dir) =>
        [.. File.ReadLines(Path.Combine(dir, "rejects.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Theory]
    [InlineData("vqav2")]
    [InlineData("okvqa")]
    public async Task Should_Join_String_Image_Ids_And_Answers_Without_Answer_Id(string adapter)
    {
        var (q, a, _) = WriteVqa(
            [Q("9", "What is on the plate?", "90"), Q("n578564", "What animal is this?", 91)],
            [A("90", "9", "pizza", ["pizza", "pizza", "pizza slice"], withAnswerId: false), A(91, "n578564", "dog", ["dog", "dog", "puppy"], withAnswerId: false)]);
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", adapter, "--input", $"questions={q}", "--input", $"annotations={a}", "--image-pattern", "images/%s.jpg", "--format", "llava", "--out", outDir, "--seed", "3");

        Assert.Equal(0, r.ExitCode);
        var recs = Records(outDir);
        Assert.Equal(2, recs.Count);
        Assert.Equal($"{adapter}-q90", recs[0].GetProperty("id").GetString());
        Assert.Equal("images/9.jpg", recs[0].GetProperty("image").GetString());
        Assert.Equal("pizza", recs[0].GetProperty("conversations")[1].GetProperty("value").GetString());
        Assert.Equal("images/n578564.jpg", recs[1].GetProperty("image").GetString());
        Assert.Contains("What animal is this?", recs[1].GetProperty("conversations")[0].GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.Empty(Rejects(outDir));
    }

    [Fact]
    public async Task Should_Use_The_Default_Coco_Image_Pattern_With_The_Split_Of_The_File()
    {
        var (q, a, _) = WriteVqa([Q(458752, "Is it raining?", 458752000)], [A(458752000, 458752, "no", ["no", "no"])], "train2014");
        var outDir = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir)).ExitCode);
        Assert.Equal("COCO_train2014_000000458752.jpg", Records(outDir).Single().GetProperty("image").GetString());
    }

    [Theory]
    [InlineData("questions.json", "val2014", "COCO_val2014_000000458752.jpg")]
    [InlineData("v2_OpenEnded_mscoco_train2014_questions.json", "val2014", "COCO_val2014_000000458752.jpg")]
    [InlineData("v2_OpenEnded_mscoco_train2014_questions.json", null, "COCO_train2014_000000458752.jpg")]
    public async Task Should_Take_The_Split_From_A_Data_Subtype_Written_After_The_Questions(string name, string? subtype, string image)
    {
        // json.dump of a dict built in another order puts data_subtype last; it names the images all the same.
        var dir = TestPaths.NewTempDir();
        var q = Path.Combine(dir, name);
        var a = Path.Combine(dir, "annotations.json");
        var tail = subtype is null ? string.Empty : $", \"data_subtype\": \"{subtype}\"";
        File.WriteAllText(q, $$"""{"info": {"year": 2017}, "questions": [{"image_id": 458752, "question": "Is it raining?", "question_id": 458752000}], "license": {"name": "x"}{{tail}}}""");
        File.WriteAllText(a, new JsonObject { ["annotations"] = new JsonArray(A(458752000, 458752, "no", ["no", "no"])) }.ToJsonString());
        foreach (var extra in new[] { Array.Empty<string>(), ["--unanswered", "eval"] })
        {
            var outDir = TestPaths.NewTempDir();
            var inputs = extra.Length == 0 ? new[] { "--input", $"questions={q}", "--input", $"annotations={a}" } : ["--input", $"questions={q}"];
            string[] format = extra.Length == 0 ? ["--format", "llava"] : [];
            var r = await CliRunner.RunAsync(["build", "--adapter", "vqav2", .. inputs, .. extra, .. format, "--out", outDir]);
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Equal(image, extra.Length == 0 ? Records(outDir).Single().GetProperty("image").GetString() : File.ReadLines(TestPaths.Shards(outDir).Single()).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("image").GetString()).Single());
        }

        // --split still wins.
        var chosen = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--split", "test2015", "--format", "llava", "--out", chosen)).ExitCode);
        Assert.Equal("COCO_test2015_000000458752.jpg", Records(chosen).Single().GetProperty("image").GetString());
    }

    [Theory]
    [InlineData("vqav2", false)]
    [InlineData("okvqa", false)]
    [InlineData("vqav2", true)]
    public async Task Should_Name_The_Annotations_File_When_An_Answer_Holds_What_No_Dataset_May(string adapter, bool grouped)
    {
        // Questions and answers come from two files: a reject for what an answer holds names the file it came from.
        var (q, a, _) = WriteVqa(
            [Q(1, "Is it red?", 1), Q(1, "Is it \u0007blue?", 2), Q(3, "Is it green?", 3), Q(4, "Is it pink?", 4), Q(5, "What is it?", 5)],
            [A(1, 1, "y\u0000es", ["yes"]), A(2, 1, "no", ["no"]), A(3, 3, "no <image> here", ["no"]), A(4, 4, "yes", ["yes"]), A(5, 5, "a cat", ["a cat"])]);
        var outDir = TestPaths.NewTempDir();
        string[] group = grouped ? ["--group-by-image"] : [];
        var r = await CliRunner.RunAsync(["build", "--adapter", adapter, "--input", $"questions={q}", "--input", $"annotations={a}", .. group, "--format", "llava", "--out", outDir]);
        Assert.True(r.ExitCode == 0, r.Error);
        var rejects = Rejects(outDir).Select(x => $"{x.GetProperty("file").GetString()} {x.GetProperty("reason").GetString()} {x.GetProperty("detail").GetString()}").ToList();
        var (qs, ans) = (Path.GetFileName(q), Path.GetFileName(a));
        if (grouped)
        {
            // One conversation of image 1: its first fault (the answer of turn 1) names the annotations file.
            Assert.Contains($"{ans} control-characters turn 1: the answer holds the control character U+0000 at character 2", rejects);
        }
        else
        {
            Assert.Contains($"{ans} control-characters turn 1: the answer holds the control character U+0000 at character 2", rejects);
            Assert.Contains($"{qs} control-characters turn 1: the question holds the control character U+0007 at character 7", rejects);
        }

        Assert.Contains($"{ans} literal-image-token dataset text contains the image placeholder <image>", rejects);
        Assert.Equal(["yes", "a cat"], Records(outDir).Select(x => x.GetProperty("conversations")[1].GetProperty("value").GetString()));
    }

    [Fact]
    public async Task Should_Take_The_Majority_Of_Normalised_Answers_When_Asked()
    {
        var (q, a, _) = WriteVqa(
            [Q(1, "How many dogs?", 10)],
            [A(10, 1, "2", ["two", "Two", "2", "3", "three", "3 ", "2.", "three", "3", "four"])]);
        var mc = TestPaths.NewTempDir();
        var majority = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "template", "--out", mc)).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--answer", "majority", "--format", "template", "--out", majority)).ExitCode);

        Assert.EndsWith(" 2 <EOS>", Records(mc).Single().GetProperty("text").GetString(), StringComparison.Ordinal);

        // Counted normalised: "two","Two","2","2." -> 2 (4 votes); "3","three","3 ","three","3" -> 3 (5 votes).
        // Written raw: inside the winning class "3" was typed three times (after trimming), "three" twice.
        Assert.EndsWith(" 3 <EOS>", Records(majority).Single().GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Join_Files_Whose_Order_Differs()
    {
        var (q, a, _) = WriteVqa(
            [Q(1, "q one?", 1), Q(2, "q two?", 2), Q(3, "q three?", 3), Q(4, "q four?", 4)],
            [A(4, 4, "d", ["d"]), A(2, 2, "b", ["b"]), A(3, 3, "c", ["c"]), A(1, 1, "a", ["a"])]);
        var outDir = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir)).ExitCode);
        var byId = Records(outDir).ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("conversations")[1].GetProperty("value").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["vqav2-q1"] = "a", ["vqav2-q2"] = "b", ["vqav2-q3"] = "c", ["vqav2-q4"] = "d" }, byId);
    }

    /// <summary>answer_id and answer_confidence are not kept, but a value of the wrong type still rejects its annotation, with the reason.</summary>
    [Theory]
    [InlineData("answer_id", "7", true, null)]
    [InlineData("answer_id", "null", true, null)]
    [InlineData("answer_id", "\"a7\"", true, null)]
    [InlineData("answer_id", "{\"n\":1}", false, "\"answer_id\" is an object, expected a number or string id")]
    [InlineData("answer_id", "true", false, "\"answer_id\" is a boolean, expected a number or string id")]
    [InlineData("answer_confidence", "\"maybe\"", true, null)]
    [InlineData("answer_confidence", "null", true, null)]
    [InlineData("answer_confidence", "3", false, "\"answer_confidence\" is a number, expected a string")]
    [InlineData("answer_confidence", "[\"yes\"]", false, "\"answer_confidence\" is an array, expected a string")]
    public async Task Should_Check_The_Type_Of_Answer_Fields_It_Does_Not_Keep(string field, string json, bool kept, string? detail)
    {
        var answer = new JsonObject { ["answer"] = "red", [field] = JsonNode.Parse(json) };
        var annotation = new JsonObject { ["question_id"] = 1, ["image_id"] = 1, ["multiple_choice_answer"] = "red", ["answers"] = new JsonArray(answer, new JsonObject { ["answer"] = "red" }) };
        var (q, a, _) = WriteVqa([Q(1, "What colour?", 1), Q(2, "Second?", 2)], [annotation, A(2, 2, "blue", ["blue"])]);
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var answers = Records(outDir).Select(x => x.GetProperty("conversations")[1].GetProperty("value").GetString()).ToList();
        Assert.Equal(kept ? ["red", "blue"] : ["blue"], answers);
        var rejects = Rejects(outDir);
        if (detail is null)
        {
            Assert.DoesNotContain(rejects, x => x.GetProperty("reason").GetString() == "wrong-type");
        }
        else
        {
            var reject = Assert.Single(rejects, x => x.GetProperty("reason").GetString() == "wrong-type");
            Assert.Equal(detail, reject.GetProperty("detail").GetString());
            Assert.StartsWith("annotations[0] (byte ", reject.GetProperty("position").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Should_Reject_Questions_Without_Annotation_And_Records_Of_The_Wrong_Type_Naming_File_And_Position()
    {
        var (q, a, _) = WriteVqa(
            [Q(1, "fine?", 1), Q(2, "no annotation?", 2), new JsonObject { ["image_id"] = 3, ["question"] = new JsonArray(1, 2), ["question_id"] = 3 }, new JsonObject { ["image_id"] = 4, ["question"] = "no id?" }],
            [A(1, 1, "yes", ["yes"]), A(3, 3, "x", ["x"])]);
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        Assert.Single(Records(outDir));
        var rejects = Rejects(outDir);
        Assert.Equal(["wrong-type", "missing-field", "no-annotation", "no-question"], rejects.Select(x => x.GetProperty("reason").GetString()));
        Assert.Equal(Path.GetFileName(q), rejects[0].GetProperty("file").GetString());
        Assert.StartsWith("questions[2] (byte ", rejects[0].GetProperty("position").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("questions[3] (byte ", rejects[1].GetProperty("position").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("questions[1] (byte ", rejects[2].GetProperty("position").GetString(), StringComparison.Ordinal);
        Assert.Equal(Path.GetFileName(a), rejects[3].GetProperty("file").GetString());
        Assert.All(rejects, x => Assert.Equal("vqav2", x.GetProperty("source").GetString()));

        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "manifest.json"))).RootElement;
        Assert.Equal(4, manifest.GetProperty("rejects").GetInt64());
        Assert.Equal(1, manifest.GetProperty("rejects_by_reason").GetProperty("no-annotation").GetInt64());
    }

    [Fact]
    public async Task Should_Stop_With_Exit_2_On_Truncated_Json_And_Leave_No_Shard()
    {
        var (q, a, dir) = WriteVqa([Q(1, "one?", 1), Q(2, "two?", 2), Q(3, "three?", 3)], [A(1, 1, "a", ["a"]), A(2, 2, "b", ["b"]), A(3, 3, "c", ["c"])]);
        var text = File.ReadAllText(a);
        File.WriteAllText(a, text[..(text.Length * 2 / 3)]);
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir, "--shard-records", "1");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(a, r.Error, StringComparison.Ordinal);
        Assert.Contains("truncated-json", r.Error, StringComparison.Ordinal);
        Assert.Contains("byte ", r.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(outDir, "*", SearchOption.AllDirectories));
        _ = dir;
    }

    [Theory]
    [InlineData("{\"questions\": [{\"image_id\": 1, \"question\": \"one?\", \"question_id\": 1}]}{\"questions\": []}", "more data follows the end of the JSON value (two documents in one file, or stray text after it)")]
    [InlineData("{\"questions\": [{\"image_id\": 1, \"question\": \"one?\", \"question_id\": 1},]}", "The JSON array contains a trailing comma at the end")]
    public async Task Should_Call_Data_After_The_Value_And_Trailing_Commas_Malformed_In_Words(string questions, string words)
    {
        var (q, a, _) = WriteVqa([Q(1, "one?", 1)], [A(1, 1, "a", ["a"])]);
        File.WriteAllText(q, questions);
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", TestPaths.NewTempDir());

        Assert.Equal(2, r.ExitCode);
        var error = r.Error.Split('\n').Single(l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith($"error: {q}: byte ", error, StringComparison.Ordinal);
        Assert.EndsWith($": malformed-json: invalid JSON: {words}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_Stop_With_Exit_2_On_Malformed_Json_Naming_The_Byte()
    {
        var (q, a, _) = WriteVqa([Q(1, "one?", 1)], [A(1, 1, "a", ["a"])]);
        File.WriteAllText(q, "{\"questions\": [{\"image_id\": 1, \"question\": \"one?\", \"question_id\": 1}, {oops}]}");
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{q}: byte ", r.Error, StringComparison.Ordinal);
        Assert.Contains("malformed-json", r.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    [Fact]
    public async Task Should_Stop_With_Exit_2_On_A_Missing_File()
    {
        var (q, _, dir) = WriteVqa([Q(1, "one?", 1)], []);
        var outDir = TestPaths.NewTempDir();
        var missing = Path.Combine(dir, "no_such_annotations.json");
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={missing}", "--format", "llava", "--out", outDir);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{missing}: -: missing-file: no such file", r.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    [Fact]
    public async Task Should_Stop_On_The_First_Reject_Under_Strict_And_Leave_No_Shard()
    {
        var (q, a, _) = WriteVqa([Q(1, "one?", 1), Q(2, "two?", 2), Q(3, "three?", 3)], [A(1, 1, "a", ["a"]), A(3, 3, "c", ["c"])]);
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir, "--strict", "--shard-records", "1");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no-annotation", r.Error, StringComparison.Ordinal);
        Assert.Contains("question_id 2", r.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(outDir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Should_Merge_Questions_Of_An_Image_Into_Conversations_Capped_By_Max_Turns()
    {
        var questions = new JsonArray();
        var annotations = new JsonArray();
        for (var i = 0; i < 5; i++)
        {
            questions.Add(Q(7, $"question {i}?", 70 + i));
            annotations.Add(A(70 + i, 7, $"answer {i}", [$"answer {i}"]));
        }

        questions.Add(Q(8, "other image?", 80));
        annotations.Add(A(80, 8, "yes", ["yes"]));
        var (q, a, _) = WriteVqa(questions, annotations);
        var outDir = TestPaths.NewTempDir();
        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--group-by-image", "--max-turns", "3", "--suffix-turns", "first", "--format", "llava", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        var recs = Records(outDir);
        Assert.Equal(["vqav2-img7-p0", "vqav2-img7-p1", "vqav2-img8"], recs.Select(x => x.GetProperty("id").GetString()));
        var conv = recs[0].GetProperty("conversations");
        Assert.Equal(6, conv.GetArrayLength());
        Assert.Equal(["human", "gpt", "human", "gpt", "human", "gpt"], conv.EnumerateArray().Select(t => t.GetProperty("from").GetString()));
        Assert.Equal(["answer 0", "answer 1", "answer 2"], conv.EnumerateArray().Where(t => t.GetProperty("from").GetString() == "gpt").Select(t => t.GetProperty("value").GetString()));

        // Only the first human turn carries the image placeholder.
        Assert.Equal(1, conv.EnumerateArray().Count(t => t.GetProperty("value").GetString()!.Contains("<image>", StringComparison.Ordinal)));
        Assert.Equal(4, recs[1].GetProperty("conversations").GetArrayLength());
        Assert.Equal(["73", "74"], recs[1].GetProperty("meta").GetProperty("extra").GetProperty("question_ids").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task Should_Reject_A_Literal_Image_Placeholder_In_Dataset_Text()
    {
        var (q, a, _) = WriteVqa([Q(1, "What does <image> mean here?", 1), Q(2, "fine?", 2)], [A(1, 1, "a", ["a"]), A(2, 2, "b", ["b"])]);
        var outDir = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir)).ExitCode);
        Assert.Equal(["vqav2-q2"], Records(outDir).Select(x => x.GetProperty("id").GetString()));
        Assert.Equal("literal-image-token", Rejects(outDir).Single().GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Should_Reject_Images_Missing_Under_The_Image_Root()
    {
        var (q, a, dir) = WriteVqa([Q(1, "one?", 1), Q(2, "two?", 2)], [A(1, 1, "a", ["a"]), A(2, 2, "b", ["b"])]);
        var images = Path.Combine(dir, "images");
        Directory.CreateDirectory(images);
        File.WriteAllBytes(Path.Combine(images, "COCO_val2014_000000000001.jpg"), [0xFF, 0xD8, 0xFF]);
        var outDir = TestPaths.NewTempDir();
        Assert.Equal(0, (await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--image-root", images, "--format", "llava", "--out", outDir)).ExitCode);
        Assert.Equal(["vqav2-q1"], Records(outDir).Select(x => x.GetProperty("id").GetString()));
        var reject = Rejects(outDir).Single();
        Assert.Equal("missing-image", reject.GetProperty("reason").GetString());
        Assert.Equal("vqav2-q2", reject.GetProperty("position").GetString());
    }

    [Fact]
    public async Task A_Question_Repeated_After_Its_Pair_Met_Is_A_Duplicate_Id_Not_A_Missing_Annotation()
    {
        string[] ten = ["red", "red", "red", "red", "red", "red", "red", "red", "red", "red"];
        var (q, a, dir) = WriteVqa(
            [Q(1, "What color?", 11), Q(1, "What color?", 11), Q(2, "Which?", 12)],
            [A(11, 1, "red", ten), A(12, 2, "red", ten), A(12, 2, "red", ten)]);
        var outDir = Path.Combine(dir, "out");

        var r = await CliRunner.RunAsync("build", "--adapter", "vqav2", "--input", $"questions={q}", "--input", $"annotations={a}", "--format", "llava", "--out", outDir);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(
            [("duplicate-id", "question_id 11 appears twice"), ("duplicate-id", "question_id 12 has two annotations")],
            Rejects(outDir).Select(x => (x.GetProperty("reason").GetString(), x.GetProperty("detail").GetString())).Order());
    }
}
