using Tiered.Broker.Subscriptions.Delayed;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Tests;

/// <summary>The delayed-delivery index alone: due order, no early entry, compact memory, spilling under a cap.</summary>
public class DelayedDeliveryTrackerTests
{
    private const long T0 = 1_900_000_000_000;

    [Fact]
    public void Entries_come_out_only_once_their_slot_is_due_and_each_exactly_once()
    {
        var tracker = new DelayedDeliveryTracker(tickMs: 100);
        var times = new Dictionary<Position, long>();
        var random = new Random(17);
        for (var i = 0; i < 5_000; i++)
        {
            var position = new Position(3 + i / 1000, i % 1000);
            var at = T0 + random.Next(1, 20_000);
            times[position] = at;
            tracker.Add(position, at, 1);
        }
        Assert.Equal(5_000, tracker.Messages);
        var seen = new HashSet<Position>();
        for (var now = T0; now <= T0 + 20_100; now += 37)
        {
            Assert.True(tracker.NextDueMs > now - 37 || seen.Count == 5_000, "an entry was left behind after it was due");
            var due = new List<Position>();
            tracker.TakeDue(now, due, int.MaxValue);
            foreach (var position in due)
            {
                Assert.True(times[position] <= now, $"{position} due at {times[position]} came out at {now}");
                Assert.True(now - times[position] < 100 + 37, $"{position} due at {times[position]} came out late, at {now}");
                Assert.True(seen.Add(position), $"{position} came out twice");
            }
        }
        Assert.Equal(5_000, seen.Count);
        Assert.True(tracker.IsEmpty);
        Assert.Equal(0, tracker.IndexBytes);
        Assert.Equal(long.MaxValue, tracker.NextDueMs);
    }

    [Fact]
    public void Positions_across_ledgers_and_out_of_order_decode_exactly()
    {
        var tracker = new DelayedDeliveryTracker(tickMs: 1000);
        Position[] positions = [new(7, 5), new(7, 3), new(9, 0), new(2, 1_000_000), new(2, 4), new(0, 0), new(long.MaxValue / 2, long.MaxValue / 4)];
        foreach (var position in positions)
            tracker.Add(position, T0 + 10, 1);
        var due = new List<Position>();
        tracker.TakeDue(T0 + 10, due, int.MaxValue);
        Assert.Equal(positions, due);
    }

    [Fact]
    public void Nothing_is_taken_before_the_latest_time_in_its_slot()
    {
        var tracker = new DelayedDeliveryTracker(tickMs: 1000);
        tracker.Add(new Position(1, 1), T0 + 100, 1);
        tracker.Add(new Position(1, 2), T0 + 700, 1);
        var due = new List<Position>();
        Assert.Equal(T0 + 700, tracker.NextDueMs);
        Assert.Equal(0, tracker.TakeDue(T0 + 699, due, int.MaxValue));
        Assert.Equal(2, tracker.TakeDue(T0 + 700, due, int.MaxValue));
    }

    [Fact]
    public void Under_a_tiny_cap_the_farthest_slots_spill_and_their_summaries_cover_exactly_the_spilled_entries()
    {
        var tracker = new DelayedDeliveryTracker(tickMs: 100, maxIndexBytes: 4096, maxSummaries: 8);
        var times = new Dictionary<Position, long>();
        var random = new Random(5);
        for (var i = 0; i < 2_000; i++)
        {
            var position = new Position(1, i);
            var at = T0 + random.Next(1, 10_000);
            times[position] = at;
            tracker.Add(position, at, 2);
        }
        Assert.Equal(4_000, tracker.Messages);
        Assert.InRange(tracker.IndexBytes, 1, 4096);
        Assert.True(tracker.SpilledEntries > 1_000, $"only {tracker.SpilledEntries} spilled");
        Assert.InRange(tracker.SummaryCount, 1, 8);
        Assert.InRange(tracker.IndexBytes, 1, 4096);

        // The subscription's part, simulated: a due summary is "re-read" from the log (here: every position), and
        // its entries are delivered when due or added again.
        var seen = new HashSet<Position>();
        for (var now = T0; now <= T0 + 10_200; now += 50)
        {
            var due = new List<Position>();
            tracker.TakeDue(now, due, int.MaxValue);
            while (tracker.TryTakeDueSummary(now, out var range))
            {
                foreach (var (position, at) in times)
                {
                    if (position < range.First || position > range.Last || seen.Contains(position) || !tracker.Covers(range, at))
                        continue;
                    if (at <= now)
                        due.Add(position);
                    else
                        tracker.Add(position, at, 2);
                }
            }
            foreach (var position in due)
            {
                Assert.True(times[position] <= now, $"{position} due at {times[position]} came out at {now}");
                Assert.True(seen.Add(position), $"{position} came out twice");
            }
            Assert.InRange(tracker.IndexBytes, 0, 4096);
        }
        Assert.Equal(2_000, seen.Count);
        Assert.True(tracker.IsEmpty);
        Assert.Equal(0, tracker.Messages);
    }

    [Fact]
    public void A_million_entries_in_order_take_a_few_bytes_each()
    {
        var tracker = new DelayedDeliveryTracker();
        var random = new Random(1);
        for (var i = 0; i < 1_000_000; i++)
            tracker.Add(new Position(10 + i / 50_000, i % 50_000), T0 + random.Next(1, 3_600_000), 1);
        Assert.Equal(0, tracker.SpilledEntries);
        Assert.True(tracker.IndexBytes < 16 * 1024 * 1024, $"{tracker.IndexBytes} bytes");
    }

    [Fact]
    public void Clear_forgets_everything()
    {
        var tracker = new DelayedDeliveryTracker(tickMs: 100, maxIndexBytes: 1024);
        for (var i = 0; i < 500; i++)
            tracker.Add(new Position(1, i), T0 + i * 10, 1);
        tracker.Clear();
        Assert.True(tracker.IsEmpty);
        Assert.Equal(0, tracker.IndexBytes);
        Assert.Equal(0, tracker.SummaryCount);
        Assert.False(tracker.TryTakeDueSummary(long.MaxValue - 1, out _));
    }
}
