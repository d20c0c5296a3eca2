using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.ManagedLedgers;
using Tiered.Proto.Streams;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Bench.Micro;

/// <summary>
/// The read path of workloads 4 (fan-out) and 5 (catch-up), per entry or per message: a ledger reader's range read
/// (<see cref="LedgerReader.ReadAsync"/>), the managed ledger's read of cached entries and of entries it must fetch
/// (<see cref="ManagedLedger.ReadEntriesAsync"/>), and a cursor acknowledging every message of batch entries one by
/// one (<see cref="ManagedCursor.AckAsync"/>, as a consumer acknowledging each message does). The bookie is an
/// in-process stub holding entries in memory (its storage would dominate), the metadata an in-memory map;
/// ensemble 1, as the standalone. Figures include the stub's share (its responses and the in-process calls).
/// </summary>
[MemoryDiagnoser]
public class ReadPathBench
{
    private const int Entries = 100;
    private const int EntryBytes = 1024;
    private const int BatchMessages = 100;
    private readonly AckPosition[] _acks = new AckPosition[BatchMessages];
    private MemoryMetadata _metadata = null!;
    private LedgerClient _client = null!;
    private LedgerReader _reader = null!;
    private ManagedLedger _cached = null!;
    private ManagedLedger _uncached = null!;
    private ManagedCursor _cursor = null!;
    private Position _cachedFirst;
    private Position _uncachedFirst;
    private long _nextAcked;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _metadata = new MemoryMetadata();
        await _metadata.PutAsync(BookiePaths.AvailableKey("stub"), ReadOnlyMemory<byte>.Empty);
        var invoker = new InProcessCallInvoker(binder => BookieRpc.BindService(binder, new MemoryBookie()));
        _client = new LedgerClient(_metadata, new LedgerClientOptions { LocalBookies = new Dictionary<string, CallInvoker> { ["stub"] = invoker } });
        var payload = new byte[EntryBytes];
        Random.Shared.NextBytes(payload);

        var writer = await _client.CreateLedgerAsync(1, 1, 1);
        for (var i = 0; i < Entries; i++)
            await writer.AddEntryAsync(payload);
        await writer.CloseAsync();
        _reader = await _client.OpenLedgerAsync(writer.LedgerId);
        await writer.DisposeAsync();

        var options = new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1, EntryCacheMaxAge = TimeSpan.FromHours(1) };
        _cached = await ManagedLedger.OpenAsync("public/default/persistent/cached", _client, _metadata, options, NullLoggerFactory.Instance);
        _uncached = await ManagedLedger.OpenAsync("public/default/persistent/uncached", _client, _metadata, options with { EntryCacheBytes = 0 }, NullLoggerFactory.Instance);
        for (var i = 0; i < Entries; i++)
        {
            var cached = await _cached.AddEntryAsync(payload);
            var uncached = await _uncached.AddEntryAsync(payload);
            if (i == 0)
                (_cachedFirst, _uncachedFirst) = (cached, uncached);
        }
        _cursor = await _cached.OpenCursorAsync("acks", InitialPosition.Latest);
        _nextAcked = _cached.LastConfirmedEntry.EntryId + 1;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _cached.DisposeAsync();
        await _uncached.DisposeAsync();
        await _client.DisposeAsync();
    }

    /// <summary>A closed ledger's 100 entries of 1 KB through a ledger reader, digests verified.</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public async Task<long> LedgerReaderRange()
    {
        long bytes = 0;
        await foreach (var entry in _reader.ReadAsync(0, Entries - 1))
            bytes += entry.Payload.Length;
        return bytes;
    }

    /// <summary>100 entries still in the managed ledger's entry cache (a tailing subscription's read).</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public async Task<int> ManagedLedgerCachedRead() => (await _cached.ReadEntriesAsync(_cachedFirst, Entries)).Count;

    /// <summary>100 entries not cached: read from the bookie through the ledger being written (a subscription behind the cache).</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public async Task<int> ManagedLedgerBookieRead() => (await _uncached.ReadEntriesAsync(_uncachedFirst, Entries)).Count;

    /// <summary>Every message of a 100-message batch entry acknowledged one by one, in one acknowledgement (per message).</summary>
    [Benchmark(OperationsPerInvoke = BatchMessages)]
    public async Task CursorAckBatchMessages()
    {
        var position = new Position(_cachedFirst.LedgerId, _nextAcked++);
        for (var i = 0; i < BatchMessages; i++)
            _acks[i] = new AckPosition(position, i, BatchMessages);
        await _cursor.AckAsync(_acks);
    }

    /// <summary>A bookie that keeps entries in memory and serves them by single reads and range streams.</summary>
    private sealed class MemoryBookie : BookieRpc.BookieBase
    {
        private readonly ConcurrentDictionary<(long, long), AddRequest> _entries = new();

        public override async Task AddEntries(IAsyncStreamReader<AddRequest> requestStream, IServerStreamWriter<AddResponse> responseStream, ServerCallContext context)
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                _entries[(request.LedgerId, request.EntryId)] = request;
                await responseStream.WriteAsync(new AddResponse { LedgerId = request.LedgerId, EntryId = request.EntryId, Code = Code.Ok });
            }
        }

        public override Task<ReadResponse> ReadEntry(ReadRequest request, ServerCallContext context) => Task.FromResult(Read(request.LedgerId, request.EntryId));

        public override async Task ReadRange(ReadRangeRequest request, IServerStreamWriter<ReadResponse> responseStream, ServerCallContext context)
        {
            for (var entryId = request.FirstEntryId; entryId <= request.LastEntryId; entryId++)
                await responseStream.WriteAsync(Read(request.LedgerId, entryId), context.CancellationToken);
        }

        public override Task<ReadLacResponse> ReadLac(ReadLacRequest request, ServerCallContext context)
        {
            var last = _entries.Keys.Where(k => k.Item1 == request.LedgerId).Select(k => k.Item2).DefaultIfEmpty(-1).Max();
            return Task.FromResult(new ReadLacResponse { Code = Code.Ok, LastAddConfirmed = last, LastEntryId = last });
        }

        private ReadResponse Read(long ledgerId, long entryId) => _entries.TryGetValue((ledgerId, entryId), out var stored)
            ? new ReadResponse { Code = Code.Ok, LedgerId = ledgerId, EntryId = entryId, LastAddConfirmed = stored.LastAddConfirmed, Digest = stored.Digest, Payload = stored.Payload }
            : new ReadResponse { Code = Code.NoSuchEntry, LedgerId = ledgerId, EntryId = entryId };
    }
}
