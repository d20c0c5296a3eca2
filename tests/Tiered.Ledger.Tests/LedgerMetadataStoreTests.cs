using Tiered.Bookie.V1;
using Tiered.Metadata;
using Tiered.Testing;

namespace Tiered.Ledger.Tests;

/// <summary>Ledger metadata in a real (single-node, in-process) metadata service.</summary>
public sealed class LedgerMetadataStoreTests
{
    [Fact]
    public async Task Ledgers_get_increasing_ids_and_concurrent_updates_cannot_overwrite_each_other()
    {
        await using var server = await LocalMetadata.StartAsync();
        var ledgers = new LedgerMetadataStore(server.Store);
        var schedule = new DistributionSchedule(3, 2, 2);

        var first = await ledgers.CreateAsync(schedule, ["a:1", "b:1", "c:1"], new Dictionary<string, string> { ["owner"] = "t" });
        var second = await ledgers.CreateAsync(schedule, ["a:1", "b:1", "c:1"]);
        Assert.True(second.LedgerId > first.LedgerId);
        Assert.Equal([first.LedgerId, second.LedgerId], await ledgers.ListAsync());

        var read = (await ledgers.GetAsync(first.LedgerId))!;
        Assert.Equal(first.Metadata, read.Metadata);
        Assert.Equal(LedgerMetadata.Types.State.Open, read.Metadata.State);
        Assert.Equal("t", read.Metadata.Custom["owner"]);

        // A writer's ensemble change and a reader's close race from the same version: one wins.
        var ensembleChange = read.Metadata.Clone();
        ensembleChange.Segments.Add(new Segment { FirstEntryId = 10, Bookies = { "a:1", "d:1", "c:1" } });
        var close = read.Metadata.Clone();
        close.State = LedgerMetadata.Types.State.Closed;
        close.LastEntryId = 9;
        var updated = await ledgers.UpdateAsync(read, close);
        var lost = await Assert.ThrowsAsync<MetadataException>(() => ledgers.UpdateAsync(read, ensembleChange));
        Assert.Equal(MetadataErrorCode.BadVersion, lost.Code);
        Assert.Equal(close, (await ledgers.GetAsync(first.LedgerId))!.Metadata);
        Assert.Equal(updated.Version, (await ledgers.GetAsync(first.LedgerId))!.Version);

        await Assert.ThrowsAsync<ArgumentException>(() => ledgers.CreateAsync(schedule, ["a:1"]));
        Assert.True(await ledgers.DeleteAsync(second.LedgerId));
        Assert.Null(await ledgers.GetAsync(second.LedgerId));
    }
}
