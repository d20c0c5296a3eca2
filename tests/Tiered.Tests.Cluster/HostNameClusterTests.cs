using Grpc.Net.Client;
using Tiered.Testing;
using Tiered.V1;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// A cluster whose every address is a host name (one that resolves to 127.0.0.1, other than
/// localhost): 3 metadata nodes, 2 bookies with ids of their own, and a broker. A bookie moved to
/// another port under the same id keeps its ledgers and keeps taking writes; a bookie given
/// another's data directory refuses to start.
/// </summary>
public sealed class HostNameClusterTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_cluster_addressed_by_host_names_serves_every_message_and_a_bookie_moves_port_under_its_id()
    {
        var name = LoopbackHostName.Require();
        await using var metadata = await MetadataCluster.StartAsync(3, name);
        await metadata.WaitForLeaderAsync(StartTimeout);
        var metadataAddresses = string.Join(',', metadata.Addresses);
        var bookieData = new[] { Path.Combine(metadata.DataRoot, "b1"), Path.Combine(metadata.DataRoot, "b2") };
        TieredProcess StartBookie(int index, int port) => TieredProcess.StartAsync("listening on", StartTimeout,
            "bookie", "--metadata", metadataAddresses, "--listen", $"{name}:{port}", "--id", $"bookie-{index + 1}",
            "--data-dir", bookieData[index], "--journal-preallocation-mb", "0", "--no-auto-recovery", "--log-level", "Warning").GetAwaiter().GetResult();
        var bookies = new[] { StartBookie(0, TieredProcess.FreePort()), StartBookie(1, TieredProcess.FreePort()) };
        var (grpcPort, httpPort, siloPort) = (TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort());
        // Restarted on the same silo port, as a deployment does: the new silo replaces its dead predecessor at once.
        string[] brokerArgs = ["broker", "--metadata", metadataAddresses, "--grpc-listen", $"{name}:{grpcPort}", "--http-listen", $"{name}:{httpPort}",
            "--silo-port", $"{siloPort}",
            "--ensemble-size", "2", "--write-quorum", "2", "--ack-quorum", "2", "--log-level", "Warning"];
        var broker = await TieredProcess.StartAsync("broker listening on", StartTimeout, brokerArgs);
        try
        {
            Assert.Equal(["bookie-1", "bookie-2"], (await metadata.Client.ListChildrenAsync("/bookies/available")).Order());
            Assert.Contains($"{name}:{httpPort}", await metadata.Client.ListChildrenAsync("/brokers"));

            var topic = $"persistent://public/default/names-{Guid.NewGuid():N}";
            await CreatePublicDefaultAsync(name, httpPort);
            using var channel = GrpcChannel.ForAddress($"http://{name}:{grpcPort}");
            var client = new Messaging.MessagingClient(channel);
            var lookup = await client.LookupAsync(new LookupRequest { Topic = topic });
            Assert.Contains(name, lookup.BrokerUrl, StringComparison.Ordinal);
            var acknowledged = await PublishAsync(client, topic, 0, 100);

            // bookie-2 comes back on another port, same id and data: its registration follows, and with
            // an ack quorum of 2 every new entry needs its answer at the new address.
            var oldAddress = (await metadata.Client.GetAsync("/bookies/available/bookie-2"))!.Value.ToStringUtf8();
            bookies[1].Dispose();
            var newPort = TieredProcess.FreePort();
            bookies[1] = StartBookie(1, newPort);
            var deadline = DateTime.UtcNow + Wait;
            while ((await metadata.Client.GetAsync("/bookies/available/bookie-2"))?.Value.ToStringUtf8() != $"{name}:{newPort}")
            {
                Assert.True(DateTime.UtcNow < deadline, "bookie-2 did not register its new address");
                await Task.Delay(100);
            }
            Assert.NotEqual(oldAddress, $"{name}:{newPort}");
            acknowledged.AddRange(await PublishAsync(client, topic, 100, 100));

            // A broker that starts over recovers the topic from the bookies, and a fresh reader sees every message once.
            broker.Dispose();
            broker = await TieredProcess.StartAsync("broker listening on", StartTimeout, brokerArgs);
            using var channel2 = GrpcChannel.ForAddress($"http://{name}:{grpcPort}");
            await using var reader = await RawConsumer.SubscribeAsync(new Messaging.MessagingClient(channel2),
                new Subscribe { Topic = topic, Reader = true, InitialPosition = InitialPosition.Earliest });
            var read = new List<string>();
            while (read.Count < acknowledged.Count && await reader.ReceiveAsync(Wait) is { } message)
                read.Add(message.Payload);
            var lost = acknowledged.Except(read).Count();
            var duplicated = read.Count - read.Distinct().Count();
            Assert.True(lost == 0 && duplicated == 0, $"acknowledged {acknowledged.Count}, read {read.Count}, lost {lost}, duplicated {duplicated}");

            // Another bookie on bookie-1's data refuses to start, and says why.
            var (exitCode, output) = await TieredProcess.RunAsync(StartTimeout, "bookie", "--metadata", metadataAddresses,
                "--listen", $"{name}:{TieredProcess.FreePort()}", "--id", "bookie-3", "--data-dir", bookieData[0], "--journal-preallocation-mb", "0");
            Assert.NotEqual(0, exitCode);
            Assert.Contains("bookie-1", output, StringComparison.Ordinal);
            Assert.DoesNotContain("bookie-3", await metadata.Client.ListChildrenAsync("/bookies/available"));
        }
        finally
        {
            broker.Dispose();
            foreach (var bookie in bookies)
                bookie.Dispose();
        }
    }

    private static async Task CreatePublicDefaultAsync(string host, int httpPort)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{host}:{httpPort}") };
        foreach (var (path, body) in new[]
        {
            ("/admin/v2/clusters/standalone", $$"""{"serviceUrl":"http://{{host}}:{{httpPort}}"}"""),
            ("/admin/v2/tenants/public", """{"adminRoles":[],"allowedClusters":["standalone"]}"""),
            ("/admin/v2/namespaces/public/default", "{}"),
        })
        {
            using var response = await http.PutAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>
    /// Publishes <paramref name="count"/> messages in batches of 5, sending a refused batch again as a client
    /// would (a write in flight to a bookie that went away fails once); returns the acknowledged messages.
    /// </summary>
    private static async Task<List<string>> PublishAsync(Messaging.MessagingClient client, string topic, int first, int count)
    {
        var pending = Enumerable.Range(first, count).Select(i => $"m{i}").Chunk(5).ToList();
        var acknowledged = new List<string>();
        for (var attempt = 0; pending.Count > 0 && attempt < 5; attempt++)
        {
            await using var producer = await RawProducer.OpenAsync(client, topic);
            var answers = await producer.SendAllAsync(pending.Select(chunk => RawProducer.Batch(chunk)));
            var refused = new List<string[]>();
            for (var i = 0; i < pending.Count; i++)
            {
                if (answers[i].ResponseCase == ProduceResponse.ResponseOneofCase.Receipt)
                    acknowledged.AddRange(pending[i]);
                else
                    refused.Add(pending[i]);
            }
            pending = refused;
        }
        Assert.Empty(pending);
        return acknowledged;
    }
}
