namespace Tiered.Bench.Offload;

/// <summary>Garbage collections of this process during a phase: how many of each generation, and the time paused.</summary>
public sealed record GcUsage(int Gen0, int Gen1, int Gen2, TimeSpan Paused, double AllocatedMB);

/// <summary>Counts this process's garbage collections from its start to <see cref="Stop"/>.</summary>
public sealed class GcMeter
{
    private readonly int _gen0 = GC.CollectionCount(0);
    private readonly int _gen1 = GC.CollectionCount(1);
    private readonly int _gen2 = GC.CollectionCount(2);
    private readonly TimeSpan _paused = GC.GetTotalPauseDuration();
    private readonly long _allocated = GC.GetTotalAllocatedBytes();

    public GcUsage Stop() => new(
        GC.CollectionCount(0) - _gen0,
        GC.CollectionCount(1) - _gen1,
        GC.CollectionCount(2) - _gen2,
        GC.GetTotalPauseDuration() - _paused,
        (GC.GetTotalAllocatedBytes() - _allocated) / 1e6);
}
