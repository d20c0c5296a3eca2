using System.Diagnostics;
using System.Text;

namespace Tiered.Testing;

/// <summary>
/// A `tiered` child process (the real CLI built by the solution build), its output kept for
/// diagnostics. <see cref="Kill"/> is SIGKILL: no shutdown code runs.
/// </summary>
public sealed class TieredProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TieredProcess(Process process, string readyMarker)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data, readyMarker);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, readyMarker);
        process.Exited += (_, _) =>
        {
            // Wait for the output streams to end, so the message carries what the process printed last.
            process.WaitForExit();
            _ready.TrySetException(new InvalidOperationException($"tiered exited with code {SafeExitCode()} before it was ready:\n{Output}"));
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Starts `tiered ARGS` and waits until a line containing <paramref name="readyMarker"/> is printed.</summary>
    public static Task<TieredProcess> StartAsync(string readyMarker, TimeSpan timeout, params string[] args)
        => StartAsync(readyMarker, timeout, args, waitForReady: true);

    /// <summary>As <see cref="StartAsync(string, TimeSpan, string[])"/>, with more environment variables for the process.</summary>
    public static Task<TieredProcess> StartAsync(string readyMarker, TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
        => StartAsync(readyMarker, timeout, args, waitForReady: true, environment);

    private static async Task<TieredProcess> StartAsync(string readyMarker, TimeSpan timeout, string[] args, bool waitForReady, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(CliPath);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        // Metadata nodes and bookies have an operations port with a fixed default (8001, 8000):
        // several on one machine each need their own (unless a config file or the environment gives one).
        if (args is ["metadata" or "bookie", ..] && !args.Contains("--http-listen") && !args.Contains("--help") && !args.Contains("--config")
            && (environment is null || !environment.Keys.Any(k => k.EndsWith("__HTTPLISTEN", StringComparison.OrdinalIgnoreCase))))
        {
            info.ArgumentList.Add("--http-listen");
            info.ArgumentList.Add($"127.0.0.1:{FreePort()}");
        }
        // Brokers join their cluster on a silo port (default 11111): each needs its own.
        if (args is ["broker", ..] && !args.Contains("--silo-port") && !args.Contains("--help") && !args.Contains("--config")
            && (environment is null || !environment.Keys.Any(k => k.EndsWith("__SILOPORT", StringComparison.OrdinalIgnoreCase))))
        {
            info.ArgumentList.Add("--silo-port");
            info.ArgumentList.Add(FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            info.Environment[name] = value;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.Start();
        var tiered = new TieredProcess(process, readyMarker);
        if (!waitForReady)
            return tiered;
        try
        {
            await tiered._ready.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            tiered.Dispose();
            throw new TimeoutException($"tiered {string.Join(' ', args)} did not print '{readyMarker}' within {timeout}:\n{tiered.Output}");
        }
        return tiered;
    }

    /// <summary>Runs `tiered ARGS` to completion; returns its exit code and everything it printed.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, params string[] args)
        => RunAsync(timeout, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="RunAsync(TimeSpan, string[])"/>, with more environment variables for the process.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var tiered = await StartAsync("\0never printed\0", TimeSpan.Zero, args, waitForReady: false, environment);
        using (tiered)
        {
            using var cts = new CancellationTokenSource(timeout);
            await tiered._process.WaitForExitAsync(cts.Token);
            return (tiered._process.ExitCode, tiered.Output);
        }
    }

    private void OnLine(string? line, string readyMarker)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
        if (line.Contains(readyMarker, StringComparison.Ordinal))
            _ready.TrySetResult();
    }

    private string SafeExitCode()
    {
        try
        {
            return _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    /// <summary>SIGTERM, then waits for a clean exit: the process flushes and deregisters as it would for an operator.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
            return;
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    /// <summary>kill -9: the process gets no chance to flush or say goodbye.</summary>
    public void Kill()
    {
        if (_process.HasExited)
            return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Disposed already (a fixture and a test both let go of it): nothing runs any more.
        }
        _process.Dispose();
    }

    /// <summary>The CLI as built by `dotnet build Tiered.sln` in the same configuration as these tests (or $TIERED_CLI).</summary>
    public static string CliPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable("TIERED_CLI") is { Length: > 0 } overridden)
                return overridden;
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/<project>/bin/<Configuration>/net10.0/
            var path = Path.Combine(RepositoryRoot, "cli", "Tiered.Cli", "bin", configuration, "net10.0", "tiered.dll");
            if (!File.Exists(path))
                throw new InvalidOperationException($"{path} is missing: build the solution first (./test.sh does).");
            return path;
        }
    }

    /// <summary>The folder holding Tiered.sln, above the test assembly.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Tiered.sln")))
                root = root.Parent;
            return root?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Tiered.sln) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A TCP port free on 127.0.0.1 right now.</summary>
    public static int FreePort() => LocalMetadata.FreePort();
}
