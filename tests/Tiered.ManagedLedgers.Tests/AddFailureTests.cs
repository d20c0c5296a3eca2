using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Ledger;
using Tiered.Testing;

namespace Tiered.ManagedLedgers.Tests;

/// <summary>Failures of bookies under a managed ledger; each test has its own cluster, since it stops bookies.</summary>
public sealed class AddFailureTests
{
    [Fact]
    public async Task A_failed_add_fails_without_stopping_the_managed_ledger_and_acknowledged_entries_survive()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        var name = $"public/default/persistent/t-{Guid.NewGuid():N}";
        var allThree = new ManagedLedgerOptions { EnsembleSize = 3, WriteQuorum = 3, AckQuorum = 3 };
        await using var client = new LedgerClient(cluster.Metadata);
        var ledger = await ManagedLedger.OpenAsync(name, client, cluster.Metadata, allThree, NullLoggerFactory.Instance);
        var acknowledged = new List<Position>();
        for (var i = 0; i < 5; i++)
            acknowledged.Add(await ledger.AddEntryAsync(new byte[] { (byte)i }));

        // No spare bookie: the writer cannot replace the stopped one, and no new ledger of three fits.
        var failuresSeen = ledger.AddFailures;
        await cluster.StopAsync(cluster.BookieIds[0]);
        var failed = await Assert.ThrowsAsync<ManagedLedgerException>(async () => await ledger.AddEntryAsync(new byte[] { 5 }));
        Assert.IsNotType<ManagedLedgerFencedException>(failed);
        Assert.Equal(failuresSeen + 1, ledger.AddFailures);
        // A caller that had not seen that failure is refused, before the add reaches any ledger.
        var unseen = await Assert.ThrowsAsync<ManagedLedgerException>(async () => await ledger.AddEntryAsync(new byte[] { 6 }, failuresSeen, CancellationToken.None));
        Assert.Contains("earlier add failed", unseen.Message, StringComparison.Ordinal);
        var noLedger = await Assert.ThrowsAsync<ManagedLedgerException>(async () => await ledger.AddEntryAsync(new byte[] { 6 }));
        Assert.IsNotType<ManagedLedgerFencedException>(noLedger);
        Assert.Equal(acknowledged[^1], ledger.LastConfirmedEntry);
        await ledger.DisposeAsync();

        var twoBookies = new ManagedLedgerOptions { EnsembleSize = 2, WriteQuorum = 2, AckQuorum = 2 };
        await using var reopened = await ManagedLedger.OpenAsync(name, client, cluster.Metadata, twoBookies, NullLoggerFactory.Instance, createIfMissing: false);
        var read = await reopened.ReadEntriesAsync(reopened.FirstPosition, 100);
        Assert.Equal(acknowledged, read.Select(e => e.Position));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (byte)i), read.Select(e => e.Data.Span[0]));
        var next = await reopened.AddEntryAsync(new byte[] { 7 }, reopened.AddFailures, CancellationToken.None);
        Assert.True(next > acknowledged[^1]);
    }
}
