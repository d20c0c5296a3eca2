using Tiered.Bookie.Storage;
using Tiered.Bookie.V1;

namespace Tiered.Bookie.Server;

/// <summary>What a bookie reports about itself: id, writable or read-only, disk use.</summary>
internal sealed class BookieState(BookieOptions options)
{
    public string BookieId => options.BookieId;

    /// <summary>Used and free bytes of the data disk.</summary>
    public (long Used, long Free) Disk() => Disk(options.DataDir);

    private static (long Used, long Free) Disk(string directory)
    {
        var drive = new DriveInfo(Path.GetFullPath(directory));
        return (drive.TotalSize - drive.AvailableFreeSpace, drive.AvailableFreeSpace);
    }

    /// <summary>Fraction in use of the fuller of the data disk and the journal disk (often the same one).</summary>
    public double DiskUsage() => Math.Max(Usage(Disk(options.DataDir)), Usage(Disk(options.JournalDirectory)));

    private static double Usage((long Used, long Free) disk) => disk.Used + disk.Free == 0 ? 0 : (double)disk.Used / (disk.Used + disk.Free);

    public InfoResponse Info(BookieStorage storage)
    {
        var (used, free) = Disk();
        return new InfoResponse
        {
            BookieId = BookieId,
            State = storage.ReadOnly ? "read-only" : "writable",
            DiskUsedBytes = used,
            DiskFreeBytes = free,
            LedgerCount = storage.LedgerCount,
        };
    }
}
