using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class EntryLoggerConcurrencyTests : IDisposable
{
    private const int EntryCount = 20_000;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Readers_see_every_appended_entry_while_the_writer_buffers_flushes_and_rolls()
    {
        using var logger = new EntryLogger(new EntryLoggerOptions(_directory.Path, MaxLogBytes: 256 << 10, WriteBufferBytes: 8 << 10));
        var locations = new EntryLocation[EntryCount];
        var published = -1;
        var writer = Task.Run(() =>
        {
            for (var entryId = 0; entryId < EntryCount; entryId++)
            {
                locations[entryId] = logger.Append(1, entryId, Payload(entryId));
                Volatile.Write(ref published, entryId);
                if (entryId % 1000 == 999)
                {
                    logger.Flush();
                }
            }
        });

        var readers = Enumerable.Range(0, 3).Select(seed => Task.Run(() =>
        {
            var random = new Random(seed);
            var reads = 0;
            while (!writer.IsCompleted || reads == 0)
            {
                var newest = Volatile.Read(ref published);
                if (newest < 0)
                {
                    continue;
                }

                var entryId = random.Next(Math.Max(0, newest - 50), newest + 1);
                Assert.Equal(Payload(entryId), logger.Read(locations[entryId], 1, entryId));
                reads++;
            }

            return reads;
        })).ToArray();

        await writer;
        var readCounts = await Task.WhenAll(readers);
        Assert.All(readCounts, count => Assert.True(count > 0));
        Assert.True(logger.LogIds.Count() > 10, "the writer should have rolled over many times");
    }

    private static byte[] Payload(int entryId)
    {
        var payload = new byte[1 + (entryId % 2000)];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)((entryId * 31) + i);
        }

        return payload;
    }
}
