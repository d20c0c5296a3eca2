using Tiered.Broker.Admin;
using Tiered.Broker.Naming;
using Tiered.Offloader;
using Tiered.Offloader.Stores;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>storageSize and offloadedStorageSize of a topic whose closed ledgers were offloaded and their bookie copies deleted.</summary>
public sealed class StorageSizeTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("tiered-storage-size-");
    private LocalBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await LocalBroker.StartAsync(o => o with
    {
        ManagedLedger = o.ManagedLedger with { MaxEntriesPerLedger = 5 },
        TieredStorage = new TieredStorageOptions { SpoolDirectory = Path.Combine(_root.FullName, "spool") },
        DefaultOffloadStore = new ObjectStoreSettings { Driver = ObjectStores.FileSystemDriver, Directory = Path.Combine(_root.FullName, "store") },
        DefaultOffloadDeletionLag = TimeSpan.Zero,
    });

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task Storage_size_leaves_out_ledgers_whose_bookie_copy_was_deleted_after_offload()
    {
        var topic = TopicName.Parse(BrokerFixture.NewTopic("sizes"));
        await using (var producer = await RawProducer.OpenAsync(_broker.Client(), topic.ToString()))
        {
            var answers = await producer.SendAllAsync(Enumerable.Range(0, 12).Select(i => RawProducer.Batch([$"message-{i}"])));
            Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        }
        var admin = _broker.Server.Admin;
        var before = await admin.GetStatsAsync(topic, CancellationToken.None);
        Assert.Equal(0, before.OffloadedStorageSize);

        await admin.TriggerOffloadAsync(topic, null, CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        InternalTopicStats internalStats;
        while (true)
        {
            var status = await admin.GetOffloadStatusAsync(topic, CancellationToken.None);
            Assert.NotEqual("ERROR", status.Status);
            internalStats = await admin.GetInternalStatsAsync(topic, CancellationToken.None);
            if (status.Status == "SUCCESS" && internalStats.Ledgers.SkipLast(1).All(l => l.BookieDeleted))
                break;
            Assert.True(DateTime.UtcNow < deadline, $"The offload did not end with the bookie copies deleted: {status.Status}, {string.Join(", ", internalStats.Ledgers)}");
            await Task.Delay(50);
        }

        var closed = internalStats.Ledgers.SkipLast(1).ToList();
        Assert.True(closed.Count >= 2, $"expected closed ledgers, got {closed.Count}");
        var stats = await admin.GetStatsAsync(topic, CancellationToken.None);
        Assert.Equal(before.StorageSize, stats.StorageSize + closed.Sum(l => l.Size));
        Assert.Equal(internalStats.Ledgers[^1].Size, stats.StorageSize);
        Assert.Equal(closed.Sum(l => l.Size), stats.OffloadedStorageSize);
    }
}
