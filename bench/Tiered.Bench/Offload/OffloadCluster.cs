using System.Diagnostics;
using Tiered.Ledger;
using Tiered.Metadata;
using Tiered.Testing;

namespace Tiered.Bench.Offload;

/// <summary>
/// What the tiered-storage benchmark runs against: a 1-node metadata service and one bookie as
/// real <c>tiered</c> processes, and optionally s3rver, all on free loopback ports with their data
/// in the benchmark directory; the managed ledgers and the offloader run in this process, as in a
/// broker. Everything is stopped by PID on dispose.
/// </summary>
public sealed class OffloadCluster : IAsyncDisposable
{
    public const string Bucket = "tiered-offload";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly MetadataCluster _metadata;
    private TieredProcess? _bookie;

    private OffloadCluster(MetadataCluster metadata) => _metadata = metadata;

    public IMetadataStore Metadata => _metadata.Client;

    public LedgerClient Ledgers { get; private set; } = null!;

    public S3Server? S3 { get; private set; }

    public int MetadataPid => _metadata.Node(0)!.Pid;

    public int BookiePid => _bookie!.Pid;

    /// <summary>The server processes whose CPU the phases report, with their names.</summary>
    public IReadOnlyList<(string Name, int Pid)> Servers =>
        S3 is null
            ? [("bookie", BookiePid), ("metadata", MetadataPid)]
            : [("bookie", BookiePid), ("metadata", MetadataPid), ("s3rver", S3.Pid)];

    public static async Task<OffloadCluster> StartAsync(string dataRoot, bool withS3, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine("starting a 1-node metadata service and one bookie...");
        var cluster = new OffloadCluster(await MetadataCluster.StartAsync(1));
        try
        {
            await cluster._metadata.WaitForLeaderAsync(StartTimeout);
            var addresses = string.Join(',', cluster._metadata.Addresses);
            cluster._bookie = await TieredProcess.StartAsync("listening on", StartTimeout,
                "bookie", "--metadata", addresses, "--listen", $"127.0.0.1:{TieredProcess.FreePort()}",
                "--data-dir", Path.Combine(dataRoot, "bookie"), "--log-level", "Warning");
            cluster.Ledgers = new LedgerClient(cluster.Metadata);
            await cluster.WaitForBookieAsync(cancellationToken);
            if (withS3)
            {
                Console.Error.WriteLine("starting s3rver...");
                cluster.S3 = await S3Server.StartAsync();
                await cluster.S3.CreateBucketAsync(Bucket);
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits (with a deadline) until the bookie is registered as available for new ledgers.</summary>
    private async Task WaitForBookieAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while ((await Metadata.ListChildrenAsync(BookiePaths.Available, cancellationToken: cancellationToken)).Count == 0)
        {
            if (Stopwatch.GetElapsedTime(started) > StartTimeout)
                throw new TimeoutException($"The bookie did not register within {StartTimeout}:\n{_bookie!.Output}");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>The servers' last output, for failure messages.</summary>
    public string Logs() => $"--- bookie ---\n{_bookie?.Output ?? "(not running)"}\n{_metadata.Logs()}"
        + (S3 is null ? "" : $"\n--- s3rver ---\n{S3.Output}");

    public async ValueTask DisposeAsync()
    {
        if (Ledgers is not null)
            await Ledgers.DisposeAsync();
        if (S3 is not null)
            await S3.DisposeAsync();
        _bookie?.Dispose();
        await _metadata.DisposeAsync();
    }
}
