using Google.Protobuf;
using Grpc.Net.Client;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>A `tiered bookie` process killed with SIGKILL right after acknowledging adds.</summary>
public sealed class BookieCrashTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private static byte[] Payload(long entryId) => System.Text.Encoding.UTF8.GetBytes($"entry {entryId} " + new string('p', (int)(entryId % 700)));

    [Fact]
    public async Task Every_acknowledged_add_is_served_after_a_kill_and_restart()
    {
        await using var metadata = await MetadataCluster.StartAsync(1);
        await metadata.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var dataDir = Path.Combine(metadata.DataRoot, "bookie");
        var listen = $"127.0.0.1:{TieredProcess.FreePort()}";
        string[] args = ["bookie", "--metadata", string.Join(',', metadata.Addresses), "--listen", listen, "--data-dir", dataDir, "--log-level", "Warning"];
        const long LedgerId = 42;
        const int Entries = 3000;

        using (var bookie = await TieredProcess.StartAsync("listening on", StartTimeout, args))
        {
            using var channel = GrpcChannel.ForAddress($"http://{listen}");
            var client = new Tiered.Bookie.V1.Bookie.BookieClient(channel);
            Assert.NotNull(await metadata.Client.GetAsync($"/bookies/available/{listen}"));

            using var call = client.AddEntries();
            var acked = 0;
            var reading = Task.Run(async () =>
            {
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    Assert.Equal(Code.Ok, call.ResponseStream.Current.Code);
                    if (++acked == Entries)
                        return;
                }
            });
            for (long e = 0; e < Entries; e++)
            {
                var payload = Payload(e);
                await call.RequestStream.WriteAsync(new AddRequest
                {
                    LedgerId = LedgerId,
                    EntryId = e,
                    LastAddConfirmed = e - 1,
                    Payload = ByteString.CopyFrom(payload),
                    Digest = LedgerDigest.Compute(LedgerId, e, e - 1, payload),
                });
            }
            await reading.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(Entries, acked);
            // The moment the last ack arrived: no shutdown, no flush of the write cache.
        }

        using (await TieredProcess.StartAsync("listening on", StartTimeout, args))
        {
            using var channel = GrpcChannel.ForAddress($"http://{listen}");
            var client = new Tiered.Bookie.V1.Bookie.BookieClient(channel);
            using var range = client.ReadRange(new ReadRangeRequest { LedgerId = LedgerId, FirstEntryId = 0, LastEntryId = Entries - 1 });
            var expected = 0L;
            while (await range.ResponseStream.MoveNext(CancellationToken.None))
            {
                var entry = range.ResponseStream.Current;
                Assert.Equal((Code.Ok, expected), (entry.Code, entry.EntryId));
                Assert.Equal(Payload(expected), entry.Payload.ToByteArray());
                Assert.True(LedgerDigest.Verify(LedgerId, expected, entry.LastAddConfirmed, entry.Payload.Span, entry.Digest));
                expected++;
            }
            Assert.Equal(Entries, expected);
            var lac = await client.ReadLacAsync(new ReadLacRequest { LedgerId = LedgerId, PreviousLac = -2 });
            Assert.Equal((Entries - 2L, Entries - 1L), (lac.LastAddConfirmed, lac.LastEntryId));
        }
    }
}
