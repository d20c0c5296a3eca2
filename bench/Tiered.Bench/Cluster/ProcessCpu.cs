using System.Globalization;

namespace Tiered.Bench.Cluster;

/// <summary>
/// CPU time of a process from /proc/PID/stat (utime + stime, in clock ticks of 1/100 s), so the
/// cluster benchmark can say which process used the two cores: it reads processes it did not
/// start through <see cref="System.Diagnostics.Process"/> too, and a dead one reads as zero.
/// </summary>
public static class ProcessCpu
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>CPU seconds process <paramref name="pid"/> has used so far (user + system); 0 when it is gone.</summary>
    public static double Seconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>Busy and total jiffies of all cores (first line of /proc/stat).</summary>
    public static (long Busy, long Total) Machine()
    {
        var values = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var idle = values[3] + values[4];
        var total = values.Sum();
        return (total - idle, total);
    }
}

/// <summary>A CPU snapshot of named processes and the machine; <see cref="Cores"/> gives the cores each used since.</summary>
public sealed class CpuSnapshot
{
    private readonly IReadOnlyList<(string Name, int Pid)> _processes;
    private readonly double[] _seconds;
    private readonly long _at;
    private readonly (long Busy, long Total) _machine;

    public CpuSnapshot(IReadOnlyList<(string Name, int Pid)> processes)
    {
        _processes = processes;
        _seconds = [.. processes.Select(p => ProcessCpu.Seconds(p.Pid))];
        _at = System.Diagnostics.Stopwatch.GetTimestamp();
        _machine = ProcessCpu.Machine();
    }

    /// <summary>Cores (CPU seconds per second) each process used since the snapshot, and the machine's busy percentage of all cores.</summary>
    public (IReadOnlyList<(string Name, double Cores)> Processes, double MachineBusyPercent) Cores()
    {
        var wall = System.Diagnostics.Stopwatch.GetElapsedTime(_at).TotalSeconds;
        var list = _processes.Select((p, i) => (p.Name, Math.Max(0, ProcessCpu.Seconds(p.Pid) - _seconds[i]) / wall)).ToList();
        var machine = ProcessCpu.Machine();
        var busy = machine.Total > _machine.Total ? 100.0 * (machine.Busy - _machine.Busy) / (machine.Total - _machine.Total) : double.NaN;
        return (list, busy);
    }
}
