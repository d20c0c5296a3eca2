using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class BackgroundThreadTests
{
    [Fact]
    public async Task Body_runs_on_a_named_thread_of_its_own_at_the_lowest_priority()
    {
        string? name = null;
        var onPool = true;
        string? nice = null;
        await BackgroundThread.Start("bookie-test", () =>
        {
            name = Thread.CurrentThread.Name;
            onPool = Thread.CurrentThread.IsThreadPoolThread;
            if (OperatingSystem.IsLinux())
                nice = NiceOfThisThread();
        }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("bookie-test", name);
        Assert.False(onPool);
        if (OperatingSystem.IsLinux())
            Assert.Equal(BackgroundThread.Nice.ToString(System.Globalization.CultureInfo.InvariantCulture), nice);
    }

    [Fact]
    public async Task A_body_that_throws_faults_the_task()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => BackgroundThread.Start("bookie-test", () => throw new InvalidOperationException("boom")).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("boom", error.Message);
    }

    [Fact]
    public async Task Other_threads_keep_their_priority()
    {
        await BackgroundThread.Start("bookie-test", () => { }).WaitAsync(TimeSpan.FromSeconds(30));
        if (OperatingSystem.IsLinux())
            Assert.Equal("0", NiceOfThisThread());
    }

    /// <summary>The calling thread's nice value: /proc/thread-self/stat is "pid (comm) state ...", the nice value its 19th field.</summary>
    private static string NiceOfThisThread()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16];
    }
}
