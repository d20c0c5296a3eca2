using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Broker;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>A gate that says another broker owns every topic whose name starts with "away-", and this one the rest.</summary>
internal sealed class AwayOwnershipGate(BrokerUrls self) : IOwnershipGate
{
    public static readonly BrokerUrls Other = new("http://10.1.2.3:6650", "http://10.1.2.3:8080");

    public ValueTask<TopicOwnership> CheckAsync(TopicName topic, CancellationToken cancellationToken)
        => ValueTask.FromResult(topic.LocalName.StartsWith("away-", StringComparison.Ordinal)
            ? TopicOwnership.Elsewhere(NamespaceBundle.Whole(topic.Namespace), Other)
            : TopicOwnership.Local(NamespaceBundle.Whole(topic.Namespace), self));

    public ValueTask<TopicOwnership> AcquireAsync(TopicName topic, CancellationToken cancellationToken) => CheckAsync(topic, cancellationToken);

    public ValueTask UnloadAsync(NamespaceBundle bundle, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<BundleOwnership>> ListOwnershipAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<BundleOwnership>>([]);

    public void SetListener(IOwnershipListener listener)
    {
    }
}

/// <summary>A broker with the admin API whose gate sends "away-" topics elsewhere (no bookie: nothing here may be opened).</summary>
public sealed class AdminOwnershipFixture : IAsyncLifetime
{
    private LocalMetadata? _metadata;

    public BrokerServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public Tiered.Metadata.IMetadataStore Store => _metadata!.Store;

    public async Task InitializeAsync()
    {
        _metadata = await LocalMetadata.StartAsync();
        await Store.PutAsync("/admin/tenants/public", """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray());
        await Store.PutAsync("/admin/policies/public/default", """{"replication_clusters":["standalone"]}"""u8.ToArray());
        var options = new BrokerOptions
        {
            GrpcListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            HttpListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
        };
        Server = await BrokerServer.StartAsync(options, Store, NullLoggerFactory.Instance, b => b.AddTieredAdminApi(),
            ownership: new AwayOwnershipGate(StandaloneOwnershipGate.SelfOf(options)));
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{options.HttpListen}") };
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Server is not null)
            await Server.DisposeAsync();
        if (_metadata is not null)
            await _metadata.DisposeAsync();
    }
}

/// <summary>
/// The admin API reaches topics through the broker's ownership gate: a topic another broker owns is
/// answered 307 to the same path on the owner, as Pulsar's brokers do, and never opened here (an
/// admin call that opened it would fence its real owner).
/// </summary>
public sealed class AdminOwnershipTests(AdminOwnershipFixture fixture) : IClassFixture<AdminOwnershipFixture>
{
    private HttpClient Http => fixture.Http;

    private async Task AssertNotOpenedAsync(string topic)
    {
        var name = TopicName.Parse(topic);
        Assert.Null(fixture.Server.Topics.FindLoaded(name));
        Assert.Empty(fixture.Server.Topics.LoadedTopics);
        Assert.Null(await fixture.Store.GetAsync(MetadataPaths.Topic(name)));
        Assert.Empty(await fixture.Store.ListAsync(MetadataPaths.Topic(name)));
    }

    private static void AssertRedirectedTo(HttpResponseMessage response, string path)
    {
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(new Uri(AwayOwnershipGate.Other.HttpUrl + path), response.Headers.Location);
    }

    [Theory]
    [InlineData("stats")]
    [InlineData("internalStats")]
    [InlineData("subscriptions")]
    [InlineData("offload")]
    [InlineData("lastMessageId")]
    public async Task A_topic_read_on_a_broker_that_does_not_own_it_is_redirected_to_the_owner_and_opens_nothing(string what)
    {
        var topic = $"away-{Guid.NewGuid():N}";
        var path = $"/admin/v2/persistent/public/default/{topic}/{what}";
        using var response = await Http.GetAsync(path);
        AssertRedirectedTo(response, path);
        await AssertNotOpenedAsync($"public/default/{topic}");
    }

    [Fact]
    public async Task Creating_deleting_and_terminating_a_topic_owned_elsewhere_are_redirected_with_their_query()
    {
        var topic = $"away-{Guid.NewGuid():N}";
        var path = $"/admin/v2/persistent/public/default/{topic}";
        using (var created = await Http.PutAsync(path, null))
            AssertRedirectedTo(created, path);
        using (var deleted = await Http.DeleteAsync(path + "?force=true"))
            AssertRedirectedTo(deleted, path + "?force=true");
        using (var terminated = await Http.PostAsync(path + "/terminate", null))
            AssertRedirectedTo(terminated, path + "/terminate");
        await AssertNotOpenedAsync($"public/default/{topic}");
    }

    [Fact]
    public async Task Stats_of_a_partitioned_topic_whose_partitions_are_owned_elsewhere_are_refused_not_redirected()
    {
        var topic = $"away-{Guid.NewGuid():N}";
        await fixture.Store.PutAsync(MetadataPaths.PartitionedTopic(TopicName.Parse($"public/default/{topic}")), """{"partitions":2}"""u8.ToArray());
        using var response = await Http.GetAsync($"/admin/v2/persistent/public/default/{topic}/partitioned-stats");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains(AwayOwnershipGate.Other.HttpUrl, await response.Content.ReadAsStringAsync());
        await AssertNotOpenedAsync($"public/default/{topic}-partition-0");
    }
}
