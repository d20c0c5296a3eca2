using Tiered.Client.Consumers;
using Xunit;

namespace Tiered.Client.Tests;

/// <summary>What the consumer remembers of its acknowledgements, to drop a copy that crossed one.</summary>
public sealed class AckedMessagesTests
{
    [Fact]
    public void Individual_and_cumulative_acknowledgements_hide_their_messages_until_cleared()
    {
        var acked = new AckedMessages();
        acked.Add(5, 10, 0);
        acked.Add(5, 11, -1);
        acked.AddUpTo(4, 99);

        Assert.True(acked.Contains(5, 10, 0));
        Assert.False(acked.Contains(5, 10, 1));
        Assert.True(acked.Contains(5, 11, 3));   // the whole entry
        Assert.True(acked.Contains(4, 7, 0));    // below the cumulative position
        Assert.False(acked.Contains(5, 12, 0));

        acked.Remove(5, 10, 0);                  // its acknowledgement failed: the message may come again
        Assert.False(acked.Contains(5, 10, 0));
        acked.Clear();                           // a new stream (or a seek): everything may come again
        Assert.False(acked.Contains(5, 11, 0));
        Assert.False(acked.Contains(4, 7, 0));
    }

    [Fact]
    public void Only_the_most_recent_acknowledgements_are_kept()
    {
        var acked = new AckedMessages();
        for (var entry = 0; entry < AckedMessages.Capacity + 10; entry++)
            acked.Add(1, entry, 0);

        Assert.False(acked.Contains(1, 0, 0));
        Assert.False(acked.Contains(1, 9, 0));
        Assert.True(acked.Contains(1, 10, 0));
        Assert.True(acked.Contains(1, AckedMessages.Capacity + 9, 0));
    }

    [Fact]
    public void Indexes_of_one_entry_are_kept_and_removed_one_by_one_and_counted_against_the_capacity()
    {
        var acked = new AckedMessages();
        for (var index = 0; index < 100; index++)
            acked.Add(2, 1, index);
        acked.Add(2, 1, 200);                    // beyond the first words of bits
        acked.Remove(2, 1, 50);

        Assert.True(acked.ContainsIndex(2, 1, 0));
        Assert.True(acked.ContainsIndex(2, 1, 99));
        Assert.True(acked.ContainsIndex(2, 1, 200));
        Assert.False(acked.ContainsIndex(2, 1, 50));
        Assert.False(acked.ContainsIndex(2, 1, 100));
        Assert.False(acked.ContainsEntry(2, 1));
        Assert.True(acked.MayContainIndexesOf(2, 1));
        Assert.False(acked.MayContainIndexesOf(2, 2));

        // 100 messages of entry 1, then entries whose messages push the total past the capacity: entry 1 goes first.
        for (var entry = 2; entry < 2 + AckedMessages.Capacity - 100; entry++)
            acked.Add(2, entry, 0);
        Assert.True(acked.ContainsIndex(2, 1, 0));
        acked.Add(2, AckedMessages.Capacity, 0);
        Assert.False(acked.ContainsIndex(2, 1, 0));
        Assert.True(acked.ContainsIndex(2, 2, 0));
    }
}
