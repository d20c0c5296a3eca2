using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Tiered.AdminApi.Tests;

public sealed class AdminApiHostingTests
{
    [Fact]
    public void Mapping_without_registering_first_says_what_to_call()
    {
        var app = WebApplication.CreateSlimBuilder().Build();
        var error = Assert.Throws<InvalidOperationException>(() => app.MapTieredAdmin(new NoMetadataStore(), new RecordingTopicAdmin(), () => true));
        Assert.Contains("AddTieredAdmin", error.Message);
    }

    [Fact]
    public void Mapping_without_a_bookie_info_reader_says_what_to_register()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddTieredAdmin();
        var app = builder.Build();
        var error = Assert.Throws<InvalidOperationException>(() => app.MapTieredAdmin(new NoMetadataStore(), new RecordingTopicAdmin(), () => true));
        Assert.Contains("IBookieInfoReader", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(61)]
    public void A_bookie_info_timeout_out_of_range_is_refused_at_startup(int seconds)
    {
        var error = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddTieredAdmin(new AdminApiOptions { BookieInfoTimeout = TimeSpan.FromSeconds(seconds) }));
        Assert.Contains("at most 1 minute", error.Message);
    }

    [Fact]
    public void A_bad_local_cluster_name_is_refused_at_startup()
    {
        var error = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddTieredAdmin(new AdminApiOptions { ClusterName = "no/slash" }));
        Assert.Contains("no/slash", error.Message);
    }

    [Fact]
    public void The_openapi_path_must_be_absolute()
        => Assert.Throws<ArgumentException>(() => new ServiceCollection().AddTieredAdmin(new AdminApiOptions { OpenApiPath = "openapi.json" }));

    /// <summary>Never called: mapping fails before any request.</summary>
    private sealed class NoMetadataStore : Tiered.Metadata.IMetadataStore
    {
        public ValueTask<Metadata.V1.KeyValue?> GetAsync(string key, Metadata.ReadConsistency consistency = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<Metadata.V1.KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, long sessionId = 0, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, Metadata.ReadConsistency consistency = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<Metadata.V1.KeyValue>> ListAsync(string prefix, Metadata.ReadConsistency consistency = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<Metadata.V1.TxnResponse> TxnAsync(Metadata.V1.TxnRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public IAsyncEnumerable<Metadata.V1.WatchEvent> WatchAsync(string prefix, long fromRevision = 0, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<long> NextIdAsync(string name, int count = 1, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
