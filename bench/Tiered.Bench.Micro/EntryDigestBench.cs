using BenchmarkDotNet.Attributes;
using Tiered.Ledger;

namespace Tiered.Bench.Micro;

/// <summary>
/// The entry digest as the ledger writer computes it. Before: CRC-32C over header and payload, all under the writer's
/// lock. Now: the payload's CRC before the lock (<see cref="EntryPayload.Of"/>), and under the lock only the header's
/// CRC combined with it (<see cref="UnderLock"/>), whose cost does not grow with the payload.
/// </summary>
[MemoryDiagnoser]
public class EntryDigestBench
{
    private byte[] _payload = [];
    private EntryPayload _checksummed;

    [Params(100, 16 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[Size];
        new Random(1).NextBytes(_payload);
        _checksummed = EntryPayload.Of(_payload);
    }

    /// <summary>The digest over the bytes (what the writer did under its lock before).</summary>
    [Benchmark(Baseline = true)]
    public uint Whole() => LedgerDigest.Compute(1, 2, 1, _payload);

    /// <summary>The payload's CRC, taken before the lock.</summary>
    [Benchmark]
    public EntryPayload BeforeLock() => EntryPayload.Of(_payload);

    /// <summary>What is left under the lock: the header's CRC, combined.</summary>
    [Benchmark]
    public uint UnderLock() => LedgerDigest.Compute(1, 2, 1, _checksummed);
}
