using System.Security.Cryptography;
using Tiered.Offloader;

namespace Tiered.Offloader.Tests.Stores;

/// <summary>
/// What every <see cref="IObjectStore"/> must do, run against each implementation by a subclass
/// that supplies a fresh, empty store whose multipart threshold (where it has one) is small.
/// </summary>
public abstract class ObjectStoreContract : IDisposable
{
    protected const int MiB = 1 << 20;

    private IObjectStore? _store;

    protected IObjectStore Store => _store ??= CreateStore();

    /// <summary>An empty store; S3 stores upload anything above 5 MiB in 5 MiB parts.</summary>
    protected abstract IObjectStore CreateStore();

    [Fact]
    public async Task Put_then_read_returns_the_whole_object()
    {
        var data = Bytes(100_000, seed: 1);
        await PutAsync("t/ledger-1.parquet", data);

        var buffer = new byte[data.Length];
        Assert.Equal(data.Length, await Store.ReadAsync("t/ledger-1.parquet", 0, buffer));
        Assert.Equal(data, buffer);
        Assert.Equal(data, await ReadAllAsync("t/ledger-1.parquet"));
    }

    [Fact]
    public async Task A_ranged_read_from_the_middle_returns_exactly_that_range()
    {
        var data = Bytes(50_000, seed: 2);
        await PutAsync("range", data);

        var buffer = new byte[1000];
        Assert.Equal(1000, await Store.ReadAsync("range", 12_345, buffer));
        Assert.Equal(data.AsSpan(12_345, 1000).ToArray(), buffer);
    }

    [Fact]
    public async Task A_read_past_the_end_returns_only_the_bytes_that_exist()
    {
        var data = Bytes(10_000, seed: 3);
        await PutAsync("short", data);

        var buffer = new byte[4096];
        Assert.Equal(1000, await Store.ReadAsync("short", 9000, buffer));
        Assert.Equal(data.AsSpan(9000).ToArray(), buffer.AsSpan(0, 1000).ToArray());
        Assert.Equal(0, await Store.ReadAsync("short", 10_000, buffer));
        Assert.Equal(0, await Store.ReadAsync("short", 20_000, buffer));
    }

    [Fact]
    public async Task An_empty_object_can_be_stored_and_read()
    {
        await PutAsync("empty", []);

        Assert.Equal(0, await Store.GetSizeAsync("empty"));
        Assert.Empty(await ReadAllAsync("empty"));
        Assert.Equal([new StoredObject("empty", 0)], await ListAsync(""));
    }

    [Fact]
    public async Task Put_stores_the_stream_from_its_current_position()
    {
        var data = Bytes(1000, seed: 4);
        using var stream = new MemoryStream(data);
        stream.Position = 100;

        await Store.PutAsync("tail", stream);

        Assert.Equal(data.AsSpan(100).ToArray(), await ReadAllAsync("tail"));
    }

    [Fact]
    public async Task A_put_over_an_existing_key_replaces_the_object()
    {
        await PutAsync("key", Bytes(5000, seed: 5));
        var second = Bytes(300, seed: 6);

        await PutAsync("key", second);

        Assert.Equal(300, await Store.GetSizeAsync("key"));
        Assert.Equal(second, await ReadAllAsync("key"));
        Assert.Equal([new StoredObject("key", 300)], await ListAsync(""));
    }

    [Fact]
    public async Task GetSize_is_the_length_of_a_present_object_and_null_for_a_missing_one()
    {
        await PutAsync("a/present", Bytes(1234, seed: 7));

        Assert.Equal(1234, await Store.GetSizeAsync("a/present"));
        Assert.Null(await Store.GetSizeAsync("a/missing"));
        Assert.Null(await Store.GetSizeAsync("b/missing"));
    }

    [Fact]
    public async Task List_returns_the_objects_under_a_prefix_in_key_order()
    {
        string[] keys = ["t1/ns/topic/ledger-2", "t1/ns/topic/ledger-10", "t1/ns/other/ledger-1", "t1/ns/topic-b/ledger-1", "t2/ns/topic/ledger-1", "t1/ns/topic/sub/x"];
        for (var i = 0; i < keys.Length; i++)
            await PutAsync(keys[i], Bytes(10 + i, seed: i));

        Assert.Equal(
            [new("t1/ns/topic-b/ledger-1", 13), new("t1/ns/topic/ledger-10", 11), new("t1/ns/topic/ledger-2", 10), new("t1/ns/topic/sub/x", 15)],
            await ListAsync("t1/ns/topic"));
        Assert.Equal(["t1/ns/topic/ledger-10", "t1/ns/topic/ledger-2", "t1/ns/topic/sub/x"], (await ListAsync("t1/ns/topic/")).Select(o => o.Key));
        Assert.Equal([.. keys.Order(StringComparer.Ordinal)], (await ListAsync("")).Select(o => o.Key));
        Assert.Empty(await ListAsync("t3/"));
        Assert.Empty(await ListAsync("t1/ns/topic/ledger-3"));
    }

    [Fact]
    public async Task Delete_removes_an_object_and_ignores_a_missing_one()
    {
        await PutAsync("d/one", Bytes(10, seed: 8));
        await PutAsync("d/two", Bytes(10, seed: 9));

        await Store.DeleteAsync("d/one");
        await Store.DeleteAsync("d/one");
        await Store.DeleteAsync("never/there");

        Assert.Null(await Store.GetSizeAsync("d/one"));
        Assert.Equal(["d/two"], (await ListAsync("")).Select(o => o.Key));
    }

    [Fact]
    public async Task Reading_a_missing_key_throws_ObjectNotFoundException_naming_the_key()
    {
        await PutAsync("other", Bytes(10, seed: 10));

        var read = await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.ReadAsync("no/such/object", 0, new byte[10]));
        var open = await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.OpenReadAsync("no/such/object"));

        Assert.Contains("no/such/object", read.Message, StringComparison.Ordinal);
        Assert.Contains("no/such/object", open.Message, StringComparison.Ordinal);
        Assert.False(read.IsRetryable);
    }

    [Fact]
    public async Task A_20_MiB_object_goes_up_and_reads_back_byte_exact()
    {
        var data = Bytes(20 * MiB + 12_345, seed: 11);
        await PutAsync("big/ledger-7.parquet", data);

        Assert.Equal(data.Length, await Store.GetSizeAsync("big/ledger-7.parquet"));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await ReadAllAsync("big/ledger-7.parquet")));
        var across = new byte[2 * MiB];
        Assert.Equal(across.Length, await Store.ReadAsync("big/ledger-7.parquet", 4 * MiB, across));
        Assert.Equal(data.AsSpan(4 * MiB, 2 * MiB).ToArray(), across);
    }

    [Theory]
    [InlineData(100_000, 50_000)]
    [InlineData(12 * MiB, 7 * MiB)]
    public async Task A_put_whose_source_fails_part_way_leaves_no_object_and_lists_nothing(int length, int failAt)
    {
        using var source = new FailingStream(Bytes(length, seed: 12), failAt);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Store.PutAsync("failed/object", source));

        Assert.IsType<IOException>(error); // the source's own failure, not one blamed on the store
        Assert.True(FailingStream.Caused(error), $"the failure should come from the source stream: {error}");
        Assert.Null(await Store.GetSizeAsync("failed/object"));
        Assert.Empty(await ListAsync(""));
    }

    [Fact]
    public async Task A_failed_put_over_an_existing_object_leaves_the_previous_one()
    {
        var previous = Bytes(2000, seed: 13);
        await PutAsync("kept", previous);
        using var source = new FailingStream(Bytes(100_000, seed: 14), failAt: 60_000);

        await Assert.ThrowsAnyAsync<Exception>(() => Store.PutAsync("kept", source));

        Assert.Equal(previous, await ReadAllAsync("kept"));
        Assert.Equal([new StoredObject("kept", 2000)], await ListAsync(""));
    }

    public virtual void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    protected async Task PutAsync(string key, byte[] data)
    {
        using var stream = new MemoryStream(data, writable: false);
        await Store.PutAsync(key, stream);
    }

    protected async Task<byte[]> ReadAllAsync(string key)
    {
        await using var stream = await Store.OpenReadAsync(key);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    protected async Task<List<StoredObject>> ListAsync(string prefix)
    {
        List<StoredObject> found = [];
        await foreach (var item in Store.ListAsync(prefix))
            found.Add(item);
        return found;
    }

    protected static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
