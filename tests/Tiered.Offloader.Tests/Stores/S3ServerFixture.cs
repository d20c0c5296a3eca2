using Tiered.Offloader.Stores;
using Tiered.Testing;

namespace Tiered.Offloader.Tests.Stores;

/// <summary>One s3rver process with one bucket, shared by the tests of a class.</summary>
public sealed class S3ServerFixture : IAsyncLifetime
{
    public const string Bucket = "offload";

    private S3Server? _server;

    public S3Server Server => _server ?? throw new InvalidOperationException("s3rver is not started.");

    public async Task InitializeAsync()
    {
        _server = await S3Server.StartAsync();
        await _server.CreateBucketAsync(Bucket);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }

    /// <summary>Options for a store on this server: path style, no aws-chunked encoding (s3rver cannot decode it).</summary>
    public S3ObjectStoreOptions StoreOptions(string bucket = Bucket) => new()
    {
        Bucket = bucket,
        Endpoint = Server.Endpoint,
        ForcePathStyle = true,
        AccessKey = S3Server.AccessKey,
        SecretKey = S3Server.SecretKey,
        UseChunkEncoding = false,
        Timeout = TimeSpan.FromSeconds(10),
    };
}
