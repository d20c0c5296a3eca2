using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Verdict = Tiered.Broker.Topics.Deduplication.Verdict;

namespace Tiered.Broker.Tests;

/// <summary>The de-duplication table alone (one class, no storage: adds are task sources completed by the test).</summary>
public sealed class DeduplicationTableTests
{
    private readonly Deduplication _table = new(cursor: null, new Lock(), TimeProvider.System, NullLogger.Instance);

    private TaskCompletionSource<Position> Push(string producer, long first, long last)
    {
        Assert.Equal(Verdict.New, _table.Check(producer, first, last, out _));
        var add = new TaskCompletionSource<Position>();
        _table.Pushed(producer, first, last, AddHandle.Of(add.Task));
        return add;
    }

    [Fact]
    public async Task A_resend_in_flight_waits_for_the_original_and_a_stored_one_gets_its_position()
    {
        var first = Push("p", 0, 9);
        Assert.Equal(Verdict.Duplicate, _table.Check("p", 0, 9, out var inFlight));
        Assert.False(inFlight.IsCompleted);
        first.SetResult(new Position(3, 0));
        Assert.Equal(new Position(3, 0), await inFlight);

        Push("p", 10, 19).SetResult(new Position(3, 1));
        _table.Drain();
        Assert.Equal(Verdict.Duplicate, _table.Check("p", 0, 9, out var stored));
        Assert.Equal(new Position(3, 0), await stored);
        Assert.Equal(19, _table.LastSequenceId("p"));
    }

    [Fact]
    public void Producers_are_keyed_apart_and_the_origin_cluster_is_part_of_the_key()
    {
        Push("p", 0, 99).SetResult(new Position(1, 0));
        Assert.Equal(Verdict.New, _table.Check("q", 0, 0, out _));
        var replicated = Deduplication.KeyOf("p", "east"u8);
        Assert.NotEqual("p", replicated);
        Assert.Equal(Verdict.New, _table.Check(replicated, 0, 0, out _));
        Assert.Equal(-1, _table.LastSequenceId(replicated));
    }

    [Fact]
    public void An_overlapping_batch_is_refused()
    {
        Push("p", 0, 9).SetResult(new Position(1, 0));
        Assert.Equal(Verdict.Overlap, _table.Check("p", 5, 14, out _));
    }

    [Fact]
    public async Task A_failed_batch_is_stored_when_resent_even_after_a_later_batch_of_its_producer_was_stored()
    {
        var failed = Push("p", 0, 9);
        var later = Push("p", 10, 19);
        failed.SetException(new ManagedLedgerException("bookies down"));
        later.SetResult(new Position(2, 0));
        _table.Drain();

        // Later batches wait for the failed one to be sent again, so the producer's order holds.
        Assert.Equal(Verdict.ResendEarlier, _table.Check("p", 20, 29, out _));
        // Its resend is new (Pulsar #26113 took it for a duplicate of the later one and lost it) …
        Assert.Equal(Verdict.New, _table.Check("p", 0, 9, out _));
        // … and after it the producer goes on.
        Assert.Equal(Verdict.Duplicate, _table.Check("p", 10, 19, out var stored));
        Assert.Equal(new Position(2, 0), await stored);
        Assert.Equal(Verdict.New, _table.Check("p", 20, 29, out _));
    }

    [Fact]
    public async Task A_resend_older_than_the_remembered_batches_is_dropped_and_answered_with_the_unknown_position()
    {
        for (var i = 0; i < Deduplication.RecentCapacity + 10; i++)
            Push("p", i, i).SetResult(new Position(1, i));
        _table.Drain();
        Assert.Equal(Verdict.Duplicate, _table.Check("p", 5, 5, out var forgotten));
        Assert.Equal(Deduplication.UnknownPosition, await forgotten);
        Assert.Equal(Verdict.Duplicate, _table.Check("p", 500, 500, out var remembered));
        Assert.Equal(new Position(1, 500), await remembered);
    }
}
