#:package SixLabors.ImageSharp
#:property TreatWarningsAsErrors=false
// Regenerates the sample images: simple scenes drawn in code, so the samples carry no third-party pixels.
// Run from the repository root: dotnet run samples/make-images.cs
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

var scenes = new (string File, Rgb24 Sky, Rgb24 Ground, Rgb24 Thing, int X, int Y, int W, int H)[]
{
    ("COCO_train2014_000000000101.jpg", new(135, 190, 235), new(70, 140, 60), new(220, 30, 30), 200, 220, 120, 90),
    ("COCO_train2014_000000000102.jpg", new(250, 200, 120), new(200, 180, 140), new(30, 60, 200), 80, 160, 60, 160),
    ("COCO_train2014_000000000103.jpg", new(40, 40, 80), new(30, 30, 30), new(250, 240, 90), 280, 60, 70, 70),
    ("000000000201.jpg", new(160, 210, 250), new(90, 160, 90), new(250, 250, 250), 120, 200, 200, 60),
    ("000000000202.jpg", new(200, 200, 210), new(120, 110, 100), new(20, 160, 60), 300, 120, 90, 200),
};
Directory.CreateDirectory("samples/images");
foreach (var s in scenes)
{
    using var image = new Image<Rgb24>(480, 360);
    for (var y = 0; y < image.Height; y++)
    {
        for (var x = 0; x < image.Width; x++)
        {
            var inThing = x >= s.X && x < s.X + s.W && y >= s.Y && y < s.Y + s.H;
            image[x, y] = inThing ? s.Thing : y < 200 ? s.Sky : s.Ground;
        }
    }
    image.SaveAsJpeg(Path.Combine("samples/images", s.File));
    Console.WriteLine(s.File);
}
