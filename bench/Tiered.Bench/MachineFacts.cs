using System.Globalization;
using System.Runtime.InteropServices;

namespace Tiered.Bench;

/// <summary>The machine a benchmark ran on, so figures can be compared across runs.</summary>
public sealed record MachineFacts(int Processors, string CpuModel, double MemoryGiB, string Kernel, string Runtime)
{
    public static MachineFacts Collect() => new(
        Environment.ProcessorCount,
        FirstValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        MemoryGiB: ParseKiB(FirstValue("/proc/meminfo", "MemTotal")) / (1024.0 * 1024.0),
        Kernel: ReadTrimmed("/proc/sys/kernel/osrelease") ?? RuntimeInformation.OSDescription,
        Runtime: RuntimeInformation.FrameworkDescription);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Processors} CPUs ({CpuModel}), {MemoryGiB:F1} GiB RAM, Linux {Kernel}, {Runtime}");

    /// <summary>"DEVICE (FSTYPE) mounted on MOUNTPOINT" for the mount holding <paramref name="path"/>, from /proc/self/mounts.</summary>
    public static string FileSystemOf(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            var best = File.ReadLines("/proc/self/mounts")
                .Select(line => line.Split(' '))
                .Where(f => f.Length >= 3 && IsUnder(full, f[1]))
                .MaxBy(f => f[1].Length);
            return best is null ? "unknown file system" : $"{best[0]} ({best[2]}) mounted on {best[1]}";
        }
        catch (IOException)
        {
            return "unknown file system";
        }
    }

    private static bool IsUnder(string path, string mountPoint) =>
        mountPoint == "/" || path == mountPoint || path.StartsWith(mountPoint + "/", StringComparison.Ordinal);

    private static string? FirstValue(string file, string key)
    {
        try
        {
            return File.ReadLines(file)
                .Where(line => line.StartsWith(key, StringComparison.Ordinal) && line.Contains(':', StringComparison.Ordinal))
                .Select(line => line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())
                .FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? ReadTrimmed(string file)
    {
        try
        {
            return File.ReadAllText(file).Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static double ParseKiB(string? value) =>
        value is not null && long.TryParse(value.Split(' ')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kib) ? kib : double.NaN;
}
