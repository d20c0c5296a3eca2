using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Tiered.Testing;

/// <summary>
/// A real S3-protocol server (npm s3rver, run by node from tests/node) on a free loopback port,
/// storing into its own temporary directory; killed by PID and deleted on dispose.
/// </summary>
/// <remarks>
/// s3rver checks the access key but not SigV4 signatures, and does not decode aws-chunked
/// uploads: clients must turn chunk encoding off and use path-style addressing. It lists keys in
/// directory-walk order (hash order on ext4) rather than key order, so its listings past one page
/// (1000 keys) skip keys; and it answers a range on an empty object with a
/// body shorter than it announces.
/// </remarks>
public sealed class S3Server : IAsyncDisposable, IDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private const int MaxOutputLines = 500;

    private readonly string _directory;
    private readonly Queue<string> _output = new();
    private readonly HttpClient _http;
    private Process _process;

    private S3Server(string directory, int port)
    {
        _directory = directory;
        Port = port;
        Endpoint = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        _http = new HttpClient { BaseAddress = new Uri(Endpoint + "/"), Timeout = TimeSpan.FromSeconds(10) };
        _process = Launch();
    }

    public int Pid => _process.Id;

    public int Port { get; }

    /// <summary>The service URL, "http://127.0.0.1:PORT".</summary>
    public string Endpoint { get; }

    /// <summary>The server's last lines of output, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return string.Join('\n', _output);
        }
    }

    /// <summary>Starts s3rver and waits until it answers HTTP.</summary>
    public static async Task<S3Server> StartAsync()
    {
        if (!File.Exists(Script))
            throw new InvalidOperationException($"{Script} is missing: run ./test.sh (or `npm install` in tests/node) to install the npm packages the tests use.");
        var directory = Directory.CreateTempSubdirectory("tiered-s3rver-").FullName;
        S3Server server;
        try
        {
            server = new S3Server(directory, TieredProcess.FreePort());
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
        try
        {
            await server.WaitUntilAnsweringAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Kills the server (SIGKILL), keeping its objects: the store is down until <see cref="RestartAsync"/>.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    /// <summary>Starts the server again on the same port and objects, and waits until it answers.</summary>
    public async Task RestartAsync()
    {
        Kill();
        _process.Dispose();
        _process = Launch();
        await WaitUntilAnsweringAsync();
    }

    private static string Script => Path.Combine(TieredProcess.RepositoryRoot, "tests", "node", "node_modules", "s3rver", "bin", "s3rver.js");

    private Process Launch()
    {
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 (Node 17+) only offers through its legacy provider.
        foreach (var arg in new[] { "--openssl-legacy-provider", Script, "-d", _directory, "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(arg);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException("Cannot start node (is Node.js installed and on PATH?): " + e.Message, e);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Creates a bucket (s3rver accepts anonymous requests, so no signing is needed).</summary>
    public async Task CreateBucketAsync(string bucket)
    {
        using var response = await _http.PutAsync(Uri.EscapeDataString(bucket), content: null);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"s3rver refused to create bucket '{bucket}': {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task WaitUntilAnsweringAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"s3rver exited with code {_process.ExitCode} before it answered:\n{Output}");
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                using var response = await _http.GetAsync("", attempt.Token);
                return; // any HTTP answer (even an error for the anonymous bucket listing) means it serves requests
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                if (deadline.Elapsed > StartTimeout)
                    throw new TimeoutException($"s3rver did not answer at {Endpoint} within {StartTimeout}:\n{Output}", e);
            }
            // Poll interval while the server starts, not synchronization: the loop ends on its answer.
            await Task.Delay(50);
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > MaxOutputLines)
                _output.Dequeue();
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        Kill();
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
