using System.Text;
using Tiered.Client;
using Tiered.Ledger;
using Tiered.Testing;

namespace Tiered.Operator.Tests;

/// <summary>
/// The operator's bookie scale-down against a real cluster's admin API: the Kubernetes side is the double, the
/// cluster is real processes on 127.0.0.1 (a metadata node, four bookies named as the operator names its bookie pods,
/// a broker; E=Qw=Qa=2). The operator must not remove the bookie's pod until the real cluster has drained it: when
/// the pod goes, no ledger names the bookie any more, and killing the bookie then loses no acknowledged message.
/// </summary>
public sealed class RealDecommissionTests
{
    [Fact]
    public async Task The_operator_removes_a_bookie_pod_only_after_the_real_cluster_drained_it()
    {
        await using var real = await BrokerCluster.StartAsync(1, 4, 1, (2, 2, 2), 0, bookieIdPrefix: "real-bookie-", ["--max-entries-per-ledger", "40"]);
        await real.WaitReadyAsync(0, TimeSpan.FromSeconds(60));
        var victim = real.BookieId(3);

        // Data on the victim: topics until some ledger names it (each ledger takes 2 of the 4 bookies).
        var sent = new Dictionary<string, int>();
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = real.ServiceUrls });
        for (var t = 0; (await ReplicationReport.ReadAsync(real.Metadata.Client)).LedgersNaming.GetValueOrDefault(victim) == 0; t++)
        {
            Assert.True(t < 16, $"no ledger of {t} topics names {victim}");
            var topic = $"persistent://public/default/drain-{t}";
            await (await client.SubscribeAsync(new ConsumerOptions(topic, "hold") { InitialPosition = SubscriptionInitialPosition.Earliest })).DisposeAsync();
            await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic));
            for (var i = 0; i < 100; i++)
                await producer.SendAsync(Encoding.UTF8.GetBytes($"{t}-{i}"));
            sent[topic] = 100;
        }

        await using var h = await OperatorHarness.StartAsync();
        h.AdminApi = new Uri(real.HttpUrl(0) + "/");
        h.Create(OperatorHarness.Cluster("real", s => s.Bookies.Replicas = 4));
        await h.WaitReadyAsync("real");
        // When the operator deletes the bookie's ledger volume, how many ledgers of the real cluster still name it.
        var namedWhenVolumeWent = -1;
        h.Api.BeforeWrite(write =>
        {
            if (write is not { Verb: "delete", Plural: "persistentvolumeclaims" } || write.Name != $"ledgers-{victim}")
                return false;
            namedWhenVolumeWent = ReplicationReport.ReadAsync(real.Metadata.Client).GetAwaiter().GetResult().LedgersNaming.GetValueOrDefault(victim);
            return true;
        });

        h.Edit("real", s => s.Bookies.Replicas = 3);
        await h.Api.WaitUntilAsync(() => h.IsReady("real") && h.Api.Get("pods", OperatorHarness.Ns, victim) is null, "the bookie drained and its pod removed",
            TimeSpan.FromSeconds(120));

        Assert.Equal(0, namedWhenVolumeWent);
        Assert.Null(h.Api.Get("persistentvolumeclaims", OperatorHarness.Ns, $"ledgers-{victim}"));
        real.KillBookie(3);
        foreach (var (topic, count) in sent)
        {
            await using var consumer = await client.SubscribeAsync(new ConsumerOptions(topic, "hold"));
            var seen = new HashSet<string>();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (seen.Count < count)
            {
                var message = await consumer.ReceiveAsync(deadline.Token);
                Assert.True(seen.Add(Encoding.UTF8.GetString(message.Payload.Span)), $"{topic}: a message arrived twice");
            }
        }
    }
}
