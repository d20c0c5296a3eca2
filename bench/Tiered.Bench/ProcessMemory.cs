using System.Globalization;

namespace Tiered.Bench;

/// <summary>Resident memory of a process, from /proc/PID/status, in MB (10^6 bytes).</summary>
/// <param name="ResidentMB">VmRSS: what the process holds in RAM now.</param>
/// <param name="PeakResidentMB">VmHWM: the most it ever held.</param>
/// <param name="AnonymousMB">RssAnon: heaps and stacks (the GC heap, native allocations).</param>
/// <param name="FileMB">RssFile: pages of mapped files (the runtime's and the app's assemblies, memory-mapped data files).</param>
public sealed record ProcessMemory(double ResidentMB, double PeakResidentMB, double AnonymousMB, double FileMB)
{
    /// <summary>The memory of process <paramref name="pid"/>; NaN where /proc does not say.</summary>
    public static ProcessMemory Of(int pid)
    {
        double rss = double.NaN, hwm = double.NaN, anonymous = double.NaN, file = double.NaN;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    rss = KiBToMB(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    hwm = KiBToMB(line);
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                    anonymous = KiBToMB(line);
                else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
                    file = KiBToMB(line);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return new ProcessMemory(rss, hwm, anonymous, file);
    }

    /// <summary>"VmRSS:     123456 kB" → MB.</summary>
    private static double KiBToMB(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kib)
            ? kib * 1024 / 1e6
            : double.NaN;
    }
}
