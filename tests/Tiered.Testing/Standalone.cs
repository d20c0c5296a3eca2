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

    private readonly string[] _args;

    /// <param name="extraArgs">More options of `tiered standalone` (offload settings, ledger rollover).</param>
    public Standalone(params string[] extraArgs)
    {
        DataDir = Directory.CreateTempSubdirectory("tiered-standalone-").FullName;
        // The metadata node's Raft port is --metadata-port + 100: reserved with it.
        (MetadataPort, BookiePort, GrpcPort, HttpPort) = (LocalMetadata.FreePort(also: 100), TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort());
        _args = ["standalone", "--data-dir", DataDir, "--metadata-port", Text(MetadataPort), "--bookie-port", Text(BookiePort),
            "--grpc-port", Text(GrpcPort), "--http-port", Text(HttpPort), "--log-level", "Warning", .. extraArgs];
    }

    public string DataDir { get; }
    public int MetadataPort { get; }
    public int BookiePort { get; }
    public int GrpcPort { get; }
    public int HttpPort { get; }

    /// <summary>The broker's gRPC URL.</summary>
    public string Url => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>The admin REST API's URL.</summary>
    public string AdminUrl => $"http://127.0.0.1:{HttpPort}";

    public TieredProcess? Process { get; private set; }

    /// <summary>Environment variables of the process (S3 credentials, for example).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Starts the process (again) and waits until it is ready.</summary>
    public async Task StartAsync() => Process = await TieredProcess.StartAsync(ReadyMarker, StartTimeout, Environment, _args);

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
