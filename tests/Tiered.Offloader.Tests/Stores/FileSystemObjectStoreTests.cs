using Tiered.Offloader.Stores;

namespace Tiered.Offloader.Tests.Stores;

public sealed class FileSystemObjectStoreTests : ObjectStoreContract
{
    private readonly string _root = Directory.CreateTempSubdirectory("tiered-fs-store-").FullName;

    protected override IObjectStore CreateStore() => new FileSystemObjectStore(Path.Combine(_root, "objects"));

    [Theory]
    [InlineData("")]
    [InlineData("/absolute")]
    [InlineData("a/../b")]
    [InlineData("../escape")]
    [InlineData("a/./b")]
    [InlineData(".")]
    [InlineData("a//b")]
    [InlineData("trailing/")]
    [InlineData("back\\slash")]
    [InlineData("nul\0byte")]
    [InlineData("dir/.tmp-looks-like-a-put-in-progress")]
    public async Task A_bad_key_is_rejected_with_ArgumentException(string key)
    {
        using var data = new MemoryStream([1, 2, 3]);

        var put = await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(key, data));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ReadAsync(key, 0, new byte[1]));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetSizeAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(key));

        Assert.Contains("not valid", put.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_root, "objects")) && Directory.EnumerateFileSystemEntries(Path.Combine(_root, "objects"), "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public void Location_is_a_file_URL_of_the_absolute_root()
    {
        Assert.Equal("file://" + Path.Combine(_root, "objects"), Store.Location);
    }

    [Fact]
    public async Task Keys_with_slashes_are_stored_as_subdirectories()
    {
        await PutAsync("tenant/ns/persistent/topic/ledger-12.parquet", [1, 2, 3]);

        Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(_root, "objects", "tenant", "ns", "persistent", "topic", "ledger-12.parquet")));
    }

    [Fact]
    public async Task A_temporary_file_left_by_a_crashed_put_is_never_listed_or_read()
    {
        await PutAsync("topic/ledger-1", [1]);
        File.WriteAllBytes(Path.Combine(_root, "objects", "topic", FileSystemObjectStore.TempPrefix + "0123"), [9, 9]);

        Assert.Equal([new StoredObject("topic/ledger-1", 1)], await ListAsync(""));
    }

    [Fact]
    public async Task Temporary_files_abandoned_for_an_hour_are_deleted_and_recent_ones_kept()
    {
        await PutAsync("topic/ledger-1", [1]);
        var abandoned = Path.Combine(_root, "objects", "topic", FileSystemObjectStore.TempPrefix + "old");
        var running = Path.Combine(_root, "objects", "topic", FileSystemObjectStore.TempPrefix + "new");
        File.WriteAllBytes(abandoned, [9]);
        File.WriteAllBytes(running, [9]);
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow.AddHours(-2));

        Assert.Equal(1, ((FileSystemObjectStore)Store).DeleteAbandonedWrites(TimeSpan.FromHours(1)));
        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(running));
        Assert.Equal([new StoredObject("topic/ledger-1", 1)], await ListAsync(""));
    }

    [Fact]
    public async Task A_failed_put_deletes_its_temporary_file()
    {
        using var source = new FailingStream(Bytes(100_000, seed: 1), failAt: 10_000);

        await Assert.ThrowsAnyAsync<Exception>(() => Store.PutAsync("topic/ledger-1", source));

        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "objects"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_key_below_an_existing_object_fails_with_an_ObjectStoreException()
    {
        await PutAsync("ledger-1", [1]);

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => PutAsync("ledger-1/part", [2]));

        Assert.False(error.IsRetryable);
        Assert.Contains("ledger-1/part", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ranged_read_of_an_empty_object_returns_nothing()
    {
        // Not in the contract: s3rver announces one byte for a range on an empty object and sends none (real S3 answers 416, which the S3 store reads as 0).
        await PutAsync("empty", []);

        Assert.Equal(0, await Store.ReadAsync("empty", 0, new byte[10]));
    }

    [Fact]
    public async Task A_store_whose_directory_does_not_exist_yet_is_empty()
    {
        Assert.Empty(await ListAsync(""));
        Assert.Null(await Store.GetSizeAsync("x"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.ReadAsync("x", 0, new byte[1]));
    }

    public override void Dispose()
    {
        base.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
