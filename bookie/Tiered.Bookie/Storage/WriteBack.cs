using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tiered.Bookie.Storage;

/// <summary>
/// Starts the disk write of a file range the bookie has just written, without waiting for it (Linux
/// <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>; elsewhere nothing). A flush writes about a second of
/// entries to the entry log and then fsyncs it: left to the page cache, those megabytes all go to the
/// disk in that fsync, and the journal's fsyncs (on the same disk, acknowledging producers) queue behind
/// it for tens of milliseconds, once a second. Written back as they are written, the flush's fsync
/// finds little left to do. A hint only: durability still comes from the fsync; errors are ignored.
/// </summary>
internal static partial class WriteBack
{
    private const uint SyncFileRangeWrite = 2;

    public static void Start(SafeFileHandle handle, long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
            return;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            _ = SyncFileRange((int)handle.DangerousGetHandle(), offset, length, SyncFileRangeWrite);
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
