using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.V1;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>Auto-recovery re-replicates the fragments of lost bookies; one auditor is active at a time.</summary>
public sealed class AutoRecoveryTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static async Task<LedgerWriter> WriteClosedLedgerAsync(LedgerClient client, int entries)
    {
        var writer = await client.CreateLedgerAsync(3, 2, 2);
        var adds = new List<Task<long>>(entries);
        for (var i = 0; i < entries; i++)
            adds.Add(writer.AddEntryAsync(Payload(i)).AsTask());
        var ids = await Task.WhenAll(adds).WaitAsync(Deadline);
        Assert.Equal(Enumerable.Range(0, entries).Select(i => (long)i), ids);
        await writer.CloseAsync();
        return writer;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test at the deadline.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {Deadline.TotalSeconds} s waiting until {what}.");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_lost_bookies_fragments_are_re_replicated_so_reads_survive_a_second_bookie_stopping()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        const int Entries = 1_000;
        long ledgerId;
        List<string> original;
        await using (var client = new LedgerClient(cluster.Metadata))
        {
            var writer = await WriteClosedLedgerAsync(client, Entries);
            ledgerId = writer.LedgerId;
            original = [.. writer.Metadata.Segments[0].Bookies];
        }
        var spare = cluster.BookieIds.Single(b => !original.Contains(b));
        var lost = original[1];
        var store = new LedgerMetadataStore(cluster.Metadata);

        await cluster.StopAsync(lost);
        await WaitUntilAsync(async () => !(await store.GetAsync(ledgerId))!.Metadata.Segments.Any(s => s.Bookies.Contains(lost)),
            $"ledger {ledgerId}'s metadata no longer names lost bookie {lost}");

        var recovered = (await store.GetAsync(ledgerId))!.Metadata;
        Assert.Equal(LedgerMetadata.Types.State.Closed, recovered.State);
        Assert.Equal(Entries - 1, recovered.LastEntryId);
        var segment = Assert.Single(recovered.Segments);
        Assert.Equal([original[0], spare, original[2]], segment.Bookies);

        // The replacement holds exactly the lost bookie's share, as it was stored.
        var replica = cluster.Client(spare);
        foreach (var entryId in new long[] { 0, 1, 2, 500, Entries - 1 })
        {
            var response = await replica.ReadEntryAsync(new ReadRequest { LedgerId = ledgerId, EntryId = entryId });
            var schedule = new DistributionSchedule(3, 2, 2);
            if (schedule.Stores(entryId, 1))
            {
                Assert.Equal(Code.Ok, response.Code);
                Assert.Equal(Payload(entryId), response.Payload.ToByteArray());
                Assert.True(LedgerDigest.Verify(ledgerId, entryId, response.LastAddConfirmed, response.Payload.Span, response.Digest));
            }
            else
            {
                Assert.NotEqual(Code.Ok, response.Code);
            }
        }

        // A second bookie of the original ensemble (not the replacement) stops too: Qw=2 data still reads.
        await cluster.StopAsync(original[0]);
        await using var reader = new LedgerClient(cluster.Metadata);
        var ledger = await reader.OpenLedgerAsync(ledgerId);
        Assert.Equal(Entries - 1, ledger.LastAddConfirmed);
        var count = 0;
        await foreach (var entry in ledger.ReadAsync(0, ledger.LastAddConfirmed))
        {
            Assert.Equal(count, entry.EntryId);
            Assert.Equal(Payload(count), entry.Payload.ToArray());
            count++;
        }
        Assert.Equal(Entries, count);
    }

    [Fact]
    public async Task An_idle_auditor_waits_for_changes_and_a_ledger_closed_on_a_lost_bookie_is_re_replicated_at_once()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        await using var client = new LedgerClient(cluster.Metadata);
        await WriteClosedLedgerAsync(client, 20);
        var open = await client.CreateLedgerAsync(3, 2, 2);
        for (var i = 0; i < 20; i++)
            await open.AddEntryAsync(Payload(i)).AsTask().WaitAsync(Deadline);
        await WaitUntilAsync(() => Task.FromResult(cluster.ActiveAuditor is { LedgersChecked: >= 1 }), "the active auditor checked the closed ledger");

        // Nothing changes: after the passes the changes above started, the auditor reads no ledger for several of the old 1-second ticks.
        var auditor = cluster.ActiveAuditor!;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var checkedIdle = auditor.LedgersChecked;
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(checkedIdle, auditor.LedgersChecked);

        // A bookie of the open ledger stops; the ledger is closed later, with its first entries still on that bookie
        // only (Qw=2): closing it is a change to its metadata, which starts a pass long before the idle interval.
        var lost = open.Metadata.Segments[0].Bookies[0];
        await cluster.StopAsync(lost);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await open.CloseAsync().WaitAsync(Deadline);
        var store = new LedgerMetadataStore(cluster.Metadata);
        var closedAt = DateTime.UtcNow;
        await WaitUntilAsync(async () => !(await store.GetAsync(open.LedgerId))!.Metadata.Segments.Any(s => s.Bookies.Contains(lost)),
            $"ledger {open.LedgerId}'s metadata no longer names lost bookie {lost}");
        Assert.True(DateTime.UtcNow - closedAt < AutoRecovery.IdleCheckInterval / 2,
            $"re-replicated {(DateTime.UtcNow - closedAt).TotalSeconds:0.0} s after the close: the close did not start a pass");
    }

    [Fact]
    public async Task Only_the_instance_holding_the_lock_audits_and_another_takes_over_when_it_stops()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        await using (var client = new LedgerClient(cluster.Metadata))
            await WriteClosedLedgerAsync(client, 20);

        var instances = new List<AutoRecovery>();
        try
        {
            for (var i = 0; i < 3; i++)
                instances.Add(await AutoRecovery.StartAsync(cluster.Metadata, null, NullLogger.Instance));

            // The bookies started first: one of their auditors holds the lock, none of these.
            var held = await cluster.Metadata.GetAsync(AutoRecovery.LockKey);
            Assert.NotNull(held);
            Assert.NotEqual(0, held.SessionId);
            Assert.DoesNotContain(instances, r => r.InstanceId == held.Value.ToStringUtf8());
            Assert.All(instances, r => Assert.False(r.IsActive));

            // Every bookie stops (their auditors with them); a registration remains so that audits run.
            foreach (var bookieId in cluster.BookieIds)
                await cluster.StopAsync(bookieId);
            const string Placeholder = "127.0.0.1:1";
            await cluster.Metadata.PutAsync($"{BookiePaths.Available}/{Placeholder}", Encoding.UTF8.GetBytes(Placeholder));

            await WaitUntilAsync(() => Task.FromResult(instances.Count(r => r.IsActive) == 1 && instances.Single(r => r.IsActive).LedgersChecked >= 2),
                "one of the remaining instances is the active auditor and has audited twice");
            var active = instances.Single(r => r.IsActive);
            await AssertSoleHolderAsync(cluster, instances, active);

            // The active one stops: exactly one other takes over; the idle one never audited.
            instances.Remove(active);
            await active.DisposeAsync();
            await WaitUntilAsync(() => Task.FromResult(instances.Count(r => r.IsActive) == 1 && instances.Single(r => r.IsActive).LedgersChecked >= 2),
                "another instance took over the auditor lock and audited twice");
            await AssertSoleHolderAsync(cluster, instances, instances.Single(r => r.IsActive));
        }
        finally
        {
            foreach (var instance in instances)
                await instance.DisposeAsync();
        }
    }

    private static async Task AssertSoleHolderAsync(BookieCluster cluster, List<AutoRecovery> instances, AutoRecovery active)
    {
        var held = await cluster.Metadata.GetAsync(AutoRecovery.LockKey);
        Assert.NotNull(held);
        Assert.Equal(active.InstanceId, held.Value.ToStringUtf8());
        Assert.Single(await cluster.Metadata.ListChildrenAsync("/ledgers-auditor"));
        foreach (var idle in instances.Where(r => !ReferenceEquals(r, active)))
        {
            Assert.False(idle.IsActive);
            Assert.Equal(0, idle.LedgersChecked);
            Assert.Equal(0, idle.FragmentsRecovered);
            Assert.Equal(0, idle.EntriesCopied);
        }
    }
}
