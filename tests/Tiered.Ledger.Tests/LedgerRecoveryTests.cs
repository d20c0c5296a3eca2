using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Tiered.Bookie.V1;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>Opening a ledger with recovery: fencing its writer, finding its last entry, closing it.</summary>
public sealed class LedgerRecoveryTests
{
    private static long Length(long lastEntryId) => Enumerable.Range(0, (int)(lastEntryId + 1)).Sum(i => (long)Payload(i).Length);

    [Fact]
    public async Task A_recovering_reader_fences_the_writer_and_closes_the_ledger_no_earlier_than_any_entry_the_writer_saw_confirmed()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var clientA = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(clientA, 500);
        var highestAcked = writer.LastAddConfirmed;
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var background = Task.Run(async () =>
        {
            for (long next = 500; ; next += 20)
            {
                // Pipelined batches, so adds are in flight on the bookies when they are fenced.
                var batch = new Task<long>[20];
                for (var i = 0; i < batch.Length; i++)
                    batch[i] = writer.AddEntryAsync(Payload(next + i)).AsTask();
                try
                {
                    await Task.WhenAll(batch);
                }
                finally
                {
                    foreach (var add in batch.Where(a => a.IsCompletedSuccessfully))
                        InterlockedMax(ref highestAcked, add.Result);
                }
                Assert.Equal(Enumerable.Range(0, batch.Length).Select(i => next + i), batch.Select(a => a.Result));
                if (next >= 600)
                    running.TrySetResult();
            }
        });
        await running.Task.WaitAsync(TimeSpan.FromSeconds(60));

        await using var clientB = new LedgerClient(cluster.Metadata);
        var ledger = await clientB.OpenLedgerAsync(writer.LedgerId, recovery: true);

        await Assert.ThrowsAsync<LedgerFencedException>(() => background.WaitAsync(TimeSpan.FromSeconds(60)));
        await Assert.ThrowsAsync<LedgerFencedException>(async () => await writer.AddEntryAsync(Payload(999_999)));
        await Assert.ThrowsAsync<LedgerFencedException>(() => writer.CloseAsync());
        Assert.True(ledger.IsClosed);
        Assert.True(ledger.LastAddConfirmed >= Interlocked.Read(ref highestAcked),
            $"recovery closed at {ledger.LastAddConfirmed}, but the writer saw entry {Interlocked.Read(ref highestAcked)} confirmed");
        var entries = await ReadAllAsync(ledger);
        Assert.Equal(ledger.LastAddConfirmed + 1, entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(i, entries[i].EntryId);
            Assert.Equal(Payload(i), entries[i].Payload.ToArray());
        }

        var reopened = await clientB.OpenLedgerAsync(writer.LedgerId);
        Assert.Equal(LedgerMetadata.Types.State.Closed, reopened.Metadata.State);
        Assert.Equal(ledger.LastAddConfirmed, reopened.Metadata.LastEntryId);
        Assert.Equal(Length(ledger.LastAddConfirmed), reopened.Metadata.Length);
    }

    [Fact]
    public async Task An_entry_that_reached_only_one_bookie_is_recovered_and_written_back_to_an_ack_quorum()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        long ledgerId;
        Google.Protobuf.Collections.RepeatedField<string> ensemble;
        await using (var clientA = new LedgerClient(cluster.Metadata))
        {
            var writer = await WriteAsync(clientA, 10);
            (ledgerId, ensemble) = (writer.LedgerId, writer.Metadata.Segments[0].Bookies);
        } // the writer dies: the ledger stays OPEN

        // Entry 10 reached just one bookie of its write set before the writer died.
        var schedule = new DistributionSchedule(3, 2, 2);
        var onlyCopy = ensemble[schedule.BookieIndex(10, 0)];
        var other = ensemble[schedule.BookieIndex(10, 1)];
        var payload = Encoding.UTF8.GetBytes("entry 10, on one bookie only");
        using (var call = cluster.Client(onlyCopy).AddEntries())
        {
            await call.RequestStream.WriteAsync(new AddRequest
            {
                LedgerId = ledgerId,
                EntryId = 10,
                LastAddConfirmed = 9,
                Payload = ByteString.CopyFrom(payload),
                Digest = LedgerDigest.Compute(ledgerId, 10, 9, payload),
            });
            await call.RequestStream.CompleteAsync();
            var responses = await call.ResponseStream.ReadAllAsync().ToListAsync();
            Assert.Equal(Code.Ok, Assert.Single(responses).Code);
        }
        Assert.Equal(Code.NoSuchEntry, (await cluster.Client(other).ReadEntryAsync(new ReadRequest { LedgerId = ledgerId, EntryId = 10 })).Code);

        await using var clientB = new LedgerClient(cluster.Metadata);
        var ledger = await clientB.OpenLedgerAsync(ledgerId, recovery: true);

        Assert.True(ledger.IsClosed);
        Assert.Equal(10, ledger.LastAddConfirmed);
        Assert.Equal(10, ledger.Metadata.LastEntryId);
        Assert.Equal(Length(9) + payload.Length, ledger.Metadata.Length);
        foreach (var bookieId in new[] { onlyCopy, other })
        {
            var response = await cluster.Client(bookieId).ReadEntryAsync(new ReadRequest { LedgerId = ledgerId, EntryId = 10 });
            Assert.Equal(Code.Ok, response.Code);
            Assert.Equal(payload, response.Payload.ToByteArray());
            Assert.True(LedgerDigest.Verify(ledgerId, 10, response.LastAddConfirmed, response.Payload.Span, response.Digest));
        }
        var entries = await ReadAllAsync(ledger);
        Assert.Equal(11, entries.Count);
        Assert.Equal(payload, entries[10].Payload.ToArray());
    }

    [Fact]
    public async Task Recovering_an_open_ledger_nobody_wrote_to_closes_it_empty()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        long ledgerId;
        await using (var clientA = new LedgerClient(cluster.Metadata))
            ledgerId = (await clientA.CreateLedgerAsync(3, 2, 2)).LedgerId;

        await using var clientB = new LedgerClient(cluster.Metadata);
        var ledger = await clientB.OpenLedgerAsync(ledgerId, recovery: true);

        Assert.True(ledger.IsClosed);
        Assert.Equal(-1, ledger.LastAddConfirmed);
        Assert.Equal(-1, ledger.Metadata.LastEntryId);
        Assert.Equal(0, ledger.Metadata.Length);
        Assert.Equal(LedgerMetadata.Types.State.Closed, (await clientB.OpenLedgerAsync(ledgerId)).Metadata.State);
    }

    [Fact]
    public async Task Opening_with_recovery_twice_returns_the_same_last_entry_the_second_time_from_the_closed_metadata()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        long ledgerId;
        await using (var clientA = new LedgerClient(cluster.Metadata))
            ledgerId = (await WriteAsync(clientA, 20)).LedgerId;

        await using var clientB = new LedgerClient(cluster.Metadata);
        var first = await clientB.OpenLedgerAsync(ledgerId, recovery: true);
        var second = await clientB.OpenLedgerAsync(ledgerId, recovery: true);

        Assert.Equal(19, first.LastAddConfirmed);
        Assert.Equal(first.LastAddConfirmed, second.LastAddConfirmed);
        Assert.True(second.IsClosed);
        Assert.Equal(first.Metadata, second.Metadata);
        Assert.Equal(Length(19), second.Metadata.Length);
    }

    [Fact]
    public async Task Recovery_resumes_a_ledger_left_in_recovery_by_a_recoverer_that_died()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        long ledgerId;
        await using (var clientA = new LedgerClient(cluster.Metadata))
            ledgerId = (await WriteAsync(clientA, 30)).LedgerId;
        var store = new LedgerMetadataStore(cluster.Metadata);
        var open = (await store.GetAsync(ledgerId))!;
        var inRecovery = open.Metadata.Clone();
        inRecovery.State = LedgerMetadata.Types.State.InRecovery;
        await store.UpdateAsync(open, inRecovery);

        await using var clientB = new LedgerClient(cluster.Metadata);
        var ledger = await clientB.OpenLedgerAsync(ledgerId, recovery: true);

        Assert.True(ledger.IsClosed);
        Assert.Equal(29, ledger.LastAddConfirmed);
        Assert.Equal(30, (await ReadAllAsync(ledger)).Count);
    }

    [Fact]
    public async Task A_writer_closing_a_ledger_a_recovering_reader_already_closed_gets_a_fenced_error_saying_so()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var clientA = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(clientA, 5);

        await using var clientB = new LedgerClient(cluster.Metadata);
        var ledger = await clientB.OpenLedgerAsync(writer.LedgerId, recovery: true);
        Assert.Equal(4, ledger.LastAddConfirmed);

        var error = await Assert.ThrowsAsync<LedgerFencedException>(() => writer.CloseAsync());
        Assert.Contains("closed it at entry 4", error.Message, StringComparison.Ordinal);
        Assert.Equal(writer.LedgerId, error.LedgerId);
    }

    [Fact]
    public async Task Recovery_fails_clearly_instead_of_guessing_when_too_few_bookies_can_be_fenced()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        long ledgerId;
        Google.Protobuf.Collections.RepeatedField<string> ensemble;
        await using (var clientA = new LedgerClient(cluster.Metadata))
        {
            var writer = await WriteAsync(clientA, 5);
            (ledgerId, ensemble) = (writer.LedgerId, writer.Metadata.Segments[0].Bookies);
        }
        await cluster.StopAsync(ensemble[0]);
        await cluster.StopAsync(ensemble[1]);

        await using var clientB = new LedgerClient(cluster.Metadata);
        var error = await Assert.ThrowsAsync<LedgerException>(() => clientB.OpenLedgerAsync(ledgerId, recovery: true));

        Assert.Contains($"Ledger {ledgerId} could not be recovered", error.Message, StringComparison.Ordinal);
        Assert.Equal(LedgerMetadata.Types.State.InRecovery, (await new LedgerMetadataStore(cluster.Metadata).GetAsync(ledgerId))!.Metadata.State);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
                return;
            current = seen;
        }
    }
}
