using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

public class ReaderTests
{
    [Fact]
    public async Task A_reader_starts_after_the_given_message_and_tells_whether_more_is_available()
    {
        await using var broker = await FakeBroker.StartAsync();
        for (var i = 0; i < 3; i++)
            broker.Topic("history").Append(Batch("p", (ulong)i, $"m{i}"));
        await using var client = For(broker);
        await using var reader = await client.CreateReaderAsync(new ReaderOptions("history") { StartMessageId = new MessageId(FakeBroker.LedgerId, 0, -1, 0) });

        Assert.True(await reader.HasMessageAvailableAsync());
        Assert.Equal("m1", Text((await reader.ReadNextAsync().Within("m1")).Payload));
        Assert.Equal("m2", Text((await reader.ReadNextAsync().Within("m2")).Payload));
        Assert.False(await reader.HasMessageAvailableAsync());

        var subscribe = Assert.Single(broker.Subscribes);
        Assert.True(subscribe.Reader);
        Assert.False(subscribe.StartInclusive);
        Assert.Equal(0, subscribe.StartMessageId.EntryId);
    }

    [Fact]
    public async Task A_reader_resumes_after_the_last_message_it_returned_when_it_reconnects()
    {
        await using var broker = await FakeBroker.StartAsync();
        for (var i = 0; i < 5; i++)
            broker.Topic("resume").Append(Batch("p", (ulong)i, $"m{i}"));
        await using var client = For(broker);
        await using var reader = await client.CreateReaderAsync(new ReaderOptions("resume"));

        Assert.Equal("m0", Text((await reader.ReadNextAsync().Within("m0")).Payload));
        Assert.Equal("m1", Text((await reader.ReadNextAsync().Within("m1")).Payload));
        broker.KillConsumeStreams();
        await Eventually.WaitUntilAsync(() => broker.SubscribeCount == 2, "the reader subscribes again");
        Assert.Equal("m2", Text((await reader.ReadNextAsync().Within("m2")).Payload));
        Assert.Equal(1, broker.Subscribes[1].StartMessageId.EntryId);
    }

    [Fact]
    public async Task Last_message_id_and_seek_reach_the_broker()
    {
        await using var broker = await FakeBroker.StartAsync();
        await using var client = For(broker);
        Assert.Null(await client.GetLastMessageIdAsync("empty"));
        broker.Topic("full").Append(Batch("p", 0, "a", "b"));
        Assert.Equal(new MessageId(FakeBroker.LedgerId, 0, -1, 0), await client.GetLastMessageIdAsync("full"));

        await client.SeekAsync("full", "s", new MessageId(FakeBroker.LedgerId, 0, -1, 1));
        await client.SeekAsync("full", "s", DateTimeOffset.FromUnixTimeMilliseconds(1234));
        Assert.Equal(1, broker.Seeks[0].MessageId.BatchIndex);
        Assert.Equal(1234, broker.Seeks[1].PublishTimeMs);
    }
}
