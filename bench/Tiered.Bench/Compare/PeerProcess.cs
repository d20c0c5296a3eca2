using System.Diagnostics;
using System.Globalization;

namespace Tiered.Bench.Compare;

/// <summary>
/// A peer server run as a child process, its output appended to a log file; stopped by its PID
/// (and, for servers whose start script forks the real server, by the PIDs of its children).
/// </summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private PeerProcess(Process process, StreamWriter log) => (_process, _log) = (process, log);

    public int Pid => _process.Id;

    public string LogPath { get; private init; } = "";

    public bool HasExited => _process.HasExited;

    public static PeerProcess Start(string fileName, IEnumerable<string> arguments, string logPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            info.Environment[name] = value;
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var peer = new PeerProcess(process, log) { LogPath = logPath };
        process.OutputDataReceived += (_, e) => peer.Append(e.Data);
        process.ErrorDataReceived += (_, e) => peer.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>PIDs of the direct children of <paramref name="pid"/> (from /proc).</summary>
    public static IReadOnlyList<int> ChildrenOf(int pid)
    {
        var path = string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task/{pid}/children");
        try
        {
            return [.. File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>SIGKILL to one PID, if it still runs.</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(10_000);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
        }
    }

    /// <summary>The last lines of the log, for error messages.</summary>
    public string Tail(int lines = 30)
    {
        try
        {
            return string.Join('\n', File.ReadLines(LogPath).TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        lock (_log)
            _log.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
