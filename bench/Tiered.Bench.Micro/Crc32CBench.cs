using BenchmarkDotNet.Attributes;
using Tiered.Ledger;

namespace Tiered.Bench.Micro;

/// <summary>The digest every entry carries: computed by the writer, checked by the bookie.</summary>
public class Crc32CBench
{
    private readonly byte[] _payload = new byte[160];

    [Benchmark]
    public bool DigestComputeAndVerify()
    {
        var digest = LedgerDigest.Compute(1, 2, 1, _payload);
        return LedgerDigest.Verify(1, 2, 1, _payload, digest);
    }
}
