using System.Globalization;

namespace Tiered.Testing;

/// <summary>
/// `tiered standalone` as a child process on free loopback ports, with its own data directory
/// (deleted on dispose). It can be killed with SIGKILL and started again on the same data.
/// </summary>
public sealed class Standalone : IDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    public const string ReadyMarker = "Tiered standalone ready";

    /// <summary>How often a first start is tried on new ports when another process took one of them first.</summary>
    private const int FirstStartAttempts = 3;

    private readonly string[] _extraArgs;
    private bool _started;

    /// <param name="extraArgs">More options of `tiered standalone` (offload settings, ledger rollover).</param>
    public Standalone(params string[] extraArgs)
    {
        DataDir = Directory.CreateTempSubdirectory("tiered-standalone-").FullName;
        _extraArgs = extraArgs;
        PickPorts();
    }

    public string DataDir { get; }
    public int MetadataPort { get; private set; }
    public int BookiePort { get; private set; }
    public int GrpcPort { get; private set; }
    public int HttpPort { get; private set; }

    /// <summary>The broker's gRPC URL.</summary>
    public string Url => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>The admin REST API's URL.</summary>
    public string AdminUrl => $"http://127.0.0.1:{HttpPort}";

    public TieredProcess? Process { get; private set; }

    /// <summary>Environment variables of the process (S3 credentials, for example).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>
    /// Starts the process (again) and waits until it is ready. A free port is only free when it is probed: should
    /// another process bind one of them before the first start does, that start is tried again on new ports in a new
    /// data directory (restarts keep their ports: clients and the stored state know them).
    /// </summary>
    public async Task StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Process = await TieredProcess.StartAsync(ReadyMarker, StartTimeout, Environment, Args());
                _started = true;
                return;
            }
            catch (InvalidOperationException e) when (!_started && attempt < FirstStartAttempts
                && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                Directory.Delete(DataDir, recursive: true);
                Directory.CreateDirectory(DataDir);
                PickPorts();
            }
        }
    }

    private void PickPorts()
    {
        // The metadata node's Raft port is --metadata-port + 100: reserved with it.
        (MetadataPort, BookiePort, GrpcPort, HttpPort) = (LocalMetadata.FreePort(also: 100), TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort());
    }

    private string[] Args() =>
        ["standalone", "--data-dir", DataDir, "--metadata-port", Text(MetadataPort), "--bookie-port", Text(BookiePort),
            "--grpc-port", Text(GrpcPort), "--http-port", Text(HttpPort), "--log-level", "Warning", .. _extraArgs];

    /// <summary>SIGKILL: no flush, no goodbye.</summary>
    public void Kill()
    {
        Process?.Dispose();
        Process = null;
    }

    public void Dispose()
    {
        Kill();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
