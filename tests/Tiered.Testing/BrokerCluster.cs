using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Net.Client;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.V1;

namespace Tiered.Testing;

/// <summary>
/// A whole cluster of real processes on 127.0.0.1: metadata nodes, bookies and brokers
/// (`tiered broker`, each an Orleans silo), initialized with `tiered initialize-cluster`. Brokers
/// can be killed (SIGKILL), stopped (SIGTERM) and started again on the same ports. Used by the
/// cluster tests and by <c>tiered-bench cluster</c>.
/// </summary>
public sealed class BrokerCluster : IAsyncDisposable
{
    public const string Name = "c1";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly TieredProcess?[] _bookies;
    private readonly TieredProcess?[] _brokers;
    private readonly string[] _bookieAddresses;
    private readonly string[]? _bookieIds;
    private readonly (int Grpc, int Http, int Silo)[] _ports;
    private readonly string[] _extraBrokerArgs;
    private readonly Dictionary<string, GrpcChannel> _channels = [];

    private BrokerCluster(MetadataCluster metadata, int bookies, int brokers, string[] extraBrokerArgs, string? bookieIdPrefix)
    {
        Metadata = metadata;
        _bookieIds = bookieIdPrefix is null ? null : [.. Enumerable.Range(0, bookies).Select(i => $"{bookieIdPrefix}{i}")];
        _bookies = new TieredProcess?[bookies];
        _bookieAddresses = [.. Enumerable.Range(0, bookies).Select(_ => $"127.0.0.1:{TieredProcess.FreePort()}")];
        _brokers = new TieredProcess?[brokers];
        _ports = [.. Enumerable.Range(0, brokers).Select(_ => (TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort()))];
        _extraBrokerArgs = extraBrokerArgs;
    }

    public MetadataCluster Metadata { get; }

    private int _initialBrokers;

    /// <summary>Broker slots, spare ones included.</summary>
    public int BrokerCount => _brokers.Length;

    /// <summary>The brokers started with the cluster.</summary>
    public int InitialBrokers => _initialBrokers;

    public string MetadataAddresses => string.Join(',', Metadata.Addresses);

    /// <summary>Every broker's gRPC address, as one multi-host service URL.</summary>
    public string ServiceUrls => "http://" + string.Join(',', _ports.Take(_initialBrokers).Select(p => $"127.0.0.1:{p.Grpc}"));

    /// <summary>Every broker slot's gRPC address (spare ones included), as one multi-host service URL: the client skips hosts that do not answer.</summary>
    public string AllServiceUrls => "http://" + string.Join(',', _ports.Select(p => $"127.0.0.1:{p.Grpc}"));

    /// <summary>The process ids of the bookies that run.</summary>
    public IEnumerable<int> BookiePids => _bookies.Where(b => b is { HasExited: false }).Select(b => b!.Pid);

    /// <summary>A bookie's id (its listen address, which it registers under).</summary>
    public string BookieId(int bookie) => _bookieIds?[bookie] ?? _bookieAddresses[bookie];

    /// <summary>The number of bookie slots.</summary>
    public int BookieCount => _bookies.Length;

    /// <summary>SIGKILL of a bookie (its registration lapses with its session).</summary>
    public void KillBookie(int bookie) => _bookies[bookie]?.Kill();

    public string GrpcUrl(int broker) => $"http://127.0.0.1:{_ports[broker].Grpc}";

    public string HttpUrl(int broker) => $"http://127.0.0.1:{_ports[broker].Http}";

    /// <summary>The broker id (host:port of its HTTP endpoint), as /admin/v2/brokers lists it.</summary>
    public string BrokerId(int broker) => $"127.0.0.1:{_ports[broker].Http}";

    public bool IsRunning(int broker) => _brokers[broker] is { HasExited: false };

    public TieredProcess? Broker(int broker) => _brokers[broker];

    /// <summary>Which broker a gRPC URL belongs to; -1 for none.</summary>
    public int IndexOf(string grpcUrl) => Array.FindIndex(_ports, p => grpcUrl.TrimEnd('/') == $"http://127.0.0.1:{p.Grpc}");

    /// <param name="spareBrokers">Broker slots (ports) kept for brokers a test starts later (<see cref="StartBrokerAsync"/>).</param>
    public static Task<BrokerCluster> StartAsync(int metadataNodes, int bookies, int brokers, (int E, int Qw, int Qa) quorum, int spareBrokers = 0,
        params string[] extraBrokerArgs)
        => StartAsync(metadataNodes, bookies, brokers, quorum, spareBrokers, bookieIdPrefix: null, extraBrokerArgs);

    /// <summary>The same, with bookies named <paramref name="bookieIdPrefix"/>0, 1, … (<c>--id</c>), as the Kubernetes operator names them after their pods.</summary>
    public static async Task<BrokerCluster> StartAsync(int metadataNodes, int bookies, int brokers, (int E, int Qw, int Qa) quorum, int spareBrokers,
        string? bookieIdPrefix, string[] extraBrokerArgs)
    {
        var metadata = await MetadataCluster.StartAsync(metadataNodes);
        var cluster = new BrokerCluster(metadata, bookies, brokers + spareBrokers,
            ["--ensemble-size", $"{quorum.E}", "--write-quorum", $"{quorum.Qw}", "--ack-quorum", $"{quorum.Qa}", .. extraBrokerArgs], bookieIdPrefix);
        try
        {
            await metadata.WaitForLeaderAsync(StartTimeout);
            await Task.WhenAll(Enumerable.Range(0, bookies).Select(cluster.StartBookieAsync));
            var (code, output) = await TieredProcess.RunAsync(StartTimeout, "initialize-cluster", "--metadata", cluster.MetadataAddresses,
                "--cluster-name", Name, "--web-service-url", cluster.HttpUrl(0), "--broker-service-url", cluster.GrpcUrl(0));
            if (code != 0)
                throw new InvalidOperationException($"initialize-cluster failed ({code}): {output}");
            await Task.WhenAll(Enumerable.Range(0, brokers).Select(cluster.StartBrokerAsync));
            cluster._initialBrokers = brokers;
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
            ["bookie", "--metadata", MetadataAddresses, "--listen", _bookieAddresses[index],
             "--data-dir", Path.Combine(Metadata.DataRoot, $"bookie-{index}"), "--journal-preallocation-mb", "0", "--log-level", "Warning",
             .. _bookieIds is null ? Array.Empty<string>() : ["--id", _bookieIds[index]]]);

    public async Task StartBrokerAsync(int index)
    {
        var (grpc, http, silo) = _ports[index];
        _brokers[index]?.Dispose();
        _brokers[index] = await TieredProcess.StartAsync("broker listening on", StartTimeout,
            ["broker", "--metadata", MetadataAddresses, "--cluster-name", Name,
             "--grpc-listen", $"127.0.0.1:{grpc}", "--http-listen", $"127.0.0.1:{http}", "--silo-port", silo.ToString(CultureInfo.InvariantCulture),
             "--log-level", "Information", .. _extraBrokerArgs]);
    }

    /// <summary>Waits (with a deadline) until the broker answers 200 on /health/ready: it is an active member of the cluster and may own bundles.</summary>
    public async Task WaitReadyAsync(int index, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync($"{HttpUrl(index)}/health/ready");
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (Stopwatch.GetElapsedTime(started) > timeout)
                throw new TimeoutException($"Broker {index} was not ready within {timeout}:\n{_brokers[index]?.Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Creates {tenant}/{name} (tenant public by default) with <paramref name="bundles"/> even bundles, stored as the admin API stores it.</summary>
    public async Task<NamespaceName> CreateNamespaceAsync(string name, int bundles, string tenant = "public")
    {
        var ns = new NamespaceName(tenant, name);
        var policies = new NamespacePolicies { ReplicationClusters = [Name], Bundles = NamespaceBundles.Even(ns, bundles).ToData() };
        await Metadata.Client.PutAsync(MetadataPaths.Namespace(ns), JsonSerializer.SerializeToUtf8Bytes(policies, PolicyStore.Json));
        return ns;
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

    /// <summary>
    /// The owner every running broker answers for <paramref name="topic"/>; fails when they still disagree after
    /// 10 s. (Right after a bundle moves, a broker may answer the old owner until it sees the move in the metadata.)
    /// </summary>
    public async Task<int> OwnerAsync(string topic)
        => await OwnerAsync(topic, Enumerable.Range(0, BrokerCount).Where(IsRunning));

    private async Task<int> OwnerAsync(string topic, IEnumerable<int> brokers)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (true)
        {
            var answers = await Task.WhenAll(brokers.Select(b => LookupAsync(b, topic)));
            if (answers.Distinct().Count() == 1)
                return IndexOf(answers[0]);
            if (Stopwatch.GetTimestamp() > deadline)
                throw new InvalidOperationException($"The brokers still disagree on the owner of {topic} after 10 s: {string.Join(", ", answers)}.");
            await Task.Delay(100);
        }
    }

    /// <summary>The topic's stats JSON from its owner's admin API (following the 307 of other brokers).</summary>
    public async Task<string> TopicStatsAsync(string topic)
    {
        var name = topic.Replace("persistent://", "", StringComparison.Ordinal);
        return await HttpGetAsync(Enumerable.Range(0, BrokerCount).First(IsRunning), $"/admin/v2/persistent/{name}/stats");
    }

    /// <summary>PUT to a broker's admin API; fails unless it answers 2xx.</summary>
    public async Task AdminPutAsync(int broker, string path)
    {
        using var http = new HttpClient();
        using var response = await http.PutAsync($"{HttpUrl(broker)}{path}", null);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"PUT {path} on broker {broker}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>GET from a broker's admin API (or lookup API), the body as text; fails unless 2xx.</summary>
    public async Task<string> HttpGetAsync(int broker, string path)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"{HttpUrl(broker)}{path}");
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
