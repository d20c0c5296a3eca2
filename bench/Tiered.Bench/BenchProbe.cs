using System.Globalization;

namespace Tiered.Bench;

/// <summary>What every benchmark measures first and reports with its figures: the machine, and the disk's own limits in the data directory.</summary>
public static class BenchProbe
{
    private static readonly TimeSpan ProbeDuration = TimeSpan.FromSeconds(2);

    /// <summary>Collects the machine facts and probes the disk of <paramref name="dataDir"/>, printing progress on stderr.</summary>
    public static (MachineFacts Machine, string FileSystem, DiskLimits Disk) Run(string dataDir)
    {
        var machine = MachineFacts.Collect();
        var fileSystem = MachineFacts.FileSystemOf(dataDir);
        Console.Error.WriteLine($"machine: {machine}");
        Console.Error.WriteLine($"data dir: {dataDir} on {fileSystem}");
        Console.Error.WriteLine($"probing the disk ({ProbeDuration.TotalSeconds:F0} s fsync, {ProbeDuration.TotalSeconds:F0} s sequential)...");
        var disk = DiskProbe.Measure(dataDir, ProbeDuration);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"disk: {disk.FsyncPerSecond:N0} fsync/s (mean {disk.MeanFsyncMs:F2} ms), sequential {disk.SequentialMBPerSecond:N0} MB/s"));
        return (machine, fileSystem, disk);
    }
}
