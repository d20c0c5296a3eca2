using System.Diagnostics;
using System.Net.Sockets;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>3 metadata nodes, 3 bookies (E=3, Qw=2, Qa=2) and 3 brokers, shared by the tests of <see cref="BrokerClusterTests"/>; each test uses a namespace of its own and leaves 3 brokers running.</summary>
public sealed class BrokerClusterFixture : IAsyncLifetime
{
    internal BrokerCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await BrokerCluster.StartAsync(3, 3, 3, (3, 2, 2));

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// Several brokers over one metadata service and one set of bookies behave as one system: bundles
/// are spread over the brokers, every broker answers the same owner, a killed owner's topics move
/// to the others, a rolling restart hands bundles over, and two brokers racing for one bundle
/// agree on one owner — with every acknowledged message read back.
/// </summary>
public sealed class BrokerClusterTests(BrokerClusterFixture fixture, ITestOutputHelper output) : IClassFixture<BrokerClusterFixture>
{
    private static readonly TimeSpan Resume = TimeSpan.FromSeconds(45);
    private BrokerCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Topics_spread_over_every_broker_and_every_broker_answers_the_same_owner()
    {
        var ns = await CreateNamespaceAsync("spread", bundles: 6);
        var owners = new int[Cluster.BrokerCount];
        for (var i = 0; i < 30; i++)
        {
            var topic = $"persistent://{ns}/t-{i}";
            // Asked of one broker first (which places its bundle if nobody owns it), then of all, by gRPC and by HTTP.
            await Cluster.LookupAsync(i % Cluster.BrokerCount, topic);
            var owner = await Cluster.OwnerAsync(topic);
            owners[owner]++;
            foreach (var broker in Enumerable.Range(0, Cluster.BrokerCount))
                Assert.Contains($"\"brokerUrl\":\"{Cluster.GrpcUrl(owner)}\"", await Cluster.HttpGetAsync(broker, $"/lookup/v2/topic/persistent/{ns}/t-{i}"));
        }
        // Every broker's ownedNamespaces, asked of any broker, lists the bundles of the topics it owns.
        for (var broker = 0; broker < Cluster.BrokerCount; broker++)
        {
            var owned = await Cluster.HttpGetAsync((broker + 1) % Cluster.BrokerCount, $"/admin/v2/brokers/{BrokerCluster.Name}/{Cluster.BrokerId(broker)}/ownedNamespaces");
            Assert.Equal(owners[broker] > 0, owned.Contains($"\"{ns}/0x", StringComparison.Ordinal));
        }
        output.WriteLine($"topics owned per broker: {string.Join(", ", owners)}");
        Assert.All(owners, count => Assert.True(count > 0, $"a broker owns none of the 30 topics: {string.Join(", ", owners)}"));
        // One ownership record per bundle in use, each naming a live broker.
        var records = await Cluster.Metadata.Client.ListAsync($"{MetadataPaths.BundleOwners}/{ns}/");
        Assert.InRange(records.Count, 3, 6);
    }

    [Fact]
    public async Task Kill_9_of_an_owner_under_load_moves_its_topics_and_loses_nothing()
    {
        var ns = await CreateNamespaceAsync("kill", bundles: 4);
        var topics = Enumerable.Range(0, 10).Select(i => $"persistent://{ns}/t-{i}").ToArray();
        await using var load = await ClusterLoad.StartAsync(Cluster.ServiceUrls, topics);
        await load.WaitForReceiptsAsync(50, Resume, "before the kill");
        var owners = await Task.WhenAll(topics.Select(Cluster.OwnerAsync));
        var victim = owners[0];
        var moved = topics.Where((_, i) => owners[i] == victim).ToArray();

        // From when the process is gone (the kill returns once it exited), not from when it was asked to die.
        Cluster.KillBroker(victim);
        var killedAt = Stopwatch.GetTimestamp();
        await load.WaitForReceiptsAsync(50, Resume, $"after broker {victim} was killed");
        var failover = moved.Select(t => load.Topics.Single(l => l.Name == t).ResumedAfter(killedAt)!.Value).Max();
        output.WriteLine($"killed broker {victim}, owner of {moved.Length} of the 10 topics; every one of them publishing on another broker after {Stopwatch.GetElapsedTime(killedAt, failover).TotalSeconds:0.00} s");
        foreach (var topic in moved)
            Assert.NotEqual(victim, await Cluster.OwnerAsync(topic));

        await Cluster.StartBrokerAsync(victim);
        await load.StopAndVerifyAsync(Resume, Cluster, output);
    }

    [Fact]
    public async Task A_rolling_restart_of_every_broker_under_load_loses_nothing()
    {
        var ns = await CreateNamespaceAsync("rolling", bundles: 4);
        var topics = Enumerable.Range(0, 10).Select(i => $"persistent://{ns}/t-{i}").ToArray();
        await using var load = await ClusterLoad.StartAsync(Cluster.ServiceUrls, topics);
        await load.WaitForReceiptsAsync(50, Resume, "before the restarts");
        for (var broker = 0; broker < Cluster.BrokerCount; broker++)
        {
            var stopping = Stopwatch.GetTimestamp();
            await Cluster.StopBrokerAsync(broker);
            var stopped = Stopwatch.GetElapsedTime(stopping);
            await load.WaitForReceiptsAsync(20, Resume, $"after broker {broker} stopped");
            await Cluster.StartBrokerAsync(broker);
            await load.WaitForReceiptsAsync(20, Resume, $"after broker {broker} restarted");
            output.WriteLine($"broker {broker}: stopped (bundles handed over) in {stopped.TotalSeconds:0.00} s; every topic publishing after {Stopwatch.GetElapsedTime(stopping).TotalSeconds:0.00} s");
        }
        await load.StopAndVerifyAsync(Resume, Cluster, output);
    }

    [Fact]
    public async Task Brokers_asked_at_once_for_an_unowned_bundle_agree_on_one_owner()
    {
        var ns = await CreateNamespaceAsync("race", bundles: 16);
        var bundles = NamespaceBundles.Even(ns, 16);
        for (var i = 0; i < 16; i++)
        {
            var topic = $"persistent://{ns}/t-{i}";
            var answers = await Task.WhenAll(Enumerable.Range(0, Cluster.BrokerCount).Select(b => Cluster.LookupAsync(b, topic)));
            Assert.True(answers.Distinct().Count() == 1, $"{topic}: the brokers answered {string.Join(", ", answers)}");
            var record = await Cluster.Metadata.Client.GetAsync(MetadataPaths.BundleOwner(bundles.Find(TopicName.Parse(topic))));
            Assert.NotNull(record);
            Assert.Contains(Cluster.BrokerId(Cluster.IndexOf(answers[0])), System.Text.Encoding.UTF8.GetString(record.Value.Span));
        }
    }

    [Fact]
    public async Task A_bundle_split_and_a_namespace_unload_under_load_lose_nothing_and_clients_follow()
    {
        var ns = await CreateNamespaceAsync("moves", bundles: 4);
        var topics = Enumerable.Range(0, 10).Select(i => $"persistent://{ns}/t-{i}").ToArray();
        await using var load = await ClusterLoad.StartAsync(Cluster.ServiceUrls, topics);
        await load.WaitForReceiptsAsync(50, Resume, "before the split");

        await Cluster.AdminPutAsync(1, $"/admin/v2/namespaces/{ns}/0x00000000_0x40000000/split");
        Assert.Contains("\"numBundles\":5", await Cluster.HttpGetAsync(2, $"/admin/v2/namespaces/{ns}/bundles"));
        await load.WaitForReceiptsAsync(50, Resume, "after the split");
        // The operator's way: `tiered admin namespaces unload`, against any broker.
        var (code, cli) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), "admin", "--admin-url", Cluster.HttpUrl(2), "namespaces", "unload", ns.ToString());
        Assert.True(code == 0, cli);
        await load.WaitForReceiptsAsync(50, Resume, "after the namespace was unloaded");
        // Every broker agrees on the owners after the moves.
        foreach (var topic in topics)
            await Cluster.OwnerAsync(topic);

        await load.StopAndVerifyAsync(Resume, Cluster, output);
    }

    [Fact]
    public async Task An_owner_paused_until_declared_dead_cannot_acknowledge_anything_once_it_resumes()
    {
        var ns = await CreateNamespaceAsync("paused", bundles: 4);
        var topics = Enumerable.Range(0, 6).Select(i => $"persistent://{ns}/t-{i}").ToArray();
        await using var load = await ClusterLoad.StartAsync(Cluster.ServiceUrls, topics);
        await load.WaitForReceiptsAsync(50, Resume, "before the pause");
        var owners = await Task.WhenAll(topics.Select(Cluster.OwnerAsync));
        var victim = owners[0];
        var pid = Cluster.Broker(victim)!.Pid;

        // SIGSTOP: the broker is not dead, only silent; the others declare it dead and take its bundles over.
        Signal("STOP", pid);
        try
        {
            await load.WaitForReceiptsAsync(50, Resume, $"while broker {victim} is paused");
            foreach (var (topic, owner) in topics.Zip(owners).Where(t => t.Second == victim))
                Assert.NotEqual(victim, await OwnerAmongAsync(topic, victim));
        }
        finally
        {
            Signal("CONT", pid);
        }
        // It resumes believing it owns its bundles: it must not acknowledge anything the new owners' logs lack.
        await load.WaitForReceiptsAsync(50, Resume, $"after broker {victim} resumed");
        var exited = await WaitAsync(() => Cluster.Broker(victim)!.HasExited, TimeSpan.FromSeconds(20));
        output.WriteLine($"broker {victim} resumed after being declared dead; {(exited ? "it exited (Orleans ends a silo declared dead)" : "it still runs")}");

        await load.StopAndVerifyAsync(Resume, Cluster, output);
        // Back to three members for the other tests (a silo declared dead must restart anyway).
        Cluster.KillBroker(victim);
        await Cluster.StartBrokerAsync(victim);

        async Task<int> OwnerAmongAsync(string topic, int excluded)
            => Cluster.IndexOf(await Cluster.LookupAsync(Enumerable.Range(0, Cluster.BrokerCount).First(b => b != excluded), topic));
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private static async Task<bool> WaitAsync(Func<bool> condition, TimeSpan within)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
                return false;
            await Task.Delay(100);
        }
        return true;
    }

    /// <summary>Creates public/{name} with <paramref name="bundles"/> bundles, as the admin API stores it.</summary>
    private Task<NamespaceName> CreateNamespaceAsync(string name, int bundles) => Cluster.CreateNamespaceAsync(name, bundles);
}

/// <summary>
/// A fourth broker joining a cluster of three under load is given a fair share of the bundles by
/// the load balancer (every 2 s here), visible in its ownedNamespaces; the clients follow and lose nothing.
/// </summary>
public sealed class BrokerJoinTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_broker_that_joins_gets_a_share_of_the_bundles_within_a_minute_and_clients_follow()
    {
        await using var cluster = await BrokerCluster.StartAsync(1, 2, 3, (2, 2, 2), spareBrokers: 1, "--balance-interval", "2", "--max-moves-per-minute", "30");
        var ns = await cluster.CreateNamespaceAsync("join", bundles: 12);
        var topics = Enumerable.Range(0, 24).Select(i => $"persistent://{ns}/t-{i}").ToArray();
        await using var load = await ClusterLoad.StartAsync(cluster.ServiceUrls, topics, messagesPerSecond: 50);
        await load.WaitForReceiptsAsync(20, TimeSpan.FromSeconds(60), "before the fourth broker joins");
        var placed = (await cluster.Metadata.Client.ListAsync($"{MetadataPaths.BundleOwners}/{ns}/")).Count;

        var joining = Stopwatch.GetTimestamp();
        await cluster.StartBrokerAsync(3);
        // Bundles must move to it, up to its fair share (a move hands the bundle to the chosen broker: no lookup races it).
        var share = Math.Max(1, placed / 4);
        var ownedPath = $"/admin/v2/brokers/{BrokerCluster.Name}/{cluster.BrokerId(3)}/ownedNamespaces";
        int owned;
        while ((owned = CountBundles(await cluster.HttpGetAsync(0, ownedPath))) < share)
        {
            if (Stopwatch.GetElapsedTime(joining) > TimeSpan.FromSeconds(60))
            {
                output.WriteLine(string.Join("\n", cluster.Logs().Split('\n').Where(l => l.Contains("Load balancing", StringComparison.Ordinal) || l.Contains("--- broker", StringComparison.Ordinal))));
                Assert.Fail($"the new broker owns {owned} of {placed} bundles after a minute (fair share {placed / 4})");
            }
            await Task.Delay(200);
        }
        output.WriteLine($"the fourth broker owned {owned} of {placed} bundles {Stopwatch.GetElapsedTime(joining).TotalSeconds:0.0} s after it started");
        output.WriteLine(string.Join("\n", cluster.Logs().Split('\n').Where(l => l.Contains("Load balancing", StringComparison.Ordinal))));
        await load.WaitForReceiptsAsync(20, TimeSpan.FromSeconds(60), "after the bundles moved");
        Assert.Contains(topics, t => cluster.OwnerAsync(t).GetAwaiter().GetResult() == 3);

        await load.StopAndVerifyAsync(TimeSpan.FromSeconds(60), cluster, output);

        static int CountBundles(string json) => System.Text.RegularExpressions.Regex.Count(json, "\"public/join/0x");
    }
}

/// <summary>A broker whose silo port is taken exits at once, naming the setting.</summary>
public sealed class BrokerSiloPortTests
{
    [Fact]
    public async Task A_broker_whose_silo_port_is_taken_exits_with_a_clear_message()
    {
        using var taken = new TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (code, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), "broker", "--metadata", $"127.0.0.1:{TieredProcess.FreePort()}",
            "--grpc-listen", $"127.0.0.1:{TieredProcess.FreePort()}", "--http-listen", $"127.0.0.1:{TieredProcess.FreePort()}", "--silo-port", $"{port}");
        Assert.NotEqual(0, code);
        Assert.Contains("--silo-port", output);
        Assert.Contains("in use", output);
    }
}
