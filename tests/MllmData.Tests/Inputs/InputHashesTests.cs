using System.Security.Cryptography;
using MllmData.Inputs;

namespace MllmData.Tests.Inputs;

/// <summary>
/// An input's sha256 is taken from the bytes its reader read, when that reader read the whole file; otherwise the file is
/// read again apart. Overwriting the file once it has been read tells the two apart: the hash as read is the old bytes'.
/// </summary>
public class TheInputHashes
{
    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static (string Path, byte[] Bytes) NewFile(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var path = Path.Combine(TestPaths.NewTempDir(), "input.json");
        File.WriteAllBytes(path, bytes);
        return (path, bytes);
    }

    private static void ReadAll(Stream s, int chunk)
    {
        var buffer = new byte[chunk];
        var read = 0;
        int n;
        while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (++read == 2)
            {
                Assert.Equal(0, s.Read(buffer, 0, 0)); // an empty read in the middle is not the end of the file
            }
        }

        Assert.Equal(0, s.Read(buffer, 0, buffer.Length)); // nor is a second look past the end another file's worth
    }

    [Fact]
    public async Task A_File_Read_To_Its_End_Is_Hashed_From_The_Bytes_Read_And_Counted_As_Progress()
    {
        var (path, bytes) = NewFile(300_000, 1);
        var files = new InputFiles();
        var progress = new ProgressCounter();
        using (var s = files.Open(path, progress))
        {
            Assert.False(s.CanSeek);
            ReadAll(s, 7_000);
        }

        File.WriteAllBytes(path, [1, 2, 3]);
        var hashes = await files.HashesAsync();
        Assert.Equal(Sha(bytes), hashes[path]);
        Assert.Equal((300_000L, 300_000L), (progress.TotalBytes, progress.DoneBytes));
    }

    [Fact]
    public async Task A_File_Read_Whole_Once_Keeps_That_Hash_When_Another_Stream_Reads_It_Changed()
    {
        // The first stream to read the file whole gives its hash; a stream opened after does not hash it again.
        var (path, bytes) = NewFile(30_000, 6);
        var files = new InputFiles();
        var progress = new ProgressCounter();
        using (var first = files.Open(path, progress))
        {
            ReadAll(first, 5000);
        }

        File.WriteAllBytes(path, [1, 1, 2, 3, 5, 8]);
        using (var second = files.Open(path, progress))
        {
            ReadAll(second, 5000);
        }

        Assert.Equal(Sha(bytes), (await files.HashesAsync())[path]);
    }

    [Fact]
    public async Task A_File_Its_First_Reader_Left_Early_Is_Hashed_By_The_Next_Reader_Or_Else_Apart()
    {
        var (path, bytes) = NewFile(100_000, 2);
        var files = new InputFiles();
        var progress = new ProgressCounter();
        using (var first = files.Open(path, progress))
        {
            Assert.Equal(1000, first.Read(new byte[1000], 0, 1000));
        }

        using (var second = files.Open(path, progress))
        {
            ReadAll(second, 4096);
        }

        File.WriteAllBytes(path, [4, 5, 6]);
        Assert.Equal(Sha(bytes), (await files.HashesAsync())[path]);

        // Left early with no reader after it: the file as it now is, read apart.
        var (other, _) = NewFile(50_000, 3);
        var partly = new InputFiles();
        using (var s = partly.Open(other, progress))
        {
            Assert.Equal(10, s.Read(new byte[10], 0, 10));
        }

        File.WriteAllBytes(other, [7, 8, 9]);
        Assert.Equal(Sha([7, 8, 9]), (await partly.HashesAsync())[other]);
    }

    [Fact]
    public async Task A_Second_Stream_On_A_File_Being_Hashed_Reads_Without_Hashing_And_A_File_Opened_Without_Progress_Is_Hashed_Apart()
    {
        var (path, bytes) = NewFile(20_000, 4);
        var files = new InputFiles();
        var progress = new ProgressCounter();
        using var first = files.Open(path, progress);
        using (var second = files.Open(path, progress))
        {
            ReadAll(second, 1000);
        }

        ReadAll(first, 3000);
        Assert.Equal(Sha(bytes), (await files.HashesAsync())[path]);
        Assert.Equal(40_000L, progress.DoneBytes);

        var (seekable, seekableBytes) = NewFile(5_000, 5);
        using var raw = files.Open(seekable);
        Assert.True(raw.CanSeek);
        Assert.Equal(Sha(seekableBytes), (await files.HashesAsync())[seekable]);
    }
}
