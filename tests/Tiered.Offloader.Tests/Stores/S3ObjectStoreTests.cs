using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Tiered.Offloader.Stores;
using Tiered.Testing;

namespace Tiered.Offloader.Tests.Stores;

public sealed class S3ObjectStoreTests(S3ServerFixture s3) : ObjectStoreContract, IClassFixture<S3ServerFixture>
{
    /// <summary>Each test writes under its own prefix of the shared bucket, so it starts empty.</summary>
    protected override IObjectStore CreateStore() => new S3ObjectStore(s3.StoreOptions() with
    {
        Prefix = $"test-{Guid.NewGuid():N}",
        MultipartThreshold = 5 * MiB,
        PartSize = 5 * MiB,
    });

    [Fact]
    public void Location_names_the_bucket_prefix_and_endpoint()
    {
        using var store = new S3ObjectStore(s3.StoreOptions() with { Prefix = "cluster-a" });

        Assert.Equal($"s3://{S3ServerFixture.Bucket}/cluster-a/ at {s3.Server.Endpoint}", store.Location);
    }

    [Fact]
    public async Task Objects_are_stored_under_the_prefix_and_listed_without_it()
    {
        var prefix = $"p-{Guid.NewGuid():N}/offload";
        using (var store = new S3ObjectStore(s3.StoreOptions() with { Prefix = prefix }))
        {
            using var data = new MemoryStream([1, 2, 3]);
            await store.PutAsync("t/ledger-1", data);
            Assert.Equal([new StoredObject("t/ledger-1", 3)], await ToListAsync(store.ListAsync("")));
        }
        using var whole = new S3ObjectStore(s3.StoreOptions());

        Assert.Equal(3, await whole.GetSizeAsync($"{prefix}/t/ledger-1"));
    }

    [Fact]
    public async Task An_object_above_the_threshold_is_uploaded_in_parts()
    {
        var requests = new RecordingHttpClientFactory();
        using var store = new S3ObjectStore(s3.StoreOptions() with { Prefix = $"parts-{Guid.NewGuid():N}", MultipartThreshold = 5 * MiB, PartSize = 5 * MiB }, requests);
        var data = Bytes(12 * MiB, seed: 1);
        using (var stream = new MemoryStream(data))
            await store.PutAsync("big", stream);

        Assert.Equal(["POST ?uploads", "PUT ?partNumber=1", "PUT ?partNumber=2", "PUT ?partNumber=3", "POST ?uploadId"], requests.Calls);
        var buffer = new byte[data.Length];
        Assert.Equal(data.Length, await store.ReadAsync("big", 0, buffer));
        Assert.Equal(data, buffer);
    }

    [Fact]
    public async Task A_multipart_put_whose_source_fails_aborts_the_upload()
    {
        var requests = new RecordingHttpClientFactory();
        using var store = new S3ObjectStore(s3.StoreOptions() with { Prefix = $"abort-{Guid.NewGuid():N}", MultipartThreshold = 5 * MiB, PartSize = 5 * MiB }, requests);
        using var source = new FailingStream(Bytes(12 * MiB, seed: 2), failAt: 7 * MiB);

        await Assert.ThrowsAsync<IOException>(() => store.PutAsync("big", source));

        Assert.Equal(["POST ?uploads", "PUT ?partNumber=1", "DELETE ?uploadId"], requests.Calls);
        Assert.Null(await store.GetSizeAsync("big"));
    }

    [Fact]
    public async Task A_bucket_that_does_not_exist_is_a_non_retryable_error_naming_the_bucket()
    {
        using var store = new S3ObjectStore(s3.StoreOptions("no-such-bucket"));
        using var data = new MemoryStream([1, 2, 3]);

        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", data));
        var list = await Assert.ThrowsAsync<ObjectStoreException>(() => ToListAsync(store.ListAsync("")));

        foreach (var error in new[] { put, list })
        {
            Assert.False(error.IsRetryable);
            Assert.Contains("'no-such-bucket' does not exist", error.Message, StringComparison.Ordinal);
            Assert.Contains(s3.Server.Endpoint, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_endpoint_that_accepts_connections_but_never_answers_times_out_as_retryable()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // connections wait in the backlog, unanswered
        var endpoint = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        using var store = new S3ObjectStore(s3.StoreOptions() with { Endpoint = endpoint, Timeout = TimeSpan.FromSeconds(1), MaxErrorRetry = 1 });
        var elapsed = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetSizeAsync("k"));

        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(10), $"took {elapsed.Elapsed}");
        Assert.True(error.IsRetryable);
        Assert.Contains($"Cannot reach S3 endpoint {endpoint}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_access_key_is_a_non_retryable_error_about_credentials()
    {
        using var store = new S3ObjectStore(s3.StoreOptions() with { AccessKey = "NOT-A-KEY", SecretKey = "x" });
        using var data = new MemoryStream([1, 2, 3]);

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", data));

        Assert.False(error.IsRetryable);
        Assert.Contains("access key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_nobody_listens_on_is_a_retryable_error_within_seconds()
    {
        var closedPort = TieredProcess.FreePort();
        using var store = new S3ObjectStore(s3.StoreOptions() with { Endpoint = $"http://127.0.0.1:{closedPort}", Timeout = TimeSpan.FromSeconds(3) });
        using var data = new MemoryStream([1, 2, 3]);
        var elapsed = Stopwatch.StartNew();

        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", data));
        var read = await Assert.ThrowsAsync<ObjectStoreException>(() => store.ReadAsync("k", 0, new byte[1]));

        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(15), $"took {elapsed.Elapsed}");
        Assert.True(put.IsRetryable);
        Assert.True(read.IsRetryable);
        Assert.Contains($"cannot reach S3 endpoint http://127.0.0.1:{closedPort}", put.Message, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<List<StoredObject>> ToListAsync(IAsyncEnumerable<StoredObject> items)
    {
        List<StoredObject> found = [];
        await foreach (var item in items)
            found.Add(item);
        return found;
    }
}
