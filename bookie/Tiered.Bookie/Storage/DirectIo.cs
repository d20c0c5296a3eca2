using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tiered.Bookie.Storage;

/// <summary>
/// Direct I/O (Linux <c>O_DIRECT</c>) for the journal: writes go from the bookie's own buffer to the disk, not
/// through the page cache, so a journal that is written once and read only after a crash neither costs a copy
/// into the page cache per byte nor fills that cache. Every write must then start and end on a
/// <see cref="BlockSize"/> boundary, from memory aligned the same way (<see cref="AlignedBuffer"/>). Where the
/// file system or the platform does not offer it, nothing changes and writes stay buffered.
/// </summary>
internal static partial class DirectIo
{
    /// <summary>The alignment of direct writes: offsets, lengths and buffer addresses (the common logical block and page size).</summary>
    public const int BlockSize = 4096;

    private const int GetFlags = 3;
    private const int SetFlags = 4;

    public static long AlignDown(long offset) => offset & ~(long)(BlockSize - 1);

    public static long AlignUp(long offset) => (offset + BlockSize - 1) & ~(long)(BlockSize - 1);

    /// <summary>Turns direct I/O on or off for <paramref name="handle"/>; false when this platform or file system cannot.</summary>
    public static bool TrySet(SafeFileHandle handle, bool on)
    {
        if (!OperatingSystem.IsLinux() || DirectFlag() is not { } direct)
            return false;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var fd = (int)handle.DangerousGetHandle();
            var flags = Fcntl(fd, GetFlags, 0);
            return flags >= 0 && Fcntl(fd, SetFlags, on ? flags | direct : flags & ~direct) == 0;
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>O_DIRECT differs between architectures; null where it is not known here.</summary>
    private static int? DirectFlag() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}

/// <summary>Native memory aligned to <see cref="DirectIo.BlockSize"/> that keeps its contents when it grows; kept for the owner's life, so its pages stay mapped.</summary>
internal sealed unsafe class AlignedBuffer : IDisposable
{
    private byte* _pointer;
    private int _capacity;

    public AlignedBuffer(int capacity) => EnsureCapacity(capacity);

    public Span<byte> Span => new(_pointer, _capacity);

    public void EnsureCapacity(long bytes)
    {
        if (bytes <= _capacity)
            return;
        var capacity = checked((int)DirectIo.AlignUp(bytes));
        var next = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, DirectIo.BlockSize);
        if (_pointer is not null)
        {
            new Span<byte>(_pointer, _capacity).CopyTo(new Span<byte>(next, capacity));
            NativeMemory.AlignedFree(_pointer);
        }

        _pointer = next;
        _capacity = capacity;
    }

    public void Dispose()
    {
        if (_pointer is not null)
            NativeMemory.AlignedFree(_pointer);
        _pointer = null;
        _capacity = 0;
    }
}
