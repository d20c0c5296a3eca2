using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Tiered.Testing;
using Tiered.V1;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// Each role as a process of its own, configured by a config file or by environment variables
/// alone (no flags): it starts, answers /health/live and /health/ready, and its /metrics, read by
/// an independent Prometheus text parser, counts what the test sent.
/// </summary>
public sealed class RoleHostingTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly string _root = Directory.CreateTempSubdirectory("tiered-hosting-").FullName;
    private readonly List<TieredProcess> _processes = [];

    [Theory]
    [InlineData("file")]
    [InlineData("environment")]
    public async Task Every_role_runs_from_its_settings_alone_and_its_health_and_metrics_tell_the_truth(string source)
    {
        int Port() => TieredProcess.FreePort();
        var (metadataPort, raftPort, metadataHttp, bookiePort, bookieHttp, grpcPort, brokerHttp) = (Port(), Port(), Port(), Port(), Port(), Port(), Port());
        await StartAsync(source, "metadata", new()
        {
            ["Metadata:NodeId"] = "1",
            ["Metadata:Listen"] = $"127.0.0.1:{metadataPort}",
            ["Metadata:Peers"] = $"127.0.0.1:{raftPort}",
            ["Metadata:HttpListen"] = $"127.0.0.1:{metadataHttp}",
            ["Metadata:DataDir"] = Path.Combine(_root, "metadata"),
        });
        await StartAsync(source, "bookie", new()
        {
            ["Bookie:Metadata"] = $"127.0.0.1:{metadataPort}",
            ["Bookie:Listen"] = $"127.0.0.1:{bookiePort}",
            ["Bookie:HttpListen"] = $"127.0.0.1:{bookieHttp}",
            ["Bookie:DataDir"] = Path.Combine(_root, "bookie"),
            ["Bookie:JournalPreallocationBytes"] = "0",
            ["Bookie:AutoRecovery"] = "false",
        });
        await StartAsync(source, "broker", new()
        {
            ["Broker:Metadata"] = $"127.0.0.1:{metadataPort}",
            ["Broker:GrpcListen"] = $"127.0.0.1:{grpcPort}",
            ["Broker:HttpListen"] = $"127.0.0.1:{brokerHttp}",
            ["Broker:ManagedLedger:EnsembleSize"] = "1",
            ["Broker:ManagedLedger:WriteQuorum"] = "1",
            ["Broker:ManagedLedger:AckQuorum"] = "1",
        });
        using var http = new HttpClient();
        foreach (var port in new[] { metadataHttp, bookieHttp, brokerHttp })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{port}/health/live")).StatusCode);
            await WaitUntilReadyAsync(http, port);
        }

        // A namespace of its own, then 20 entries of 5 messages each.
        var admin = $"http://127.0.0.1:{brokerHttp}/admin/v2";
        await PutAsync(http, $"{admin}/clusters/standalone", $$"""{"serviceUrl":"http://127.0.0.1:{{brokerHttp}}"}""");
        await PutAsync(http, $"{admin}/tenants/hosting", """{"adminRoles":[],"allowedClusters":["standalone"]}""");
        await PutAsync(http, $"{admin}/namespaces/hosting/ns", "{}");
        const int Entries = 20, PerEntry = 5;
        using (var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}"))
        await using (var producer = await RawProducer.OpenAsync(new Messaging.MessagingClient(channel), "persistent://hosting/ns/counted"))
        {
            var answers = await producer.SendAllAsync(Enumerable.Range(0, Entries).Select(e => RawProducer.Batch(Enumerable.Range(0, PerEntry).Select(i => $"m{e}-{i}"))));
            Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        }

        var broker = await ScrapeAsync(brokerHttp);
        Assert.Equal(Entries * PerEntry, Sum(broker, "pulsar_in_messages_total", ("namespace", "hosting/ns")));
        Assert.Equal(1, Sum(broker, "pulsar_topics_count", ("namespace", "hosting/ns")));
        Assert.Equal(Entries, Count(broker, "pulsar_broker_publish_latency"));
        var bookie = await ScrapeAsync(bookieHttp);
        Assert.Equal(Entries, Count(bookie, "tiered_bookie_add_latency_seconds"));
        var metadata = await ScrapeAsync(metadataHttp);
        Assert.Equal(1, Sum(metadata, "tiered_metadata_raft_is_leader"));
        Assert.True(Count(metadata, "tiered_metadata_proposal_latency_seconds") > 0, "the broker's and bookie's writes went through the proposer");
        // The operations endpoints answer on the HTTP ports only.
        Assert.NotEqual(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{grpcPort}/health/live")).StatusCode);
    }

    [Theory]
    [InlineData("environment", "bookie", "Bookie:Listen", "nowhere", "environment variable TIERED_BOOKIE__LISTEN")]
    [InlineData("file", "broker", "Broker:MaxMessageBytes", "5", "config file")]
    [InlineData("file", "metadata", "Metadata:NodeId", "three", "config file")]
    public async Task A_bad_setting_names_the_setting_and_where_it_came_from(string source, string role, string key, string value, string where)
    {
        var (exitCode, output) = await RunAsync(source, role, new() { [key] = value });
        Assert.Equal(2, exitCode);
        Assert.Contains("error:", output, StringComparison.Ordinal);
        Assert.Contains(key, output, StringComparison.Ordinal);
        Assert.Contains(where, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flag_given_beats_the_environment_and_the_error_says_so()
    {
        var environment = new Dictionary<string, string> { ["TIERED_BOOKIE__LISTEN"] = "127.0.0.1:1" };
        var (exitCode, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), environment, "bookie", "--listen", "nowhere");
        Assert.Equal(2, exitCode);
        Assert.Contains("Bookie:Listen = 'nowhere', from flag --listen", output, StringComparison.Ordinal);
    }

    private async Task StartAsync(string source, string role, Dictionary<string, string> settings)
    {
        var (args, environment) = Arguments(source, role, settings);
        _processes.Add(await TieredProcess.StartAsync("listening on", StartTimeout, environment, args));
    }

    private async Task<(int ExitCode, string Output)> RunAsync(string source, string role, Dictionary<string, string> settings)
    {
        var (args, environment) = Arguments(source, role, settings);
        return await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), environment, args);
    }

    /// <summary>The command line and environment that give <paramref name="settings"/> through <paramref name="source"/> only.</summary>
    private (string[] Args, Dictionary<string, string> Environment) Arguments(string source, string role, Dictionary<string, string> settings)
    {
        if (source == "environment")
            return ([role], settings.ToDictionary(s => "TIERED_" + s.Key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant(), s => s.Value));
        var json = new JsonObject();
        foreach (var (key, value) in settings)
        {
            var node = json;
            var parts = key.Split(':');
            foreach (var part in parts[..^1])
                node = (JsonObject)(node[part] ??= new JsonObject());
            node[parts[^1]] = value;
        }
        var file = Path.Combine(_root, $"{role}-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json.ToJsonString());
        return ([role, "--config", file], []);
    }

    private static async Task WaitUntilReadyAsync(HttpClient http, int port)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            var response = await http.GetAsync($"http://127.0.0.1:{port}/health/ready");
            if (response.StatusCode == HttpStatusCode.OK)
                return;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Port {port} not ready: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(100);
        }
    }

    private static async Task PutAsync(HttpClient http, string url, string json)
    {
        using var response = await http.PutAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"PUT {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement> ScrapeAsync(int port)
    {
        var (exitCode, output, error) = await NodeScript.RunAsync("scrape.js", TimeSpan.FromSeconds(60), $"http://127.0.0.1:{port}/metrics");
        Assert.True(exitCode == 0, error);
        return JsonDocument.Parse(output).RootElement;
    }

    /// <summary>The sum of family <paramref name="name"/>'s samples whose labels match.</summary>
    private static double Sum(JsonElement families, string name, params (string Label, string Value)[] labels)
        => Samples(families, name, labels).Sum(m => double.Parse(m.GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// The observations counted by histogram <paramref name="name"/>, over all its series: its +Inf buckets
    /// (the parser keeps a histogram's buckets but not its labels, count or sum).
    /// </summary>
    private static double Count(JsonElement families, string name)
        => Samples(families, name, []).Sum(m => double.Parse(m.GetProperty("buckets").GetProperty("+Inf").GetString()!, System.Globalization.CultureInfo.InvariantCulture));

    private static IEnumerable<JsonElement> Samples(JsonElement families, string name, (string Label, string Value)[] labels)
    {
        var family = families.EnumerateArray().FirstOrDefault(f => f.GetProperty("name").GetString() == name);
        if (family.ValueKind == JsonValueKind.Undefined)
            Assert.Fail($"No metric {name}; found: {string.Join(", ", families.EnumerateArray().Select(f => f.GetProperty("name").GetString()))}");
        return family.GetProperty("metrics").EnumerateArray().Where(m => labels.All(l =>
            m.TryGetProperty("labels", out var found) && found.TryGetProperty(l.Label, out var v) && v.GetString() == l.Value));
    }

    public void Dispose()
    {
        foreach (var process in _processes)
            process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
