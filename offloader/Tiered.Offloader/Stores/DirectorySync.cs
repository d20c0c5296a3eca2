using System.Runtime.InteropServices;

namespace Tiered.Offloader.Stores;

/// <summary>
/// Makes a created or renamed file's directory entry durable: POSIX only promises that it survives
/// a crash once its directory has been fsynced. .NET cannot open a directory handle, so this calls
/// libc directly; on Windows, NTFS journals the metadata and this does nothing.
/// </summary>
internal static class DirectorySync
{
    private const int ReadOnly = 0;

    public static void Sync(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
            return;
        var fd = NativeMethods.Open(directory, ReadOnly);
        if (fd < 0)
            throw new IOException($"Cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (NativeMethods.Fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    // DllImport rather than LibraryImport: the generated marshalling needs unsafe code, which this assembly does not allow.
    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int Open(string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
