using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Tiered.Cli;

/// <summary>
/// Gives the heap back to the operating system once a server goes idle after load. The GC
/// shrinks the heap only when it collects, and it collects only when something allocates: a
/// broker that served a burst and then waits would keep the burst's heap (hundreds of MB) for as
/// long as it stays idle. Every <see cref="Interval"/> this looks at how much the process
/// allocated since the last look. After <see cref="QuietChecks"/> quiet looks in a row, if the
/// committed heap grew by more than <see cref="MinGrowthBytes"/> since the last release, it runs
/// one aggressive full collection, which compacts the heap and decommits its free space; after
/// <see cref="SettledChecks"/> quiet looks (a minute) it runs one more, which frees what the
/// caches let go of in between (cached entries expire after seconds, pooled buffers after a minute).
/// After each collection the C heap is trimmed too (glibc's <c>malloc_trim</c>): what RocksDB, gRPC's
/// native parts and the runtime freed during the load stays in malloc's arenas, counted in the
/// resident size, until it is handed back explicitly.
/// A busy process is never interrupted: collections run only when it allocates next to nothing.
/// </summary>
public sealed class IdleMemoryRelease : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Quiet looks in a row before a release: 10 s without load.</summary>
    public const int QuietChecks = 2;

    /// <summary>At most this much allocated between two looks counts as quiet (about 200 KB/s: timers, heartbeats).</summary>
    public const long QuietAllocationBytes = 1024 * 1024;

    /// <summary>Quiet looks in a row before the second release of an idle period: a minute without load.</summary>
    public const int SettledChecks = 12;

    /// <summary>The committed heap must have grown by this much since the last release to release again.</summary>
    public const long MinGrowthBytes = 32L * 1024 * 1024;

    private readonly Func<long> _allocatedBytes;
    private readonly Func<long> _committedBytes;
    private readonly Action _collect;
    private readonly ILogger? _logger;
    private readonly ITimer? _timer;
    private readonly Lock _lock = new();
    private long _lastAllocated;
    private long _committedAfterRelease;
    private int _quiet;

    /// <summary>For tests: the probes and the collection are given, and <see cref="Check"/> is called by hand.</summary>
    public IdleMemoryRelease(Func<long> allocatedBytes, Func<long> committedBytes, Action collect, ILogger? logger = null)
    {
        _allocatedBytes = allocatedBytes;
        _committedBytes = committedBytes;
        _collect = collect;
        _logger = logger;
        _lastAllocated = allocatedBytes();
        _committedAfterRelease = committedBytes();
    }

    private IdleMemoryRelease(TimeProvider time, ILogger logger)
        : this(() => GC.GetTotalAllocatedBytes(), () => GC.GetGCMemoryInfo().TotalCommittedBytes,
            () =>
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                NativeHeap.Trim();
            }, logger)
        => _timer = time.CreateTimer(_ => Check(), null, Interval, Interval);

    /// <summary>Starts looking every <see cref="Interval"/> on the process's own GC.</summary>
    public static IdleMemoryRelease Start(ILogger logger) => new(TimeProvider.System, logger);

    /// <summary>Releases so far.</summary>
    public int Releases { get; private set; }

    /// <summary>One look: counts quiet intervals, and releases after enough of them.</summary>
    public void Check()
    {
        lock (_lock)
        {
            var allocated = _allocatedBytes();
            var quiet = allocated - _lastAllocated <= QuietAllocationBytes;
            _lastAllocated = allocated;
            _quiet = quiet ? _quiet + 1 : 0;
            var before = _committedBytes();
            var release = _quiet == SettledChecks || (_quiet == QuietChecks && before - _committedAfterRelease > MinGrowthBytes);
            if (!release)
                return;
            _collect();
            _committedAfterRelease = _committedBytes();
            _lastAllocated = _allocatedBytes();
            Releases++;
            _logger?.ReleasedIdleMemory(before / (1024 * 1024), _committedAfterRelease / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
        }
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>The C library's heap. DllImport rather than LibraryImport: the generated marshalling needs unsafe code, which this assembly does not allow.</summary>
    private static class NativeHeap
    {
        /// <summary>Returns the free pages of every malloc arena to the operating system; only glibc has it (musl and other systems: nothing).</summary>
        public static void Trim()
        {
            if (!OperatingSystem.IsLinux())
                return;
            try
            {
                _ = MallocTrim(0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
            }
        }

        [DllImport("libc", EntryPoint = "malloc_trim")]
        private static extern int MallocTrim(nuint pad);
    }
}
