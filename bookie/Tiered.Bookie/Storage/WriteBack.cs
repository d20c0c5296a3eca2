using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tiered.Bookie.Storage;

/// <summary>
/// Hands the file ranges the bookie has just written to the disk as it goes (Linux <c>sync_file_range</c>;
/// elsewhere nothing). A flush writes the write cache's entries (up to half the cache) to the entry log and then
/// fsyncs it; left to the page cache, those megabytes all go to the disk at that fsync, and the journal's fsyncs
/// (on the same disk, acknowledging producers) queue behind them for tens of milliseconds. Started as each buffer
/// is written, and waited for one buffer later, at most two buffers of a flush are queued at the disk at any
/// time and the flush's fsync finds little left to do. A hint only: durability still comes from the fsync, and
/// errors are ignored.
/// </summary>
internal static partial class WriteBack
{
    private const uint SyncFileRangeWaitBefore = 1;
    private const uint SyncFileRangeWrite = 2;
    private const uint SyncFileRangeWaitAfter = 4;

    /// <summary>Starts writing the range to the disk and returns.</summary>
    public static void Start(SafeFileHandle handle, long offset, long length) => SyncRange(handle, offset, length, SyncFileRangeWrite);

    /// <summary>Starts writing the range if that has not started, and returns once the disk has it (not durably: no cache flush, no metadata).</summary>
    public static void Wait(SafeFileHandle handle, long offset, long length) =>
        SyncRange(handle, offset, length, SyncFileRangeWaitBefore | SyncFileRangeWrite | SyncFileRangeWaitAfter);

    private static void SyncRange(SafeFileHandle handle, long offset, long length, uint flags)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
            return;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            _ = SyncFileRange((int)handle.DangerousGetHandle(), offset, length, flags);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);
}
