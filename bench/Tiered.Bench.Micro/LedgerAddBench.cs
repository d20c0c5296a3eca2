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
/// The write path between the broker's managed ledger and the bookies: <see cref="ManagedLedger.AddEntryAsync(ReadOnlyMemory{byte}, CancellationToken)"/>
/// and <see cref="LedgerWriter.AddEntryAsync"/>, 1,000 adds of 100 B in flight at a time (as workload 1). To isolate
/// that code, the bookie is an in-process stub that acknowledges every add at once (no journal, no fsync: a real
/// bookie's storage would dominate) and the metadata is an in-memory map; ensemble 1, as the standalone. Figures
/// are per add and include the stub's share (one AddResponse per add and the in-process stream).
/// </summary>
[MemoryDiagnoser]
public class LedgerAddBench
{
    private const int InFlight = 1000;
    private readonly byte[][] _payloads = new byte[InFlight][];
    private readonly ValueTask<long>[] _writerAdds = new ValueTask<long>[InFlight];
    private readonly ValueTask<Position>[] _ledgerAdds = new ValueTask<Position>[InFlight];
    private MemoryMetadata _metadata = null!;
    private LedgerClient _client = null!;
    private LedgerWriter _writer = null!;
    private ManagedLedger _ledger = null!;
    private ManagedLedger _unreadLedger = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        for (var i = 0; i < InFlight; i++)
            _payloads[i] = new byte[100];
        _metadata = new MemoryMetadata();
        await _metadata.PutAsync(BookiePaths.AvailableKey("stub"), ReadOnlyMemory<byte>.Empty);
        var invoker = new InProcessCallInvoker(binder => BookieRpc.BindService(binder, new AckingBookie()));
        _client = new LedgerClient(_metadata, new LedgerClientOptions { LocalBookies = new Dictionary<string, CallInvoker> { ["stub"] = invoker } });
        _writer = await _client.CreateLedgerAsync(1, 1, 1);
        _ledger = await ManagedLedger.OpenAsync("public/default/persistent/bench", _client, _metadata,
            new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1, MaxEntriesPerLedger = long.MaxValue, MaxSizePerLedger = long.MaxValue, EntryCacheBytes = 0 },
            NullLoggerFactory.Instance);
        // Workload 1 of bench/compare: the entry cache on (its default 64 MiB) and one subscription that never reads.
        _unreadLedger = await ManagedLedger.OpenAsync("public/default/persistent/bench-unread", _client, _metadata,
            new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1, MaxEntriesPerLedger = long.MaxValue, MaxSizePerLedger = long.MaxValue },
            NullLoggerFactory.Instance);
        await _unreadLedger.OpenCursorAsync("unread", InitialPosition.Latest);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _ledger.DisposeAsync();
        await _unreadLedger.DisposeAsync();
        await _writer.DisposeAsync();
        await _client.DisposeAsync();
    }

    /// <summary>One ledger writer's adds, awaited in order.</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task<long> LedgerWriterAdd()
    {
        for (var i = 0; i < InFlight; i++)
#pragma warning disable CA2012 // each is awaited once, below
            _writerAdds[i] = _writer.AddEntryAsync(_payloads[i]);
#pragma warning restore CA2012
        long last = 0;
        for (var i = 0; i < InFlight; i++)
            last = await _writerAdds[i];
        return last;
    }

    /// <summary>The managed ledger's adds (over its current ledger's writer), awaited in order.</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public Task<long> ManagedLedgerAdd() => AddAllAsync(_ledger);

    /// <summary>
    /// The same with the entry cache on and a subscription nobody reads: whether a confirmed add is copied into the
    /// cache (it is not, without an active cursor near the tail).
    /// </summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public Task<long> ManagedLedgerAddUnreadSubscription() => AddAllAsync(_unreadLedger);

    private async Task<long> AddAllAsync(ManagedLedger ledger)
    {
        for (var i = 0; i < InFlight; i++)
#pragma warning disable CA2012 // each is awaited once, below
            _ledgerAdds[i] = ledger.AddEntryAsync(_payloads[i]);
#pragma warning restore CA2012
        long last = 0;
        for (var i = 0; i < InFlight; i++)
            last = (await _ledgerAdds[i]).EntryId;
        return last;
    }

    /// <summary>A bookie that acknowledges every add as it arrives, storing nothing.</summary>
    private sealed class AckingBookie : BookieRpc.BookieBase
    {
        public override async Task AddEntries(IAsyncStreamReader<AddRequest> requestStream, IServerStreamWriter<AddResponse> responseStream, ServerCallContext context)
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(new AddResponse { LedgerId = request.LedgerId, EntryId = request.EntryId, Code = Code.Ok });
        }
    }
}
