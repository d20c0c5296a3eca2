using System.Collections.Concurrent;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>Ledgers on real `tiered bookie` processes: one killed with SIGKILL mid-write, one with its entry log corrupted on disk.</summary>
public sealed class LedgerCrashTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private static byte[] Payload(long entryId) => System.Text.Encoding.UTF8.GetBytes($"entry {entryId:D6} " + new string((char)('a' + entryId % 26), (int)(entryId % 500)));

    private sealed class Bookies(MetadataCluster metadata) : IDisposable
    {
        private readonly List<(string Id, string DataDir, TieredProcess? Process)> _bookies = [];

        public IReadOnlyList<string> Ids => [.. _bookies.Select(b => b.Id)];

        public string DataDir(string id) => _bookies.Single(b => b.Id == id).DataDir;

        public TieredProcess Process(string id) => _bookies.Single(b => b.Id == id).Process!;

        public async Task StartAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var id = $"127.0.0.1:{TieredProcess.FreePort()}";
                _bookies.Add((id, Path.Combine(metadata.DataRoot, $"bookie-{_bookies.Count}"), null));
            }
            await Task.WhenAll(_bookies.Select(b => b.Id).ToList().Select(RestartAsync));
        }

        public async Task RestartAsync(string id)
        {
            var index = _bookies.FindIndex(b => b.Id == id);
            var process = await TieredProcess.StartAsync("listening on", StartTimeout,
                "bookie", "--metadata", string.Join(',', metadata.Addresses), "--listen", id, "--data-dir", _bookies[index].DataDir, "--log-level", "Warning");
            lock (_bookies)
                _bookies[index] = _bookies[index] with { Process = process };
        }

        public void Dispose()
        {
            foreach (var b in _bookies)
                b.Process?.Dispose();
        }
    }

    [Fact]
    public async Task Killing_a_bookie_halfway_through_10000_adds_loses_no_acknowledged_entry()
    {
        await using var metadata = await MetadataCluster.StartAsync(1);
        await metadata.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        using var bookies = new Bookies(metadata);
        await bookies.StartAsync(4);
        await using var client = new LedgerClient(metadata.Client);
        var writer = await client.CreateLedgerAsync(3, 2, 2);
        var ensemble = writer.Metadata.Segments[0].Bookies.ToList();

        const int Entries = 10_000;
        var acknowledged = new ConcurrentDictionary<long, long>(); // entry id → id returned
        using var window = new SemaphoreSlim(500);
        var adds = new List<Task>(Entries);
        for (long i = 0; i < Entries; i++)
        {
            await window.WaitAsync();
            if (i == Entries / 2)
            {
                var victim = ensemble[1];
                bookies.Process(victim).Kill();
                output.WriteLine($"killed bookie {victim} after {acknowledged.Count} acknowledged adds");
            }
            // Called in order, so entry i gets id i; the awaits run concurrently.
            adds.Add(RecordAsync(i, writer.AddEntryAsync(Payload(i)).AsTask()));
        }
        await Task.WhenAll(adds);
        await writer.CloseAsync();

        async Task RecordAsync(long expected, Task<long> add)
        {
            try
            {
                acknowledged[expected] = await add;
            }
            finally
            {
                window.Release();
            }
        }

        Assert.Equal(Entries, acknowledged.Count);
        Assert.All(acknowledged, a => Assert.Equal(a.Key, a.Value));
        var reader = await new LedgerClient(metadata.Client).OpenLedgerAsync(writer.LedgerId);
        Assert.True(reader.Metadata.Segments.Count >= 2, "the writer should have replaced the killed bookie");
        Assert.DoesNotContain(ensemble[1], reader.Metadata.Segments[^1].Bookies);
        var next = 0L;
        await foreach (var entry in reader.ReadAsync(0, Entries - 1))
        {
            Assert.Equal(next, entry.EntryId);
            Assert.Equal(Payload(next), entry.Payload.ToArray());
            next++;
        }
        Assert.Equal(Entries, next);
    }

    [Fact]
    public async Task Bytes_flipped_in_an_entry_log_are_caught_by_the_digest_and_read_from_another_replica()
    {
        await using var metadata = await MetadataCluster.StartAsync(1);
        await metadata.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        using var bookies = new Bookies(metadata);
        await bookies.StartAsync(3);
        await using var client = new LedgerClient(metadata.Client);
        var writer = await client.CreateLedgerAsync(3, 2, 2);
        const int Entries = 600;
        for (long i = 0; i < Entries; i++)
            await writer.AddEntryAsync(Payload(i));
        await writer.CloseAsync();

        // Stop one bookie cleanly (its cache goes to the entry log), flip payload bytes on disk, restart it.
        var victim = bookies.Ids[0];
        await bookies.Process(victim).StopAsync(TimeSpan.FromSeconds(30));
        var log = Directory.GetFiles(Path.Combine(bookies.DataDir(victim), "entry-logs"), "*.log").OrderByDescending(f => new FileInfo(f).Length).First();
        var bytes = await File.ReadAllBytesAsync(log);
        var flipped = 0;
        for (var offset = 4096; offset < bytes.Length - 64; offset += 997)
        {
            if (bytes[offset] is >= (byte)'a' and <= (byte)'z') // payload filler, not a record header
            {
                bytes[offset] ^= 0x20;
                flipped++;
            }
        }
        Assert.True(flipped > 10, $"only {flipped} bytes could be flipped in {log}");
        await File.WriteAllBytesAsync(log, bytes);
        await bookies.RestartAsync(victim);

        // The corrupted bookie serves entries whose digest no longer matches...
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://{victim}");
        var raw = new Tiered.Bookie.V1.Bookie.BookieClient(channel);
        var corrupted = 0;
        for (long e = 0; e < Entries; e++)
        {
            var response = await raw.ReadEntryAsync(new ReadRequest { LedgerId = writer.LedgerId, EntryId = e });
            if (response.Code == Code.Ok && !LedgerDigest.Verify(writer.LedgerId, e, response.LastAddConfirmed, response.Payload.Span, response.Digest))
                corrupted++;
        }
        output.WriteLine($"{flipped} bytes flipped, {corrupted} entries on {victim} fail their digest");
        Assert.True(corrupted > 0);

        // ...and the reader still returns every entry intact, from the other replica.
        var reader = await new LedgerClient(metadata.Client).OpenLedgerAsync(writer.LedgerId);
        var next = 0L;
        await foreach (var entry in reader.ReadAsync(0, Entries - 1))
        {
            Assert.Equal(Payload(next), entry.Payload.ToArray());
            next++;
        }
        Assert.Equal(Entries, next);
    }
}
