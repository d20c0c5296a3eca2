using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Ledger;
using Tiered.Testing;

namespace Tiered.ManagedLedgers.Tests;

public sealed class LedgerCreationBackoffTests
{
    [Fact]
    public void The_wait_doubles_with_each_failure_in_a_row_up_to_the_maximum_and_a_success_ends_it()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var backoff = new LedgerCreationBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), clock);
        Assert.Equal(TimeSpan.Zero, backoff.Remaining());
        Assert.Equal(
            new[] { 100, 200, 400, 800, 1600, 2000, 2000 }.Select(ms => TimeSpan.FromMilliseconds(ms)),
            Enumerable.Range(1, 7).Select(backoff.Delay));
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Delay(int.MaxValue));

        backoff.Failed();
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Remaining());
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.Zero, backoff.Remaining());
        backoff.Failed();
        clock.Advance(TimeSpan.FromMilliseconds(150));
        Assert.Equal(TimeSpan.FromMilliseconds(50), backoff.Remaining());
        backoff.Succeeded();
        Assert.Equal(TimeSpan.Zero, backoff.Remaining());
        backoff.Failed();
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Remaining());
    }

    [Fact]
    public void Backoff_settings_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new ManagedLedgerOptions { LedgerCreationBackoff = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentException>(() => new ManagedLedgerOptions { LedgerCreationBackoff = TimeSpan.FromSeconds(3), MaxLedgerCreationBackoff = TimeSpan.FromSeconds(2) }.Validate());
        new ManagedLedgerOptions().Validate();
    }

    [Fact]
    public async Task While_every_new_ledger_fails_at_once_new_ones_are_started_only_as_the_backoff_allows()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        // A crashed bookie still registered (its session not expired yet): every ensemble of four includes it.
        var dead = $"127.0.0.1:{BookieCluster.FreePort()}";
        await cluster.Metadata.PutAsync($"{BookiePaths.Available}/{dead}", System.Text.Encoding.UTF8.GetBytes(dead));
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var options = new ManagedLedgerOptions
        {
            EnsembleSize = 4, WriteQuorum = 4, AckQuorum = 4,
            LedgerCreationBackoff = TimeSpan.FromSeconds(1),
            MaxLedgerCreationBackoff = TimeSpan.FromSeconds(4),
        };
        await using var client = new LedgerClient(cluster.Metadata);
        await using var ledger = await ManagedLedger.OpenAsync($"public/default/persistent/t-{Guid.NewGuid():N}", client, cluster.Metadata, options, NullLoggerFactory.Instance, time: clock);
        var lastId = await NextLedgerIdAsync(cluster);

        async Task<long> LedgersStartedAsync()
        {
            var id = await NextLedgerIdAsync(cluster);
            var started = id - lastId - 1;
            lastId = id;
            return started;
        }

        async Task<ManagedLedgerException> AddFailsAsync()
            => await Assert.ThrowsAsync<ManagedLedgerException>(async () => await ledger.AddEntryAsync(new byte[] { 1 }).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));

        // The ledger opened with the managed ledger fails on its first add: one failure, 1 s to wait.
        await AddFailsAsync();
        for (var i = 0; i < 20; i++)
            Assert.Contains("the next is started in", (await AddFailsAsync()).Message);
        Assert.Equal(0, await LedgersStartedAsync());

        clock.Advance(TimeSpan.FromSeconds(1));
        await AddFailsAsync(); // a new ledger, which fails too: now 2 s
        Assert.Equal(1, await LedgersStartedAsync());
        clock.Advance(TimeSpan.FromSeconds(1.5));
        for (var i = 0; i < 20; i++)
            await AddFailsAsync();
        Assert.Equal(0, await LedgersStartedAsync());
        clock.Advance(TimeSpan.FromSeconds(0.5));
        await AddFailsAsync();
        Assert.Equal(1, await LedgersStartedAsync());
    }

    /// <summary>Takes an id from the ledger id counter: one more than the last ledger created.</summary>
    private static async Task<long> NextLedgerIdAsync(BookieCluster cluster) => await cluster.Metadata.NextIdAsync(LedgerMetadataStore.IdCounter);
}
