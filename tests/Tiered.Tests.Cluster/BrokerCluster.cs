using System.Globalization;
using Grpc.Net.Client;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Tests.Cluster;

/// <summary>
/// A whole cluster of real processes on 127.0.0.1: metadata nodes, bookies and brokers
/// (`tiered broker`, each an Orleans silo), initialized with `tiered initialize-cluster`. Brokers
/// can be killed (SIGKILL), stopped (SIGTERM) and started again on the same ports.
/// </summary>
internal sealed class BrokerCluster : IAsyncDisposable
{
    public const string Name = "c1";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly TieredProcess?[] _bookies;
    private readonly TieredProcess?[] _brokers;
    private readonly string[] _bookieAddresses;
    private readonly (int Grpc, int Http, int Silo)[] _ports;
    private readonly string[] _extraBrokerArgs;
    private readonly Dictionary<string, GrpcChannel> _channels = [];

    private BrokerCluster(MetadataCluster metadata, int bookies, int brokers, string[] extraBrokerArgs)
    {
        Metadata = metadata;
        _bookies = new TieredProcess?[bookies];
        _bookieAddresses = [.. Enumerable.Range(0, bookies).Select(_ => $"127.0.0.1:{TieredProcess.FreePort()}")];
        _brokers = new TieredProcess?[brokers];
        _ports = [.. Enumerable.Range(0, brokers).Select(_ => (TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort()))];
        _extraBrokerArgs = extraBrokerArgs;
    }

    public MetadataCluster Metadata { get; }

    public int BrokerCount => _brokers.Length;

    public string MetadataAddresses => string.Join(',', Metadata.Addresses);

    /// <summary>Every broker's gRPC address, as one multi-host service URL.</summary>
    public string ServiceUrls => "http://" + string.Join(',', _ports.Select(p => $"127.0.0.1:{p.Grpc}"));

    public string GrpcUrl(int broker) => $"http://127.0.0.1:{_ports[broker].Grpc}";

    public string HttpUrl(int broker) => $"http://127.0.0.1:{_ports[broker].Http}";

    /// <summary>The broker id (host:port of its HTTP endpoint), as /admin/v2/brokers lists it.</summary>
    public string BrokerId(int broker) => $"127.0.0.1:{_ports[broker].Http}";

    public bool IsRunning(int broker) => _brokers[broker] is { HasExited: false };

    public TieredProcess? Broker(int broker) => _brokers[broker];

    /// <summary>Which broker a gRPC URL belongs to; -1 for none.</summary>
    public int IndexOf(string grpcUrl) => Array.FindIndex(_ports, p => grpcUrl.TrimEnd('/') == $"http://127.0.0.1:{p.Grpc}");

    public static async Task<BrokerCluster> StartAsync(int metadataNodes, int bookies, int brokers, (int E, int Qw, int Qa) quorum, params string[] extraBrokerArgs)
    {
        var metadata = await MetadataCluster.StartAsync(metadataNodes);
        var cluster = new BrokerCluster(metadata, bookies,  brokers,
            ["--ensemble-size", $"{quorum.E}", "--write-quorum", $"{quorum.Qw}", "--ack-quorum", $"{quorum.Qa}", .. extraBrokerArgs]);
        try
        {
            await metadata.WaitForLeaderAsync(StartTimeout);
            await Task.WhenAll(Enumerable.Range(0, bookies).Select(cluster.StartBookieAsync));
            var (code, output) = await TieredProcess.RunAsync(StartTimeout, "initialize-cluster", "--metadata", cluster.MetadataAddresses,
                "--cluster-name", Name, "--web-service-url", cluster.HttpUrl(0), "--broker-service-url", cluster.GrpcUrl(0));
            if (code != 0)
                throw new InvalidOperationException($"initialize-cluster failed ({code}): {output}");
            await Task.WhenAll(Enumerable.Range(0, brokers).Select(cluster.StartBrokerAsync));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task StartBookieAsync(int index)
        => _bookies[index] = await TieredProcess.StartAsync("listening on", StartTimeout,
            "bookie", "--metadata", MetadataAddresses, "--listen", _bookieAddresses[index],
            "--data-dir", Path.Combine(Metadata.DataRoot, $"bookie-{index}"), "--journal-preallocation-mb", "0", "--log-level", "Warning");

    public async Task StartBrokerAsync(int index)
    {
        var (grpc, http, silo) = _ports[index];
        _brokers[index]?.Dispose();
        _brokers[index] = await TieredProcess.StartAsync("broker listening on", StartTimeout,
            ["broker", "--metadata", MetadataAddresses, "--cluster-name", Name,
             "--grpc-listen", $"127.0.0.1:{grpc}", "--http-listen", $"127.0.0.1:{http}", "--silo-port", silo.ToString(CultureInfo.InvariantCulture),
             "--log-level", "Warning", .. _extraBrokerArgs]);
    }

    public void KillBroker(int index) => _brokers[index]?.Kill();

    public Task StopBrokerAsync(int index) => _brokers[index]?.StopAsync(TimeSpan.FromSeconds(60)) ?? Task.CompletedTask;

    public Messaging.MessagingClient Messaging(int broker)
    {
        var url = GrpcUrl(broker);
        lock (_channels)
        {
            if (!_channels.TryGetValue(url, out var channel))
                _channels[url] = channel = GrpcChannel.ForAddress(url);
            return new Messaging.MessagingClient(channel);
        }
    }

    /// <summary>The owner's gRPC URL as <paramref name="broker"/> answers a Lookup of <paramref name="topic"/>.</summary>
    public async Task<string> LookupAsync(int broker, string topic)
        => (await Messaging(broker).LookupAsync(new LookupRequest { Topic = topic }, deadline: DateTime.UtcNow.AddSeconds(30))).BrokerUrl;

    /// <summary>The owner every running broker answers for <paramref name="topic"/>; fails when they disagree.</summary>
    public async Task<int> OwnerAsync(string topic)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, BrokerCount).Where(IsRunning).Select(b => LookupAsync(b, topic)));
        if (answers.Distinct().Count() != 1)
            throw new InvalidOperationException($"The brokers disagree on the owner of {topic}: {string.Join(", ", answers)}.");
        return IndexOf(answers[0]);
    }

    public string Logs() => string.Join("\n", _brokers.Select((b, i) => $"--- broker {i} ---\n{b?.Output ?? "(not running)"}"));

    public async ValueTask DisposeAsync()
    {
        lock (_channels)
        {
            foreach (var channel in _channels.Values)
                channel.Dispose();
        }
        foreach (var broker in _brokers)
            broker?.Dispose();
        foreach (var bookie in _bookies)
            bookie?.Dispose();
        await Metadata.DisposeAsync();
    }
}
