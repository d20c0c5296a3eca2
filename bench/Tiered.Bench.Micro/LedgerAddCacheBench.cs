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
/// <see cref="ManagedLedger.AddEntryAsync(ReadOnlyMemory{byte}, CancellationToken)"/> with the entry cache on (its
/// default 64 MiB) and one subscription that never reads (workload 1 of bench/compare): whether a confirmed add is
/// copied into the cache. 1,000 adds of 100 B in flight; the bookie is an in-process stub acknowledging every add at
/// once, the metadata an in-memory map, ensemble 1 (as <see cref="LedgerAddBench"/>).
/// </summary>
[MemoryDiagnoser]
public class LedgerAddCacheBench
{
    private const int InFlight = 1000;
    private readonly byte[][] _payloads = new byte[InFlight][];
    private readonly ValueTask<Position>[] _adds = new ValueTask<Position>[InFlight];
    private MemoryMetadata _metadata = null!;
    private LedgerClient _client = null!;
    private ManagedLedger _ledger = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        for (var i = 0; i < InFlight; i++)
            _payloads[i] = new byte[100];
        _metadata = new MemoryMetadata();
        await _metadata.PutAsync(BookiePaths.AvailableKey("stub"), ReadOnlyMemory<byte>.Empty);
        var invoker = new InProcessCallInvoker(binder => BookieRpc.BindService(binder, new AckingBookie()));
        _client = new LedgerClient(_metadata, new LedgerClientOptions { LocalBookies = new Dictionary<string, CallInvoker> { ["stub"] = invoker } });
        _ledger = await ManagedLedger.OpenAsync("public/default/persistent/bench-cache", _client, _metadata,
            new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1, MaxEntriesPerLedger = long.MaxValue, MaxSizePerLedger = long.MaxValue },
            NullLoggerFactory.Instance);
        // A subscription without consumers.
        await _ledger.OpenCursorAsync("unread", InitialPosition.Latest);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _ledger.DisposeAsync();
        await _client.DisposeAsync();
    }

    /// <summary>The managed ledger's adds, awaited in order, with a subscription nobody reads.</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task<long> ManagedLedgerAddUnreadSubscription()
    {
        for (var i = 0; i < InFlight; i++)
#pragma warning disable CA2012 // each is awaited once, below
            _adds[i] = _ledger.AddEntryAsync(_payloads[i]);
#pragma warning restore CA2012
        long last = 0;
        for (var i = 0; i < InFlight; i++)
            last = (await _adds[i]).EntryId;
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
