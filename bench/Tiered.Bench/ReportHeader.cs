using static System.FormattableString;

namespace Tiered.Bench;

/// <summary>The opening of every benchmark report: the command, the machine, and the disk's own limits measured in the same run.</summary>
public static class ReportHeader
{
    public static void Write(TextWriter output, string commandLine, MachineFacts machine, string dataDir, string fileSystem, DiskLimits disk)
    {
        output.WriteLine(Invariant($"Run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC: `tiered-bench {commandLine}`"));
        output.WriteLine();
        output.WriteLine(Invariant($"Machine: {machine}."));
        output.WriteLine(Invariant($"Data directory: {dataDir} on {fileSystem}."));
        output.WriteLine();
        output.WriteLine("Disk limits (same run, same directory):");
        output.WriteLine();
        output.WriteLine(Invariant($"- fsync: {disk.FsyncPerSecond:N0} fsync/s (4 KiB append + fsync, one at a time), mean {disk.MeanFsyncMs:F2} ms, p99 {disk.P99FsyncMs:F2} ms"));
        output.WriteLine(Invariant($"- sequential write: {disk.SequentialMBPerSecond:N0} MB/s (1 MiB blocks, fsync every 8 MiB)"));
        output.WriteLine();
    }
}
