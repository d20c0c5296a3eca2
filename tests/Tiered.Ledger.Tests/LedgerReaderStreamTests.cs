using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Tiered.Bookie.V1;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>
/// Range reads where every bookie of the ensemble holds every entry: one ReadRange stream per run of entries rather
/// than one call per entry, and a replica that serves an entry damaged replaced entry by entry. Real in-process
/// bookies; the calls each bookie receives are counted on the way in.
/// </summary>
public sealed class LedgerReaderStreamTests
{
    [Fact]
    public async Task A_mirrored_ensembles_range_is_read_as_one_stream_per_run_not_one_call_per_entry()
    {
        await using var cluster = await BookieCluster.StartAsync(2);
        var calls = new CallCounter();
        await using var client = new LedgerClient(cluster.Metadata, new LedgerClientOptions { LocalBookies = calls.Wrap(cluster.LocalBookies) });
        const int Entries = 600;
        var writer = await WriteAsync(client, Entries, e: 2, qw: 2, qa: 2);
        await writer.CloseAsync();
        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        calls.Clear();

        AssertEntries(Entries, await ReadAllAsync(ledger));

        var streams = (Entries + LedgerReader.MaxStreamedEntries - 1) / LedgerReader.MaxStreamedEntries;
        Assert.Equal(streams, calls.Count("ReadRange"));
        Assert.Equal(0, calls.Count("ReadEntry"));
    }

    [Fact]
    public async Task A_streamed_replica_serving_a_damaged_entry_is_replaced_for_that_entry_and_the_rest_of_its_run()
    {
        await using var cluster = await BookieCluster.StartAsync(2);
        var calls = new CallCounter();
        await using var client = new LedgerClient(cluster.Metadata, new LedgerClientOptions { LocalBookies = calls.Wrap(cluster.LocalBookies) });
        const int Entries = 300;
        var writer = await WriteAsync(client, Entries, e: 2, qw: 2, qa: 2);
        await writer.CloseAsync();
        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        // The first run streams from the first bookie of entry 0's write set; it holds entry 10 damaged at rest.
        var damaged = writer.Metadata.Segments[0].Bookies[0];
        var served = 0;
        ledger.ResponseInterceptor = (bookieId, response) =>
        {
            if (bookieId != damaged || response.EntryId != 10 || response.Code != Code.Ok)
                return response;
            Interlocked.Increment(ref served);
            var flipped = response.Clone();
            flipped.Digest ^= 1;
            return flipped;
        };
        calls.Clear();

        AssertEntries(Entries, await ReadAllAsync(ledger));

        Assert.True(served >= 2, $"the damaged entry was served {served} time(s): once by the stream, once more by the entry-by-entry retry");
        // Entries 10 … 255 one call each (the first tries the damaged replica, then the other), the next run streamed again.
        Assert.Equal(LedgerReader.MaxStreamedEntries - 10 + 1, calls.Count("ReadEntry"));
        Assert.Equal(2, calls.Count("ReadRange"));
    }

    /// <summary>Counts the calls each wrapped bookie receives, by method name.</summary>
    private sealed class CallCounter : Interceptor
    {
        private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, CallInvoker> Wrap(IReadOnlyDictionary<string, CallInvoker> bookies)
            => bookies.ToDictionary(b => b.Key, b => b.Value.Intercept(this));

        public int Count(string method) => _calls.GetValueOrDefault(method);

        public void Clear() => _calls.Clear();

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            _calls.AddOrUpdate(context.Method.Name, 1, (_, n) => n + 1);
            return continuation(request, context);
        }

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            _calls.AddOrUpdate(context.Method.Name, 1, (_, n) => n + 1);
            return continuation(request, context);
        }
    }
}
