using Tiered.Operator.Tests.ApiServerDouble;

namespace Tiered.Operator.Tests;

/// <summary>Rolling upgrade, safe bookie scale-down and leader election, against the double and a fake admin endpoint.</summary>
public sealed class OperationsTests
{
    private static string? ImageOf(System.Text.Json.Nodes.JsonObject pod) => pod["spec"]!["containers"]![0].Str("image");

    [Fact]
    public async Task An_image_change_rolls_metadata_then_bookies_then_brokers_one_pod_at_a_time_waiting_for_readiness()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("up"));
        await h.WaitReadyAsync("up");

        h.Api.Workloads.AutoReady = false;
        h.Api.Workloads.DeploymentsAvailable = false;
        h.Api.Workloads.Resync();
        // Resync made the brokers unavailable at the old image; bring them back so that only the upgrade is watched.
        h.Api.Workloads.DeploymentsAvailable = true;
        h.Api.Workloads.Resync();
        h.Edit("up", s => s.Image = "tiered:2.0");

        List<System.Text.Json.Nodes.JsonObject> Pods() => [.. h.Api.List("pods", OperatorHarness.Ns)
            .Where(p => p.Str("metadata", "name")!.StartsWith("up-metadata-", StringComparison.Ordinal) || p.Str("metadata", "name")!.StartsWith("up-bookie-", StringComparison.Ordinal))];
        var expected = new[] { "up-metadata-2", "up-metadata-1", "up-metadata-0", "up-bookie-2", "up-bookie-1", "up-bookie-0" };
        var replaced = new List<string>();
        for (var step = 0; step < expected.Length; step++)
        {
            var count = step + 1;
            await h.Api.WaitUntilAsync(() => Pods().Count(p => ImageOf(p) == "tiered:2.0") >= count, $"pod {count} of 6 replaced");
            var pods = Pods();
            var unready = pods.Where(p => !WorkloadSimulator.IsReady(p)).ToList();
            // The readiness gate: the operator replaced one pod and waits for it.
            Assert.Single(unready);
            Assert.Equal(count, pods.Count(p => ImageOf(p) == "tiered:2.0"));
            var name = unready[0].Str("metadata", "name")!;
            Assert.Equal("tiered:2.0", ImageOf(unready[0]));
            replaced.Add(name);
            // The brokers keep the old image until every metadata node and bookie runs the new one.
            Assert.Equal("tiered:1.0", h.Api.Get("deployments", OperatorHarness.Ns, "up-broker")!["spec"]!["template"]!["spec"]!["containers"]![0].Str("image"));
            await h.Api.WaitUntilAsync(() => h.Condition("up", "Progressing")?.Status == "True" && h.Condition("up", "Ready")?.Status == "False",
                "the cluster reported Progressing, not Ready, while a pod is replaced");
            // Once the last bookie is ready the brokers' Deployment is updated: from then on it reports its rollout unfinished.
            if (step == expected.Length - 1)
                h.Api.Workloads.DeploymentsAvailable = false;
            h.Api.Workloads.SetPodReady(OperatorHarness.Ns, name);
        }
        Assert.Equal(expected, replaced);

        // Now the brokers: the Deployment gets the image; the cluster is Ready only once the Deployment reports it rolled out.
        await h.Api.WaitUntilAsync(() => h.Api.Get("deployments", OperatorHarness.Ns, "up-broker")!["spec"]!["template"]!["spec"]!["containers"]![0].Str("image") == "tiered:2.0",
            "the broker Deployment updated");
        h.Api.Workloads.Resync();
        await h.Api.WaitUntilAsync(() => h.Condition("up", "Progressing")?.Reason == "RollingOutBrokers", "waiting for the brokers' rollout");
        Assert.False(h.IsReady("up"));
        h.Api.Workloads.DeploymentsAvailable = true;
        h.Api.Workloads.Resync();
        await h.WaitReadyAsync("up");
        Assert.Equal("tiered:2.0", h.Read("up")!.Status!.Bookies!.Image);
        Assert.Equal(3, h.Read("up")!.Status!.Bookies!.UpdatedReplicas);
        // A rollout that regresses later (brokers no longer available) is seen through the watch on the Deployment,
        // without any change to the TieredCluster.
        h.Api.Workloads.DeploymentsAvailable = false;
        h.Api.Workloads.Resync();
        await h.Api.WaitUntilAsync(() => h.Condition("up", "Ready")?.Status == "False" && h.Condition("up", "Progressing")?.Reason == "RollingOutBrokers",
            "the cluster no longer Ready once its brokers are unavailable");
        h.Api.Workloads.DeploymentsAvailable = true;
        h.Api.Workloads.Resync();
        await h.WaitReadyAsync("up");
        // Exactly six pod deletions by the operator, nothing else restarted.
        Assert.Equal(expected, h.Api.Audit.Where(a => a is { Plural: "pods", Verb: "delete" } && a.User != WorkloadSimulator.User && a.User != "test").Select(a => a.Name));
    }

    [Fact]
    public async Task Scaling_bookies_down_drains_the_bookie_first_and_removes_its_pod_and_volumes_only_when_done()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("dn", s => s.Bookies.Replicas = 4));
        await h.WaitReadyAsync("dn");
        var auditAtDone = -1;
        h.Admin.AnsweredDone = _ => auditAtDone = auditAtDone < 0 ? h.Api.Audit.Count : auditAtDone;

        h.Edit("dn", s => s.Bookies.Replicas = 3);
        await h.Api.WaitUntilAsync(() => h.Admin.Calls.Count(c => c == "GET dn-bookie-3 Running") >= 2, "the operator started the drain and is polling it");
        Assert.Equal("GET dn-bookie-3 404", h.Admin.Calls[0]);
        Assert.Equal("POST dn-bookie-3", h.Admin.Calls[1]);
        // While the drain runs, the bookie stays.
        Assert.Equal(4, h.Api.Get("statefulsets", OperatorHarness.Ns, "dn-bookie")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.NotNull(h.Api.Get("pods", OperatorHarness.Ns, "dn-bookie-3"));
        await h.Api.WaitUntilAsync(() => h.Condition("dn", "Progressing")?.Reason == "DecommissioningBookie", "Progressing: DecommissioningBookie");
        Assert.Equal("dn-bookie-3", h.Read("dn")!.Status!.DecommissioningBookie);
        Assert.Contains("7 ledgers remaining", h.Condition("dn", "Progressing")!.Message!, StringComparison.Ordinal);

        h.Admin.Complete("dn-bookie-3");
        await h.WaitReadyAsync("dn");
        Assert.Equal(3, h.Api.Get("statefulsets", OperatorHarness.Ns, "dn-bookie")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.Null(h.Api.Get("pods", OperatorHarness.Ns, "dn-bookie-3"));
        Assert.Null(h.Api.Get("persistentvolumeclaims", OperatorHarness.Ns, "ledgers-dn-bookie-3"));
        Assert.Null(h.Api.Get("persistentvolumeclaims", OperatorHarness.Ns, "journal-dn-bookie-3"));
        Assert.NotNull(h.Api.Get("persistentvolumeclaims", OperatorHarness.Ns, "ledgers-dn-bookie-2"));
        Assert.Null(h.Read("dn")!.Status!.DecommissioningBookie);
        // The order: the pod went (the StatefulSet scaled down) only after the admin API answered Done.
        var audit = h.Api.Audit;
        var scaledDown = audit.First(a => a is { Plural: "pods", Verb: "delete", Name: "dn-bookie-3" });
        Assert.True(auditAtDone > 0 && scaledDown.Sequence > auditAtDone, $"the pod was deleted at {scaledDown.Sequence}, Done was answered at {auditAtDone}");
        Assert.DoesNotContain(h.Admin.Calls, c => c.Contains("dn-bookie-2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_decommission_leaves_every_bookie_and_says_why_as_Degraded()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("refused", s => s.Bookies.Replicas = 3));
        await h.WaitReadyAsync("refused");
        h.Admin.Refuse("refused-bookie-2", "2 writable bookies would remain, fewer than the ensemble size 3 of ledger 7.");

        h.Edit("refused", s => s.Bookies.Replicas = 2);
        await h.Api.WaitUntilAsync(() => h.Condition("refused", "Degraded")?.Status == "True", "Degraded");

        var degraded = h.Condition("refused", "Degraded")!;
        Assert.Equal("DecommissionRefused", degraded.Reason);
        Assert.Contains("fewer than the ensemble size 3", degraded.Message!, StringComparison.Ordinal);
        Assert.Equal(3, h.Api.Get("statefulsets", OperatorHarness.Ns, "refused-bookie")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.NotNull(h.Api.Get("pods", OperatorHarness.Ns, "refused-bookie-2"));
        Assert.NotNull(h.Api.Get("persistentvolumeclaims", OperatorHarness.Ns, "ledgers-refused-bookie-2"));
    }

    [Fact]
    public async Task Geo_replication_peers_are_registered_through_the_admin_api_and_corrected_when_they_change()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("geo", s => s.GeoReplication = new GeoReplicationSpec
        {
            ClusterName = "eu",
            Peers = [new GeoPeer { Name = "us", ServiceUrl = "http://us-broker:6650", AdminUrl = "http://us-broker:8080" }],
        }));
        await h.WaitReadyAsync("geo");
        Assert.Contains("PUT cluster us {\"serviceUrl\":\"http://us-broker:8080\",\"brokerServiceUrl\":\"http://us-broker:6650\"}", h.Admin.Calls);

        h.Edit("geo", s => s.GeoReplication!.Peers[0].ServiceUrl = "http://us-broker-2:6650");
        await h.Api.WaitUntilAsync(() => h.Admin.Calls.Any(c => c.StartsWith("POST cluster us", StringComparison.Ordinal)), "the peer's URL corrected");
        await h.WaitReadyAsync("geo");
        Assert.Single(h.Admin.Calls, c => c.StartsWith("PUT cluster", StringComparison.Ordinal));
        Assert.Contains("http://us-broker-2:6650", h.Admin.Calls.Last(c => c.StartsWith("POST cluster us", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_operator_replicas_elect_one_leader_and_the_other_takes_over_when_it_stops()
    {
        await using var h = await OperatorHarness.StartAsync(withOperator: false);
        var a = h.StartOperator("operator-a");
        var b = h.StartOperator("operator-b");
        await h.Api.WaitUntilAsync(() => a.IsLeader || b.IsLeader, "a leader elected");
        var (leader, follower) = a.IsLeader ? (a, b) : (b, a);
        Assert.False(follower.IsLeader);
        var lease = h.Api.Get("leases", "tiered-system", "tiered-operator")!;
        Assert.Equal(leader == a ? "operator-a" : "operator-b", lease.Str("spec", "holderIdentity"));

        h.Create(OperatorHarness.Cluster("le"));
        await h.WaitReadyAsync("le");
        Assert.True(leader.Reconciles > 0);
        Assert.Equal(0, follower.Reconciles);
        Assert.False(follower.IsLeader);

        await h.StopOperatorAsync(leader);
        await h.Api.WaitUntilAsync(() => follower.IsLeader, "the other replica takes the lease", TimeSpan.FromSeconds(15));
        h.Edit("le", s => s.Brokers.Replicas = 3);
        await h.WaitReadyAsync("le");
        Assert.Equal(3, h.Api.Get("deployments", OperatorHarness.Ns, "le-broker")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.True(follower.Reconciles > 0);
    }
}
