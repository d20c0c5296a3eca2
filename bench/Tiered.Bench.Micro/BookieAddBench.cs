using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie;
using Tiered.Bookie.Server;
using Tiered.Bookie.Storage;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.Proto.Streams;

namespace Tiered.Bench.Micro;

/// <summary>
/// The bookie's add path, 160-byte entries, <see cref="InFlight"/> adds in flight per operation so that
/// one journal fsync serves many of them (figures are per add). <see cref="StorageAdd"/>: storage
/// alone (write cache, journal, fencing state); <see cref="ServiceAdd"/>: the AddEntries stream as a
/// writer in the same process uses it (validation, digest check, storage, the response).
/// </summary>
[MemoryDiagnoser]
public class BookieAddBench
{
    private const int InFlight = 1000;
    private const int PayloadBytes = 160;

    private readonly ValueTask<StorageResult>[] _adds = new ValueTask<StorageResult>[InFlight];
    private readonly byte[] _payload = new byte[PayloadBytes];
    private readonly uint[] _digests = new uint[InFlight];
    private readonly AddRequest[] _requests = new AddRequest[InFlight];
    private string _directory = "";
    private BookieStorage _storage = null!;
    private InProcessCallInvoker _invoker = null!;
    private AsyncDuplexStreamingCall<AddRequest, AddResponse> _stream = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "tiered-bookieadd-" + Guid.NewGuid().ToString("N"));
        _storage = await BookieStorage.OpenAsync(Path.Combine(_directory, "data"), Path.Combine(_directory, "journal"),
            64L * 1024 * 1024, NullLogger.Instance, journalPreallocationBytes: 64L * 1024 * 1024);
        var service = new BookieService(_storage, new BookieState(new BookieOptions { DataDir = _directory, Id = "bench" }));
        _invoker = new InProcessCallInvoker(binder => Tiered.Bookie.V1.Bookie.BindService(binder, service));
        _stream = new Tiered.Bookie.V1.Bookie.BookieClient(_invoker).AddEntries();
        Random.Shared.NextBytes(_payload);
        for (var i = 0; i < InFlight; i++)
        {
            _digests[i] = LedgerDigest.Compute(1, i, i - 1, _payload);
            _requests[i] = new AddRequest
            {
                LedgerId = 2, EntryId = i, LastAddConfirmed = i - 1, Payload = ByteString.CopyFrom(_payload),
                Digest = LedgerDigest.Compute(2, i, i - 1, _payload),
            };
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _stream.RequestStream.CompleteAsync();
        while (await _stream.ResponseStream.MoveNext(CancellationToken.None))
        {
        }
        _stream.Dispose();
        _invoker.Shutdown();
        await _storage.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>The same 1,000 entries over and over: each add overwrites its cached copy, as a retried add would.</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task StorageAdd()
    {
        // Kept to await after all are issued, each exactly once.
#pragma warning disable CA2012
        for (var i = 0; i < InFlight; i++)
            _adds[i] = _storage.AddAsync(1, i, i - 1, _digests[i], _payload, recovery: false, CancellationToken.None);
#pragma warning restore CA2012
        for (var i = 0; i < InFlight; i++)
        {
            if (await _adds[i] != StorageResult.Ok)
                throw new InvalidOperationException("The add was refused.");
        }
    }

    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task ServiceAdd()
    {
        foreach (var request in _requests)
            await _stream.RequestStream.WriteAsync(request);
        for (var i = 0; i < InFlight; i++)
        {
            if (!await _stream.ResponseStream.MoveNext(CancellationToken.None) || _stream.ResponseStream.Current.Code != Code.Ok)
                throw new InvalidOperationException("The add was not acknowledged.");
        }
    }
}
