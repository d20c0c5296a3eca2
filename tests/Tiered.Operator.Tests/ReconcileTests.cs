using System.Text.Json.Nodes;
using Tiered.Operator.Tests.ApiServerDouble;

namespace Tiered.Operator.Tests;

/// <summary>The operator against the API server double: create, idempotence, scale up, conflicts, deletion, bad input.</summary>
public sealed class ReconcileTests
{
    private static readonly (string Plural, string Suffix)[] Owned =
    [
        ("configmaps", "config"),
        ("services", "metadata"), ("services", "bookie"), ("services", "broker"),
        ("poddisruptionbudgets", "metadata"), ("poddisruptionbudgets", "bookie"), ("poddisruptionbudgets", "broker"),
        ("statefulsets", "metadata"), ("statefulsets", "bookie"),
        ("deployments", "broker"),
    ];

    private static Dictionary<string, string?> Versions(KubeApiDouble api, string cluster) =>
        Owned.ToDictionary(o => $"{o.Plural}/{cluster}-{o.Suffix}", o => api.Get(o.Plural, OperatorHarness.Ns, $"{cluster}-{o.Suffix}").Str("metadata", "resourceVersion"));

    [Fact]
    public async Task Create_makes_every_object_owned_by_the_cluster_and_a_second_reconcile_changes_nothing()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("c1", s => s.Bookies.Replicas = 3));
        await h.WaitReadyAsync("c1");

        var cluster = h.Read("c1")!;
        Assert.Contains(ClusterReconciler.Finalizer, cluster.Metadata.Finalizers!);
        foreach (var (plural, suffix) in Owned)
        {
            var o = h.Api.Get(plural, OperatorHarness.Ns, $"c1-{suffix}");
            Assert.True(o is not null, $"{plural} c1-{suffix} was not created");
            var owner = o!["metadata"]!["ownerReferences"]!.AsArray().Single()!;
            Assert.Equal(cluster.Metadata.Uid, owner.Str("uid"));
            Assert.Equal("TieredCluster", owner.Str("kind"));
        }
        Assert.Equal(3, h.Api.Get("statefulsets", OperatorHarness.Ns, "c1-metadata")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(3, h.Api.List("pods", OperatorHarness.Ns).Count(p => p.Str("metadata", "name")!.StartsWith("c1-bookie-", StringComparison.Ordinal)));
        Assert.Equal(2, h.Api.Get("deployments", OperatorHarness.Ns, "c1-broker")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("None", h.Api.Get("services", OperatorHarness.Ns, "c1-bookie").Str("spec", "clusterIP"));
        Assert.Equal(3, cluster.Status!.Metadata!.ReadyReplicas);
        Assert.Equal(3, cluster.Status.Bookies!.ReadyReplicas);
        Assert.Equal(2, cluster.Status.Brokers!.ReadyReplicas);
        Assert.Equal("False", h.Condition("c1", "Degraded")!.Status);
        Assert.Equal("False", h.Condition("c1", "Progressing")!.Status);

        // Idempotent: reconciling again by hand writes nothing (every resourceVersion stays; only the leader renews its lease).
        var before = Versions(h.Api, "c1");
        var clusterVersion = h.Read("c1")!.Metadata.ResourceVersion;
        var writes = h.Api.Audit.Count(a => a.Code == 200 && a.Plural != "leases" && !a.Verb.EndsWith("-noop", StringComparison.Ordinal));
        Assert.Equal(ReconcileOutcome.Done, await h.Reconciler().ReconcileAsync(OperatorHarness.Ns, "c1", CancellationToken.None));
        Assert.Equal(before, Versions(h.Api, "c1"));
        Assert.Equal(clusterVersion, h.Read("c1")!.Metadata.ResourceVersion);
        Assert.Equal(writes, h.Api.Audit.Count(a => a.Code == 200 && a.Plural != "leases" && !a.Verb.EndsWith("-noop", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Changed_replicas_scale_bookies_and_brokers_up()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("c2"));
        await h.WaitReadyAsync("c2");

        h.Edit("c2", s =>
        {
            s.Bookies.Replicas = 5;
            s.Brokers.Replicas = 4;
        });
        await h.WaitReadyAsync("c2");
        Assert.Equal(5, h.Api.Get("statefulsets", OperatorHarness.Ns, "c2-bookie")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.NotNull(h.Api.Get("pods", OperatorHarness.Ns, "c2-bookie-4"));
        Assert.NotNull(h.Api.Get("persistentvolumeclaims", OperatorHarness.Ns, "ledgers-c2-bookie-4"));
        Assert.Equal(4, h.Api.Get("deployments", OperatorHarness.Ns, "c2-broker")!["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(5, h.Read("c2")!.Status!.Bookies!.ReadyReplicas);
        Assert.Equal(4, h.Read("c2")!.Status!.Brokers!.ReadyReplicas);
    }

    [Fact]
    public async Task A_conflict_in_the_middle_of_a_reconcile_is_retried_on_the_object_read_again()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("c3"));
        await h.WaitReadyAsync("c3");

        // Someone else writes the Deployment just before the operator's update reaches the server.
        h.Api.BeforeWrite(write =>
        {
            if (write is not { Verb: "update", Plural: "deployments" })
                return false;
            h.Api.Mutate("deployments", OperatorHarness.Ns, write.Name, o => o["metadata"]!["labels"]!["someone-else"] = "was-here");
            return true;
        });
        h.Edit("c3", s => s.Brokers.Replicas = 3);
        await h.WaitReadyAsync("c3");

        Assert.Equal(3, h.Api.Get("deployments", OperatorHarness.Ns, "c3-broker")!["spec"]!["replicas"]!.GetValue<int>());
        var updates = h.Api.Audit.Where(a => a is { Plural: "deployments", Verb: "update" } && a.User != WorkloadSimulator.User && a.User != "test").ToList();
        Assert.Equal(409, updates[0].Code);
        Assert.Contains(updates.Skip(1), a => a.Code == 200);
    }

    [Fact]
    public async Task Delete_runs_the_finalizer_which_removes_every_object_and_keeps_volumes_unless_told()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("keep"));
        h.Create(OperatorHarness.Cluster("drop", s => s.StorageReclaimPolicy = "Delete"));
        await h.WaitReadyAsync("keep");
        await h.WaitReadyAsync("drop");

        h.Api.Delete(TieredCluster.Plural, OperatorHarness.Ns, "keep");
        h.Api.Delete(TieredCluster.Plural, OperatorHarness.Ns, "drop");
        Assert.Contains(h.Api.Audit, a => a is { Verb: "delete-pending", Name: "keep" });
        await h.Api.WaitUntilAsync(() => h.Read("keep") is null && h.Read("drop") is null, "both clusters gone once their finalizer ran");

        foreach (var name in new[] { "keep", "drop" })
        {
            foreach (var (plural, suffix) in Owned)
                Assert.Null(h.Api.Get(plural, OperatorHarness.Ns, $"{name}-{suffix}"));
            Assert.DoesNotContain(h.Api.List("pods", OperatorHarness.Ns), p => p.Str("metadata", "name")!.StartsWith(name + "-", StringComparison.Ordinal));
        }
        var claims = h.Api.List("persistentvolumeclaims", OperatorHarness.Ns).Select(p => p.Str("metadata", "name")).ToList();
        Assert.Contains("data-keep-metadata-0", claims);
        Assert.Contains("ledgers-keep-bookie-2", claims);
        Assert.DoesNotContain(claims, c => c!.Contains("-drop-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_input_sets_Degraded_with_a_reason_and_changes_or_deletes_nothing()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Create(OperatorHarness.Cluster("even", s => s.Metadata.Replicas = 2));
        h.Create(OperatorHarness.Cluster("quorum", s => s.Ledger = new LedgerSpec { EnsembleSize = 3, WriteQuorum = 2, AckQuorum = 3 }));
        h.Create(OperatorHarness.Cluster("secret", s => s.Offload = new OffloadSpec { Bucket = "b", SecretName = "s3-credentials" }));
        foreach (var (name, reason) in new[] { ("even", "InvalidMetadataReplicas"), ("quorum", "InvalidQuorum"), ("secret", "SecretNotFound") })
        {
            await h.Api.WaitUntilAsync(() => h.Condition(name, "Degraded")?.Status == "True", $"{name} Degraded");
            var degraded = h.Condition(name, "Degraded")!;
            Assert.Equal(reason, degraded.Reason);
            Assert.False(string.IsNullOrEmpty(degraded.Message));
            Assert.Equal("False", h.Condition(name, "Ready")!.Status);
            Assert.Null(h.Api.Get("statefulsets", OperatorHarness.Ns, $"{name}-metadata"));
        }
        Assert.Contains("s3-credentials", h.Condition("secret", "Degraded")!.Message!, StringComparison.Ordinal);

        // The secret appears: the cluster is built.
        h.Api.Create("secrets", OperatorHarness.Ns, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "s3-credentials" },
            ["data"] = new JsonObject { ["AWS_ACCESS_KEY_ID"] = "YQ==", ["AWS_SECRET_ACCESS_KEY"] = "Yg==" },
        });
        h.Edit("secret", s => s.Offload!.Region = "eu-west-1");
        await h.WaitReadyAsync("secret");

        // A running cluster given a bad spec keeps every object as it was.
        var before = Versions(h.Api, "secret");
        var pods = h.Api.List("pods", OperatorHarness.Ns).Count;
        h.Edit("secret", s => s.Ledger.AckQuorum = 3);
        await h.Api.WaitUntilAsync(() => h.Condition("secret", "Degraded")?.Status == "True" && h.Read("secret")!.Status!.ObservedGeneration == h.Read("secret")!.Metadata.Generation, "secret Degraded at the new generation");
        Assert.Equal("InvalidQuorum", h.Condition("secret", "Degraded")!.Reason);
        Assert.Equal(before, Versions(h.Api, "secret"));
        Assert.Equal(pods, h.Api.List("pods", OperatorHarness.Ns).Count);
        Assert.Equal(3, h.Read("secret")!.Status!.Bookies!.ReadyReplicas);
    }
}
