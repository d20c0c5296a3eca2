using System.Collections.Concurrent;
using System.Text;
using Tiered.Bookie.V1;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>The ledger client against real in-process bookies and metadata service.</summary>
public sealed class LedgerClientTests
{
    [Fact]
    public async Task Pipelined_adds_are_confirmed_in_order_and_a_closed_ledger_reads_back_byte_for_byte()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        const int Entries = 2000;
        long ledgerId;
        await using (var client = new LedgerClient(cluster.Metadata))
        {
            var writer = await client.CreateLedgerAsync(3, 2, 2);
            var adds = new Task<long>[Entries];
            var completionOrder = new ConcurrentQueue<int>();
            var outOfOrder = 0;
            for (var i = 0; i < Entries; i++)
            {
                adds[i] = writer.AddEntryAsync(Payload(i)).AsTask();
                var index = i;
                // Runs as the add completes: every earlier add must already be complete.
                _ = adds[i].ContinueWith(_ =>
                {
                    if (index > 0 && !adds[index - 1].IsCompleted)
                        Interlocked.Increment(ref outOfOrder);
                    completionOrder.Enqueue(index);
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            var ids = await Task.WhenAll(adds);

            Assert.Equal(Enumerable.Range(0, Entries).Select(i => (long)i), ids);
            Assert.Equal(0, outOfOrder);
            Assert.Equal(Entries - 1, writer.LastAddConfirmed);
            await writer.CloseAsync();
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.AddEntryAsync(Payload(0)));
            ledgerId = writer.LedgerId;
        }

        await using var reader = new LedgerClient(cluster.Metadata);
        var ledger = await reader.OpenLedgerAsync(ledgerId);
        Assert.True(ledger.IsClosed);
        Assert.Equal(Entries - 1, ledger.LastAddConfirmed);
        Assert.Equal(LedgerMetadata.Types.State.Closed, ledger.Metadata.State);
        Assert.Equal(Entries - 1, ledger.Metadata.LastEntryId);
        Assert.Equal(Enumerable.Range(0, Entries).Sum(i => (long)Payload(i).Length), ledger.Metadata.Length);
        AssertEntries(Entries, await ReadAllAsync(ledger));
    }

    [Fact]
    public async Task Every_entry_is_stored_on_exactly_the_bookies_of_its_write_set()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(client, 12);
        await writer.CloseAsync();
        var ensemble = writer.Metadata.Segments[0].Bookies;
        var schedule = new DistributionSchedule(3, 2, 2);

        for (long entryId = 0; entryId < 6; entryId++)
        {
            for (var position = 0; position < ensemble.Count; position++)
            {
                var response = await cluster.Client(ensemble[position]).ReadEntryAsync(new ReadRequest { LedgerId = writer.LedgerId, EntryId = entryId });
                if (schedule.Stores(entryId, position))
                {
                    Assert.Equal(Code.Ok, response.Code);
                    Assert.Equal(Payload(entryId), response.Payload.ToByteArray());
                    Assert.True(LedgerDigest.Verify(writer.LedgerId, entryId, response.LastAddConfirmed, response.Payload.Span, response.Digest));
                }
                else
                {
                    Assert.Equal(Code.NoSuchEntry, response.Code);
                }
            }
        }
    }

    [Fact]
    public async Task Reads_are_served_by_the_other_replica_when_a_bookie_is_stopped()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        const int Entries = 300;
        var writer = await WriteAsync(client, Entries);
        await writer.CloseAsync();

        await cluster.StopAsync(writer.Metadata.Segments[0].Bookies[1]);

        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        AssertEntries(Entries, await ReadAllAsync(ledger));
    }

    [Fact]
    public async Task A_replica_returning_an_entry_that_fails_its_digest_is_skipped_for_the_next()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        const int Entries = 60;
        var writer = await WriteAsync(client, Entries);
        await writer.CloseAsync();
        var corrupt = writer.Metadata.Segments[0].Bookies[0];
        var corrupted = 0;

        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        // Corruption at rest on one bookie: flip a payload byte in everything it serves.
        ledger.ResponseInterceptor = (bookieId, response) =>
        {
            if (bookieId != corrupt || response.Code != Code.Ok)
                return response;
            Interlocked.Increment(ref corrupted);
            var bytes = response.Payload.ToByteArray();
            bytes[0] ^= 0xFF;
            var flipped = response.Clone();
            flipped.Payload = Google.Protobuf.ByteString.CopyFrom(bytes);
            return flipped;
        };

        AssertEntries(Entries, await ReadAllAsync(ledger));
        Assert.True(corrupted > 0, "the corrupt bookie was never read first, so the fallback was not exercised");
    }

    [Fact]
    public async Task An_entry_no_replica_can_serve_intact_fails_with_the_bookies_tried()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(client, 5);
        await writer.CloseAsync();
        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        ledger.ResponseInterceptor = (_, response) => { var r = response.Clone(); r.Digest ^= 1; return r; };

        var error = await Assert.ThrowsAsync<LedgerException>(() => ledger.ReadEntryAsync(3));
        Assert.Contains($"Entry {writer.LedgerId}:3", error.Message, StringComparison.Ordinal);
        Assert.Contains("digest mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_its_bookies_are_fenced_the_writers_next_add_fails_with_a_fenced_error()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(client, 10);

        foreach (var bookieId in writer.Metadata.Segments[0].Bookies)
            Assert.Equal(Code.Ok, (await cluster.Client(bookieId).FenceAsync(new FenceRequest { LedgerId = writer.LedgerId })).Code);

        var fenced = await Assert.ThrowsAsync<LedgerFencedException>(async () => await writer.AddEntryAsync(Payload(10)));
        Assert.Contains($"ledger {writer.LedgerId} was fenced by a recovering reader", fenced.Message, StringComparison.OrdinalIgnoreCase);
        await Assert.ThrowsAsync<LedgerFencedException>(async () => await writer.AddEntryAsync(Payload(11)));
        Assert.Equal(9, writer.LastAddConfirmed);
    }

    [Fact]
    public async Task When_a_bookie_of_the_ensemble_stops_and_no_spare_bookie_exists_the_writers_adds_fail_naming_that_bookie()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(client, 10);
        var stopped = writer.Metadata.Segments[0].Bookies[2];

        await cluster.StopAsync(stopped);

        // Three bookies only: there is no replacement for an ensemble change, so an add whose write
        // set includes the stopped bookie fails, and so does every later one (confirmed in order).
        var error = await Assert.ThrowsAsync<LedgerException>(async () =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            for (var i = 10; DateTime.UtcNow < deadline; i++)
                await writer.AddEntryAsync(Payload(i));
        });
        Assert.Contains($"Bookie {stopped}", error.Message, StringComparison.Ordinal);
        Assert.Contains("no replacement bookie is available", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<LedgerException>(async () => await writer.AddEntryAsync(Payload(99)));
        Assert.True(writer.LastAddConfirmed >= 9);
    }

    [Fact]
    public async Task An_add_a_bookie_never_answers_fails_after_the_add_timeout_naming_that_bookie()
    {
        await using var cluster = await BookieCluster.StartAsync(2);
        // A "bookie" that accepts connections and never says a word.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var silentId = $"127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}";
        await cluster.Metadata.PutAsync($"{BookiePaths.Available}/{silentId}", Encoding.UTF8.GetBytes(silentId));
        await using var client = new LedgerClient(cluster.Metadata, new LedgerClientOptions { AddTimeout = TimeSpan.FromSeconds(1) });
        var writer = await client.CreateLedgerAsync(3, 3, 2);

        // Qa=2 of Qw=3: the two real bookies confirm the entry, the silent one stalls nothing.
        Assert.Equal(0, await writer.AddEntryAsync(Payload(0)));
        writer = await client.CreateLedgerAsync(3, 3, 3);
        var error = await Assert.ThrowsAsync<LedgerException>(async () => await writer.AddEntryAsync(Payload(0)).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"Bookie {silentId}", error.Message, StringComparison.Ordinal);
        Assert.Contains("add timeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_and_oversize_entries_are_refused_before_anything_is_sent()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await client.CreateLedgerAsync(3, 2, 2);

        var empty = await Assert.ThrowsAsync<ArgumentException>(async () => await writer.AddEntryAsync(ReadOnlyMemory<byte>.Empty));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);
        var oversize = await Assert.ThrowsAsync<ArgumentException>(async () => await writer.AddEntryAsync(new byte[(5 * 1024 * 1024) + 1]));
        Assert.Contains("5 MiB", oversize.Message, StringComparison.Ordinal);

        // Nothing was assigned an id or stored: the first valid add is entry 0 and the bookies have nothing else.
        Assert.Equal(0, await writer.AddEntryAsync(Payload(0)));
        Assert.Equal(1, await writer.AddEntryAsync(new byte[1024 * 1024]));
        foreach (var bookieId in writer.Metadata.Segments[0].Bookies)
        {
            var lac = await cluster.Client(bookieId).ReadLacAsync(new ReadLacRequest { LedgerId = writer.LedgerId, PreviousLac = -2 });
            Assert.True(lac.LastEntryId <= 1);
        }
    }

    [Fact]
    public async Task Opening_an_unknown_ledger_and_reading_past_the_last_add_confirmed_fail_clearly()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);

        var unknown = await Assert.ThrowsAsync<LedgerNotFoundException>(() => client.OpenLedgerAsync(987_654));
        Assert.Contains("Ledger 987654 does not exist", unknown.Message, StringComparison.Ordinal);

        var writer = await WriteAsync(client, 5);
        await writer.CloseAsync();
        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        var past = Assert.Throws<ArgumentOutOfRangeException>(() => ledger.ReadAsync(0, 5));
        Assert.Contains("up to entry 4", past.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.ReadAsync(-1, 2));
    }

    [Fact]
    public async Task An_open_ledger_is_readable_up_to_the_last_add_confirmed_its_bookies_report()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(client, 50);
        // Entries carry the LAC of when they were sent: the 50 pipelined ones all carried -1, this one carries 49.
        Assert.Equal(50, await writer.AddEntryAsync(Payload(50)));

        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        Assert.False(ledger.IsClosed);
        Assert.Equal(49, ledger.LastAddConfirmed);
        AssertEntries(50, await ReadAllAsync(ledger));
        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.ReadAsync(0, 50));
    }

    [Fact]
    public async Task A_deleted_ledger_is_gone_from_the_metadata_and_from_its_bookies()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(client, 20);
        await writer.CloseAsync();

        Assert.True(await client.DeleteLedgerAsync(writer.LedgerId));

        await Assert.ThrowsAsync<LedgerNotFoundException>(() => client.OpenLedgerAsync(writer.LedgerId));
        foreach (var bookieId in writer.Metadata.Segments[0].Bookies)
        {
            var response = await cluster.Client(bookieId).ReadEntryAsync(new ReadRequest { LedgerId = writer.LedgerId, EntryId = 0 });
            Assert.NotEqual(Code.Ok, response.Code);
        }
        Assert.False(await client.DeleteLedgerAsync(writer.LedgerId));
    }

    [Fact]
    public async Task The_writer_reads_its_own_confirmed_entries_while_the_ledger_is_open()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var writer = await WriteAsync(client, 30);

        var reader = writer.CreateReader();

        Assert.False(reader.IsClosed);
        Assert.Equal(29, reader.LastAddConfirmed);
        AssertEntries(30, await ReadAllAsync(reader));
        Assert.Equal(30, await writer.AddEntryAsync(Payload(30)));
        Assert.Equal(30, writer.CreateReader().LastAddConfirmed);
        Assert.True(writer.MaxPendingAdds > 0);
    }

    [Fact]
    public async Task Callback_adds_hear_in_entry_order_and_a_closed_writer_refuses_them_through_the_callback()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata, new LedgerClientOptions { MaxPendingAdds = 500 });
        var writer = await client.CreateLedgerAsync(3, 2, 2);
        const int Entries = 500;
        var heard = new RecordingCallback(Entries);
        for (var i = 0; i < Entries; i++)
            writer.AddEntry(EntryPayload.Of(Payload(i)), heard);
        await heard.All.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, Entries).Select(i => ((long)i, (Exception?)null)), heard.Outcomes);
        await writer.CloseAsync();

        var refused = new RecordingCallback(1);
        writer.AddEntry(EntryPayload.Of(Payload(Entries)), refused);
        await refused.All.WaitAsync(TimeSpan.FromSeconds(30));
        var (entryId, error) = Assert.Single(refused.Outcomes);
        Assert.Equal(-1, entryId);
        Assert.IsType<InvalidOperationException>(error);
        AssertEntries(Entries, await ReadAllAsync(await client.OpenLedgerAsync(writer.LedgerId)));
    }

    private sealed class RecordingCallback(int expected) : ILedgerAddCallback
    {
        private readonly ConcurrentQueue<(long, Exception?)> _outcomes = new();
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task All => _all.Task;

        public IEnumerable<(long EntryId, Exception? Error)> Outcomes => _outcomes;

        public void AddCompleted(long entryId, Exception? error)
        {
            _outcomes.Enqueue((entryId, error));
            if (_outcomes.Count == expected)
                _all.TrySetResult();
        }
    }
}
