using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>
/// A crashed bookie stays registered until its session expires, so new ledgers may still be
/// placed on it: the writer's stream to it fails within a millisecond of being opened.
/// </summary>
public sealed class DeadBookieTests
{
    private static string DeadBookie() => $"127.0.0.1:{BookieCluster.FreePort()}";

    private static Task RegisterAsync(BookieCluster cluster, string bookieId)
        => cluster.Metadata.PutAsync($"{BookiePaths.Available}/{bookieId}", System.Text.Encoding.UTF8.GetBytes(bookieId)).AsTask();

    [Fact]
    public async Task A_stream_to_a_dead_bookie_that_fails_while_the_writer_is_still_being_built_is_replaced_and_the_add_succeeds()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        var dead = DeadBookie();
        await RegisterAsync(cluster, dead);
        var live = cluster.BookieIds;
        var failureSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Position 1 is opened only once the dead bookie's failure at position 0 was reported (or
        // after 3 s, when nothing reports it while the writer is being built, as it should be): the
        // writer is caught half built, positions 1 and 2 still empty, exactly when that failure arrives.
        var options = new LedgerClientOptions
        {
            LocalBookies = new Dictionary<string, CallInvoker> { [live[0]] = new HeldInvoker(cluster.LocalBookies[live[0]], failureSeen.Task) },
        };
        var ledgers = new LedgerMetadataStore(cluster.Metadata);
        var created = await ledgers.CreateAsync(new DistributionSchedule(3, 2, 2), [dead, live[0], live[1]]);
        await using var addresses = new BookieAddressBook(cluster.Metadata, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var pool = new BookieClientPool(options, addresses);
        var writer = new LedgerWriter(created, ledgers, pool, options, new FailureLogger(failureSeen));
        await using (writer)
        {
            // Before the fix the failure's ensemble change read the half-built ensemble, threw, and
            // left the writer "changing" for ever: this add never completed.
            Assert.Equal(0, await writer.AddEntryAsync(Payload(0)).AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(1, await writer.AddEntryAsync(Payload(1)).AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.DoesNotContain(dead, writer.Metadata.Segments[^1].Bookies);
        }
    }

    [Fact]
    public async Task A_bookie_that_failed_a_writer_is_left_out_of_new_ledgers_while_others_are_available()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        var dead = DeadBookie();
        await RegisterAsync(cluster, dead);
        await using var client = new LedgerClient(cluster.Metadata);

        // Until one of this client's writers saw it fail, the dead bookie is chosen like any other.
        LedgerWriter? onDead = null;
        for (var i = 0; i < 50 && onDead is null; i++)
        {
            var writer = await client.CreateLedgerAsync(3, 2, 2);
            if (writer.Metadata.Segments[0].Bookies.Contains(dead))
                onDead = writer;
            else
                await writer.CloseAsync();
        }
        Assert.NotNull(onDead);
        for (var i = 0; i < 3; i++)
            Assert.Equal(i, await onDead.AddEntryAsync(Payload(i)).AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.DoesNotContain(dead, onDead.Metadata.Segments[^1].Bookies);

        // Now it is in quarantine: 3 of the 4 live bookies are always enough (without the
        // quarantine 20 ledgers of 3 out of 5 would miss it with probability (2/5)^20).
        for (var i = 0; i < 20; i++)
        {
            var writer = await client.CreateLedgerAsync(3, 2, 2);
            Assert.DoesNotContain(dead, writer.Metadata.Segments[0].Bookies);
            await writer.CloseAsync();
        }
        // With no other choice a quarantined bookie is still used: placement never fails because of it.
        var all = await client.CreateLedgerAsync(5, 2, 2);
        Assert.Contains(dead, all.Metadata.Segments[0].Bookies);
    }

    [Fact]
    public async Task An_unexpected_error_while_replacing_a_failed_bookie_fails_the_writer_instead_of_wedging_it()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        var dead = DeadBookie();
        await RegisterAsync(cluster, dead);
        var live = cluster.BookieIds;
        var created = await new LedgerMetadataStore(cluster.Metadata).CreateAsync(new DistributionSchedule(3, 2, 2), [live[0], live[1], dead]);
        var options = new LedgerClientOptions();
        await using var addresses = new BookieAddressBook(cluster.Metadata, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var pool = new BookieClientPool(options, addresses);
        // Listing the bookies for a replacement throws something no one expected.
        var ledgers = new LedgerMetadataStore(new BrokenListing(cluster.Metadata));
        await using var writer = new LedgerWriter(created, ledgers, pool, options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        // Entry 1 goes to positions 1 and 2: it needs the dead bookie. Before the fix the error
        // escaped the ensemble change, which never ended, and this add never completed.
        var failed = await Assert.ThrowsAsync<LedgerException>(async () =>
        {
            for (var i = 0; i < 3; i++)
                await writer.AddEntryAsync(Payload(i)).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        });
        Assert.Contains("unexpectedly", failed.Message);
        await Assert.ThrowsAsync<LedgerException>(async () => await writer.AddEntryAsync(Payload(9)).AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
    }

    /// <summary>A metadata store whose listing of available bookies fails with an error of an unexpected kind.</summary>
    private sealed class BrokenListing(Tiered.Metadata.IMetadataStore inner) : Tiered.Metadata.IMetadataStore
    {
        public ValueTask<Tiered.Metadata.V1.KeyValue?> GetAsync(string key, Tiered.Metadata.ReadConsistency consistency, CancellationToken cancellationToken) => inner.GetAsync(key, consistency, cancellationToken);

        public ValueTask<Tiered.Metadata.V1.KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion, long sessionId, CancellationToken cancellationToken) => inner.PutAsync(key, value, expectedVersion, sessionId, cancellationToken);

        public ValueTask<bool> DeleteAsync(string key, long? expectedVersion, CancellationToken cancellationToken) => inner.DeleteAsync(key, expectedVersion, cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, Tiered.Metadata.ReadConsistency consistency, CancellationToken cancellationToken)
            => path == BookiePaths.Available ? throw new FormatException("a bookie id that does not parse") : inner.ListChildrenAsync(path, consistency, cancellationToken);

        public ValueTask<IReadOnlyList<Tiered.Metadata.V1.KeyValue>> ListAsync(string prefix, Tiered.Metadata.ReadConsistency consistency, CancellationToken cancellationToken) => inner.ListAsync(prefix, consistency, cancellationToken);

        public ValueTask<Tiered.Metadata.V1.TxnResponse> TxnAsync(Tiered.Metadata.V1.TxnRequest request, CancellationToken cancellationToken) => inner.TxnAsync(request, cancellationToken);

        public IAsyncEnumerable<Tiered.Metadata.V1.WatchEvent> WatchAsync(string prefix, long fromRevision, CancellationToken cancellationToken) => inner.WatchAsync(prefix, fromRevision, cancellationToken);

        public ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken) => inner.CreateSessionAsync(ttl, cancellationToken);

        public ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken) => inner.KeepAliveAsync(sessionId, cancellationToken);

        public ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken) => inner.CloseSessionAsync(sessionId, cancellationToken);

        public ValueTask<long> NextIdAsync(string name, int count, CancellationToken cancellationToken) => inner.NextIdAsync(name, count, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Holds the opening of add streams until <paramref name="release"/> completes (at most 3 s), then passes calls through.</summary>
    private sealed class HeldInvoker(CallInvoker inner, Task release) : CallInvoker
    {
        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        {
            if (release.Wait(TimeSpan.FromSeconds(3)))
                Thread.Sleep(200); // widens the window in which the old code read the half-built ensemble
            return inner.AsyncDuplexStreamingCall(method, host, options);
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => inner.BlockingUnaryCall(method, host, options, request);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => inner.AsyncUnaryCall(method, host, options, request);

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => inner.AsyncServerStreamingCall(method, host, options, request);

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
            => inner.AsyncClientStreamingCall(method, host, options);
    }

    /// <summary>Completes <paramref name="seen"/> when the writer logs a failed bookie (event 302).</summary>
    private sealed class FailureLogger(TaskCompletionSource seen) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 302)
                seen.TrySetResult();
        }
    }
}
