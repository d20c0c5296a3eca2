using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.ManagedLedgers;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>A real broker (metadata service, one bookie) whose ownership gate is a <see cref="FakeOwnershipGate"/>, and whose reads of the metadata service are counted.</summary>
public sealed class GatedBrokerFixture : IAsyncLifetime
{
    private LocalMetadata? _metadata;
    private BookieServer? _bookie;
    private GrpcChannel? _channel;

    internal FakeOwnershipGate Gate { get; private set; } = null!;

    public BrokerServer Server { get; private set; } = null!;

    public Messaging.MessagingClient Client { get; private set; } = null!;

    public Tiered.Metadata.IMetadataStore Store => _metadata!.Store;

    /// <summary>The metadata service as the broker sees it, counting the broker's reads.</summary>
    internal CountingStore BrokerStore { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _metadata = await LocalMetadata.StartAsync();
        _bookie = await BookieServer.StartAsync(new BookieOptions
        {
            Listen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            DataDir = Path.Combine(_metadata.Root, "bookie"),
            Metadata = [_metadata.ClientAddress],
            AutoRecovery = false,
        }, NullLoggerFactory.Instance, _metadata.Store);
        await Store.PutAsync("/admin/tenants/public", """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray());
        await Store.PutAsync("/admin/policies/public/default", """{"replication_clusters":["standalone"]}"""u8.ToArray());
        var options = new BrokerOptions
        {
            GrpcListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            HttpListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            ManagedLedger = new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1 },
        };
        Gate = new FakeOwnershipGate(StandaloneOwnershipGate.SelfOf(options));
        BrokerStore = new CountingStore(_metadata.Store);
        Server = await BrokerServer.StartAsync(options, BrokerStore, NullLoggerFactory.Instance, ownership: Gate);
        _channel = GrpcChannel.ForAddress($"http://{options.GrpcListen}");
        Client = new Messaging.MessagingClient(_channel);
    }

    /// <summary>Neither loaded by the broker nor stored as a managed ledger (nor as any key under its path).</summary>
    public async Task AssertNotOpenedAsync(string topic)
    {
        var name = TopicName.Parse(topic);
        Assert.Null(Server.Topics.FindLoaded(name));
        Assert.DoesNotContain(Server.Topics.LoadedTopics, t => t.Name == name);
        Assert.Null(await Store.GetAsync(MetadataPaths.Topic(name)));
        Assert.Empty(await Store.ListAsync(MetadataPaths.Topic(name)));
        Assert.Empty(await Store.ListAsync($"/managed-ledger-cursors/{name.ManagedLedgerName}"));
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (Server is not null)
            await Server.DisposeAsync();
        if (_bookie is not null)
            await _bookie.DisposeAsync();
        if (_metadata is not null)
            await _metadata.DisposeAsync();
    }
}
