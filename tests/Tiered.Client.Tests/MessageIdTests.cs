namespace Tiered.Client.Tests;

public class MessageIdTests
{
    [Fact]
    public void Ids_compare_by_ledger_then_entry_then_batch_index()
    {
        var ids = new[]
        {
            new MessageId(2, 0, -1, 0),
            new MessageId(1, 5, -1, 1),
            new MessageId(1, 5, -1, 0),
            new MessageId(1, 4, -1, 9),
        };
        Array.Sort(ids);
        Assert.Equal([new MessageId(1, 4, -1, 9), new MessageId(1, 5, -1, 0), new MessageId(1, 5, -1, 1), new MessageId(2, 0, -1, 0)], ids);
        Assert.True(MessageId.Earliest < ids[0]);
        Assert.True(MessageId.Latest > ids[^1]);
    }

    [Fact]
    public void An_id_prints_and_parses_in_pulsar_notation()
    {
        var id = new MessageId(12, 7, 3, 2);
        Assert.Equal("12:7:3:2", id.ToString());
        Assert.Equal(id, MessageId.Parse("12:7:3:2"));
        Assert.Equal(new MessageId(12, 7, -1, 0), MessageId.Parse("12:7"));
        Assert.Throws<FormatException>(() => MessageId.Parse("12"));
    }
}
