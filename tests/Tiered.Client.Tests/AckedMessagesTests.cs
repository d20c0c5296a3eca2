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
}
