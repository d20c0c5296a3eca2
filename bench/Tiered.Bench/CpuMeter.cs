using System.Diagnostics;
using System.Globalization;

namespace Tiered.Bench;

/// <summary>CPU spent during a phase, in cores (CPU seconds per wall-clock second).</summary>
/// <param name="BenchCores">This process: the client and its writer tasks.</param>
/// <param name="ServerCores">Each server process, in node order.</param>
/// <param name="MachineBusyPercent">All processes on the machine, as a percentage of every core (from /proc/stat); NaN if unknown.</param>
public sealed record CpuUsage(double BenchCores, IReadOnlyList<double> ServerCores, double MachineBusyPercent);

/// <summary>
/// Takes CPU-time snapshots of this process, the server processes and the whole machine, so a
/// benchmark can say whether it was limited by CPU rather than by the disk.
/// </summary>
public sealed class CpuMeter
{
    private readonly IReadOnlyList<int> _serverPids;
    private readonly long _startedAt;
    private readonly TimeSpan _benchStart;
    private readonly TimeSpan[] _serverStart;
    private readonly (long Busy, long Total)? _machineStart;

    private CpuMeter(IReadOnlyList<int> serverPids)
    {
        _serverPids = serverPids;
        _startedAt = Stopwatch.GetTimestamp();
        _benchStart = Process.GetCurrentProcess().TotalProcessorTime;
        _serverStart = [.. serverPids.Select(ProcessorTime)];
        _machineStart = MachineJiffies();
    }

    public static CpuMeter Start(IReadOnlyList<int> serverPids) => new(serverPids);

    public CpuUsage Stop()
    {
        var wall = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        var bench = (Process.GetCurrentProcess().TotalProcessorTime - _benchStart).TotalSeconds / wall;
        var servers = _serverPids.Select((pid, i) => (ProcessorTime(pid) - _serverStart[i]).TotalSeconds / wall).ToArray();
        var machine = double.NaN;
        if (_machineStart is { } start && MachineJiffies() is { } end && end.Total > start.Total)
            machine = 100.0 * (end.Busy - start.Busy) / (end.Total - start.Total);
        return new CpuUsage(bench, servers, machine);
    }

    private static TimeSpan ProcessorTime(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.TotalProcessorTime;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Busy and total jiffies of all cores from the first line of /proc/stat; null where it does not exist.</summary>
    private static (long Busy, long Total)? MachineJiffies()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var idle = values[3] + values[4];
            var total = values.Sum();
            return (total - idle, total);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
