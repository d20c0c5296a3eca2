namespace Tiered.ManagedLedgers.Tests;

/// <summary>
/// Adds are pooled value task sources: awaited once; an <see cref="AddHandle"/> keeps an add's outcome readable (and
/// gives further waiters) until released, as de-duplication needs for a resend of a batch still being stored.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AddHandleTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task A_handle_keeps_the_outcome_after_the_caller_awaited_and_gives_every_further_waiter_the_position()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client);

        var stored = ledger.AddEntryAsync(Payload(0), -1, out var handle, CancellationToken.None);
        // Waiters while it is (most likely) still in flight share one task; one after completion is answered at once.
        var early = handle.WaitAsync().AsTask();
        var second = handle.WaitAsync().AsTask();
        var position = await stored;
        Assert.Equal(position, await early.WaitAsync(Deadline));
        Assert.Equal(position, await second.WaitAsync(Deadline));
        Assert.True(handle.IsCompleted);
        Assert.True(handle.TryGetOutcome(out var outcome, out var error));
        Assert.Equal((position, null), (outcome, error));
        Assert.Equal(position, await handle.WaitAsync());

        // Another hold outlives the first one, and further adds (which may reuse pooled ones) do not change it.
        var shared = handle.Share();
        handle.Release();
        await AddAsync(ledger, 1, 50);
        Assert.True(shared.TryGetOutcome(out outcome, out _));
        Assert.Equal(position, outcome);
        shared.Release();
        Assert.Throws<InvalidOperationException>(() => shared.TryGetOutcome(out _, out _));
    }

    [Fact]
    public async Task A_failed_add_gives_its_error_to_the_caller_to_the_handle_and_to_further_waiters()
    {
        var name = NewName();
        await using var oldClient = NewClient();
        var old = await OpenAsync(name, oldClient);
        await AddAsync(old, 0, 3);
        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client, createIfMissing: false);

        // The old owner's next add fails as fenced (its ledger was recovered by the new owner).
        var failing = old.AddEntryAsync(Payload(3), -1, out var handle, CancellationToken.None);
        var waiter = handle.WaitAsync().AsTask();
        var error = await Assert.ThrowsAsync<ManagedLedgerFencedException>(async () => await failing);
        Assert.IsType<ManagedLedgerFencedException>(await Assert.ThrowsAnyAsync<ManagedLedgerException>(() => waiter.WaitAsync(Deadline)));
        Assert.True(handle.TryGetOutcome(out _, out var outcome));
        Assert.IsType<ManagedLedgerFencedException>(outcome);
        await Assert.ThrowsAsync<ManagedLedgerFencedException>(async () => await handle.WaitAsync());
        handle.Release();
        await old.DisposeAsync();
        Assert.NotNull(error);
    }

    [Fact]
    public async Task An_add_is_awaited_once()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client);
        var add = ledger.AddEntryAsync(Payload(0));
        await add;
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await add);
    }
}
