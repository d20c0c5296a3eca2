using System.Diagnostics;

namespace Tiered.Bench;

/// <summary>What the disk under the data directory can do by itself, measured in the same run as the benchmark.</summary>
/// <param name="FsyncPerSecond">4 KiB appends each followed by an fsync, per second.</param>
/// <param name="MeanFsyncMs">Mean time of one append + fsync.</param>
/// <param name="P99FsyncMs">99th percentile of one append + fsync.</param>
/// <param name="SequentialMBPerSecond">1 MiB sequential writes with an fsync every 8 MiB, in MB/s (10^6 bytes).</param>
public sealed record DiskLimits(double FsyncPerSecond, double MeanFsyncMs, double P99FsyncMs, double SequentialMBPerSecond);

/// <summary>
/// Measures the disk's own fsync rate and sequential write bandwidth in a directory, so that
/// benchmark figures can be read as a ratio to what the hardware allows. The fsync probe appends
/// (the file grows, as a write-ahead log does), so each fsync also persists the new file size.
/// </summary>
public static class DiskProbe
{
    private const int FsyncBlockBytes = 4096;
    private const int SequentialBlockBytes = 1024 * 1024;
    private const long SequentialFlushEveryBytes = 8L * 1024 * 1024;
    private const long SequentialMaxBytes = 512L * 1024 * 1024;

    public static DiskLimits Measure(string directory, TimeSpan durationEach)
    {
        var (fsyncPerSecond, meanMs, p99Ms) = MeasureFsync(Path.Combine(directory, "probe-fsync.dat"), durationEach);
        var mbPerSecond = MeasureSequential(Path.Combine(directory, "probe-sequential.dat"), durationEach);
        return new DiskLimits(fsyncPerSecond, meanMs, p99Ms, mbPerSecond);
    }

    private static (double PerSecond, double MeanMs, double P99Ms) MeasureFsync(string path, TimeSpan duration)
    {
        var block = new byte[FsyncBlockBytes];
        Random.Shared.NextBytes(block);
        var latencies = new List<long>(capacity: 16_384);
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            var started = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                var before = Stopwatch.GetTimestamp();
                file.Write(block);
                file.Flush(flushToDisk: true);
                latencies.Add(Stopwatch.GetTimestamp() - before);
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            latencies.Sort();
            var meanMs = latencies.Average() * 1000.0 / Stopwatch.Frequency;
            var p99Ms = latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(latencies.Count * 0.99) - 1)] * 1000.0 / Stopwatch.Frequency;
            return (latencies.Count / elapsed.TotalSeconds, meanMs, p99Ms);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double MeasureSequential(string path, TimeSpan duration)
    {
        var block = new byte[SequentialBlockBytes];
        Random.Shared.NextBytes(block);
        long written = 0;
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            var started = Stopwatch.GetTimestamp();
            while (written < SequentialMaxBytes && Stopwatch.GetElapsedTime(started) < duration)
            {
                file.Write(block);
                written += block.Length;
                if (written % SequentialFlushEveryBytes == 0)
                    file.Flush(flushToDisk: true);
            }
            file.Flush(flushToDisk: true);
            return written / 1e6 / Stopwatch.GetElapsedTime(started).TotalSeconds;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
