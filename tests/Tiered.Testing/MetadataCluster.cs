using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Testing;

/// <summary>
/// A metadata cluster of `tiered metadata` processes on 127.0.0.1 with fresh data directories; their
/// addresses name <see cref="Host"/> (127.0.0.1, or a host name that resolves to it).
/// </summary>
public sealed class MetadataCluster : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly TieredProcess?[] _nodes;

    public MetadataCluster(int size, string host = "127.0.0.1")
    {
        Host = host;
        DataRoot = Directory.CreateTempSubdirectory("tiered-meta-").FullName;
        ClientPorts = [.. Enumerable.Range(0, size).Select(_ => TieredProcess.FreePort())];
        RaftPorts = [.. Enumerable.Range(0, size).Select(_ => TieredProcess.FreePort())];
        _nodes = new TieredProcess?[size];
        Client = new MetadataClient(Addresses, TimeSpan.FromSeconds(20));
    }

    public string DataRoot { get; }

    public string Host { get; }

    public int[] ClientPorts { get; }

    public int[] RaftPorts { get; }

    public IEnumerable<string> Addresses => ClientPorts.Select(p => $"{Host}:{p}");

    public MetadataClient Client { get; }

    public int Size => _nodes.Length;

    public TieredProcess? Node(int index) => _nodes[index];

    public static async Task<MetadataCluster> StartAsync(int size, string host = "127.0.0.1")
    {
        var cluster = new MetadataCluster(size, host);
        await Task.WhenAll(Enumerable.Range(0, size).Select(cluster.StartNodeAsync));
        return cluster;
    }

    public async Task StartNodeAsync(int index)
    {
        var peers = string.Join(',', RaftPorts.Select(p => $"{Host}:{p}"));
        _nodes[index] = await TieredProcess.StartAsync("listening on", StartTimeout,
            "metadata", "--node-id", (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--listen", $"{Host}:{ClientPorts[index]}", "--peers", peers,
            "--data-dir", Path.Combine(DataRoot, $"m{index + 1}"), "--log-level", "Warning");
    }

    public void Kill(int index)
    {
        _nodes[index]?.Kill();
        _nodes[index]?.Dispose();
        _nodes[index] = null;
    }

    public async Task<StatusResponse?> StatusAsync(int index)
    {
        if (_nodes[index] is null)
            return null;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            return await Client.StatusAsync($"127.0.0.1:{ClientPorts[index]}", timeout.Token);
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits (with a deadline) until one running node reports itself leader; returns its index.</summary>
    public async Task<int> WaitForLeaderAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            for (var i = 0; i < Size; i++)
            {
                if (await StatusAsync(i) is { Role: "leader" })
                    return i;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"No leader within {timeout}.\n{Logs()}");
    }

    public string Logs() => string.Join("\n", _nodes.Select((n, i) => $"--- node {i + 1} ---\n{n?.Output ?? "(not running)"}"));

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        for (var i = 0; i < Size; i++)
            Kill(i);
        try
        {
            Directory.Delete(DataRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
