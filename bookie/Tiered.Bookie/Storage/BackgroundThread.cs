using System.Runtime.InteropServices;

namespace Tiered.Bookie.Storage;

/// <summary>
/// A thread of its own for the bookie's background disk work (the flush), run at a lower CPU priority
/// than the threads that serve adds and reads (Linux: the thread's nice value; elsewhere the normal priority).
/// </summary>
internal static partial class BackgroundThread
{
    /// <summary>Nice value of background threads: they get a small share of a busy core and all of an idle one.</summary>
    internal const int Nice = 19;

    /// <summary>Runs <paramref name="body"/> on a new background thread named <paramref name="name"/>; the task ends with it.</summary>
    public static Task Start(string name, Action body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                LowerPriority();
                body();
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    private static void LowerPriority()
    {
        if (!OperatingSystem.IsLinux())
            return;
        // On Linux the nice value belongs to the thread: this changes the calling thread only.
        _ = SetPriority(PrioProcess, GetTid(), Nice);
    }

    private const int PrioProcess = 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
