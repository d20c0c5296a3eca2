using Tiered.Bookie.Storage;
using Tiered.Bookie.V1;

namespace Tiered.Bookie.Server;

/// <summary>What a bookie reports about itself: id, writable or read-only, disk use.</summary>
internal sealed class BookieState(BookieOptions options)
{
    public string BookieId => options.BookieId;

    public (long Used, long Free) Disk()
    {
        var drive = new DriveInfo(Path.GetFullPath(options.DataDir));
        return (drive.TotalSize - drive.AvailableFreeSpace, drive.AvailableFreeSpace);
    }

    /// <summary>Fraction of the data disk in use.</summary>
    public double DiskUsage()
    {
        var (used, free) = Disk();
        return used + free == 0 ? 0 : (double)used / (used + free);
    }

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
