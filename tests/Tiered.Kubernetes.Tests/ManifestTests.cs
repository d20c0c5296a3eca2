using System.Text.Json.Nodes;
using static Tiered.Kubernetes.Tests.Manifests;

namespace Tiered.Kubernetes.Tests;

/// <summary>
/// k8s/base (and the example overlay) rendered by the real <c>kubectl kustomize</c>, validated against the
/// Kubernetes API's schemas by kubernetes-models, and checked for what makes the cluster work: the metadata
/// quorum, the bookies' volumes, the probes, the spreading over nodes.
/// </summary>
public sealed class ManifestTests(RenderedManifests rendered) : IClassFixture<RenderedManifests>
{
    [Fact]
    public async Task The_base_renders_and_every_object_is_valid()
    {
        Assert.NotEmpty(rendered.Base);
        var (exitCode, output, _) = await Tools.ValidateAsync(rendered.BaseFile);
        Assert.True(exitCode == 0, output);
        Assert.Contains("14 valid, 0 invalid, 0 skipped", output);
        Assert.Equal(
            ["ConfigMap tiered-bookie", "ConfigMap tiered-broker", "ConfigMap tiered-metadata", "Deployment tiered-broker", "Job tiered-initialize-cluster",
             "NetworkPolicy tiered-internal", "PodDisruptionBudget tiered-bookie", "PodDisruptionBudget tiered-broker", "PodDisruptionBudget tiered-metadata",
             "Service tiered-bookie", "Service tiered-broker", "Service tiered-metadata", "StatefulSet tiered-bookie", "StatefulSet tiered-metadata"],
            rendered.Base.OfType<JsonObject>().Select(o => $"{Kind(o)} {Name(o)}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_metadata_nodes_are_a_stateful_set_of_3_whose_raft_peers_are_the_headless_service_names()
    {
        var metadata = Find(rendered.Base, "StatefulSet", "tiered-metadata");
        Assert.Equal(3, (int)metadata["spec"]!["replicas"]!);
        // OrderedReady would deadlock: the first node is not ready (no leader) until a majority runs.
        Assert.Equal("Parallel", (string)metadata["spec"]!["podManagementPolicy"]!);
        var serviceName = (string)metadata["spec"]!["serviceName"]!;
        var service = Find(rendered.Base, "Service", serviceName);
        Assert.Equal("None", (string)service["spec"]!["clusterIP"]!);
        Assert.True((bool)service["spec"]!["publishNotReadyAddresses"]!, "peers must resolve each other before any node is ready");
        AssertSelects(service["spec"]!["selector"]!.AsObject(), metadata);

        var container = Container(metadata);
        var environment = Environment(rendered.Base, container, new Dictionary<string, string> { ["POD_NAME"] = "tiered-metadata-1" });
        var raftPort = Port(container, "raft");
        Assert.Equal(
            Enumerable.Range(0, 3).Select(i => $"tiered-metadata-{i}.{serviceName}:{raftPort}"),
            environment["TIERED_METADATA__PEERS"].Split(','));
        // Clients are told the leader's --listen, so it is the node's own stable name, not 0.0.0.0.
        Assert.Equal($"tiered-metadata-1.{serviceName}:{Port(container, "grpc")}", environment["TIERED_METADATA__LISTEN"]);
        Assert.Contains("--node-id \"$((ordinal + 1))\"", string.Join(' ', container["args"]!.AsArray().Select(a => (string)a!)));

        var claim = Assert.Single(metadata["spec"]!["volumeClaimTemplates"]!.AsArray())!;
        Assert.Equal("data", (string)claim["metadata"]!["name"]!);
        Assert.StartsWith(MountPath(container, "data") + "/", environment["TIERED_METADATA__DATADIR"]);
        AssertRequiredAntiAffinity(metadata);
    }

    [Fact]
    public void The_bookies_have_a_journal_volume_and_a_ledger_volume_and_a_stable_identity()
    {
        var bookies = Find(rendered.Base, "StatefulSet", "tiered-bookie");
        Assert.Equal(["journal", "ledgers"], bookies["spec"]!["volumeClaimTemplates"]!.AsArray().Select(c => (string)c!["metadata"]!["name"]!).Order(StringComparer.Ordinal));
        var container = Container(bookies);
        var environment = Environment(rendered.Base, container, new Dictionary<string, string> { ["POD_NAME"] = "tiered-bookie-2" });
        Assert.StartsWith(MountPath(container, "journal") + "/", environment["TIERED_BOOKIE__JOURNALDIR"]);
        Assert.StartsWith(MountPath(container, "ledgers") + "/", environment["TIERED_BOOKIE__DATADIR"]);
        var serviceName = (string)bookies["spec"]!["serviceName"]!;
        Assert.Equal("None", (string)Find(rendered.Base, "Service", serviceName)["spec"]!["clusterIP"]!);
        Assert.Equal($"tiered-bookie-2.{serviceName}:{Port(container, "grpc")}", environment["TIERED_BOOKIE__ADVERTISEDADDRESS"]);
        Assert.Equal(MetadataClientAddresses(), environment["TIERED_BOOKIE__METADATA"].Split(','));
        AssertRequiredAntiAffinity(bookies);
    }

    [Fact]
    public void The_brokers_are_a_deployment_behind_a_service_on_6650_and_8080_advertising_their_pod_ip()
    {
        var brokers = Find(rendered.Base, "Deployment", "tiered-broker");
        var service = Find(rendered.Base, "Service", "tiered-broker");
        AssertSelects(service["spec"]!["selector"]!.AsObject(), brokers);
        Assert.Equal(["grpc 6650", "http 8080"], service["spec"]!["ports"]!.AsArray().Select(p => $"{p!["targetPort"]} {p["port"]}").Order(StringComparer.Ordinal));
        var container = Container(brokers);
        Assert.Equal(6650, Port(container, "grpc"));
        Assert.Equal(8080, Port(container, "http"));
        var environment = Environment(rendered.Base, container, new Dictionary<string, string> { ["POD_IP"] = "10.1.2.3" });
        Assert.Equal("http://10.1.2.3:6650", environment["TIERED_BROKER__ADVERTISEDURL"]);
        Assert.Equal(MetadataClientAddresses(), environment["TIERED_BROKER__METADATA"].Split(','));
        var secretKeys = container["env"]!.AsArray().Where(e => e!["valueFrom"]?["secretKeyRef"] is not null).Select(e => e!["valueFrom"]!["secretKeyRef"]!).ToList();
        Assert.Equal(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], secretKeys.Select(k => (string)k!["key"]!));
        Assert.All(secretKeys, k => Assert.Equal("tiered-offload", (string)k!["name"]!));
        Assert.NotNull(PodSpec(brokers)["affinity"]!["podAntiAffinity"]!["preferredDuringSchedulingIgnoredDuringExecution"]);
        // The Job registers the cluster under the brokers' name.
        var initialize = Container(Find(rendered.Base, "Job", "tiered-initialize-cluster"));
        Assert.Contains("--cluster-name \"$TIERED_BROKER__CLUSTERNAME\"", (string)initialize["args"]![0]!);
        Assert.Equal("tiered-broker", (string)initialize["envFrom"]![0]!["configMapRef"]!["name"]!);
    }

    [Theory]
    [InlineData("StatefulSet", "tiered-metadata", "TIERED_METADATA__HTTPLISTEN")]
    [InlineData("StatefulSet", "tiered-bookie", "TIERED_BOOKIE__HTTPLISTEN")]
    [InlineData("Deployment", "tiered-broker", "TIERED_BROKER__HTTPLISTEN")]
    public void Every_role_is_probed_on_its_http_port_has_resources_and_a_disruption_budget(string kind, string name, string httpListen)
    {
        var workload = Find(rendered.Base, kind, name);
        var container = Container(workload);
        var environment = Environment(rendered.Base, container, new Dictionary<string, string> { ["POD_NAME"] = $"{name}-0", ["POD_IP"] = "10.1.2.3" });
        Assert.Equal($"0.0.0.0:{Port(container, "http")}", environment[httpListen]);
        foreach (var (probe, path) in new[] { ("startupProbe", "/health/live"), ("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready") })
        {
            Assert.Equal(path, (string)container[probe]!["httpGet"]!["path"]!);
            Assert.Equal("http", (string)container[probe]!["httpGet"]!["port"]!);
        }
        Assert.NotNull(container["resources"]!["requests"]!["cpu"]);
        Assert.NotNull(container["resources"]!["requests"]!["memory"]);
        Assert.NotNull(container["resources"]!["limits"]!["memory"]);
        Assert.True((bool)PodSpec(workload)["securityContext"]!["runAsNonRoot"]!);

        var budget = Find(rendered.Base, "PodDisruptionBudget", name);
        Assert.Equal(1, (int)budget["spec"]!["maxUnavailable"]!);
        AssertSelects(budget["spec"]!["selector"]!["matchLabels"]!.AsObject(), workload);
    }

    [Fact]
    public async Task The_example_overlay_renders_and_every_object_is_valid()
    {
        Assert.NotEmpty(rendered.Overlay);
        var (exitCode, output, _) = await Tools.ValidateAsync(rendered.OverlayFile);
        Assert.True(exitCode == 0, output);
        Assert.Contains("16 valid, 0 invalid, 0 skipped", output);
    }

    [Fact]
    public void The_example_overlay_sets_the_namespace_image_secret_and_sizes()
    {
        foreach (var o in rendered.Overlay.OfType<JsonObject>().Where(o => Kind(o) != "Namespace"))
            Assert.Equal("tiered", (string?)o["metadata"]!["namespace"]);
        foreach (var workload in OfKind(rendered.Overlay, "StatefulSet").Concat(OfKind(rendered.Overlay, "Deployment")).Concat(OfKind(rendered.Overlay, "Job")))
            Assert.Equal("registry.example.com/tiered:0.1.0", (string)Container(workload)["image"]!);
        var secret = Assert.Single(OfKind(rendered.Overlay, "Secret"));
        var brokers = Find(rendered.Overlay, "Deployment", "tiered-broker");
        Assert.Equal(3, (int)brokers["spec"]!["replicas"]!);
        Assert.All(Container(brokers)["env"]!.AsArray().Where(e => e!["valueFrom"]?["secretKeyRef"] is not null),
            e => Assert.Equal(Name(secret), (string)e!["valueFrom"]!["secretKeyRef"]!["name"]!));
        var environment = Environment(rendered.Overlay, Container(brokers), new Dictionary<string, string> { ["POD_IP"] = "10.1.2.3" });
        Assert.Equal("s3", environment["TIERED_BROKER__DEFAULTOFFLOADSTORE__DRIVER"]);
        var claims = Find(rendered.Overlay, "StatefulSet", "tiered-bookie")["spec"]!["volumeClaimTemplates"]!.AsArray();
        Assert.Equal(["journal fast-ssd 20Gi", "ledgers fast-ssd 500Gi"],
            claims.Select(c => $"{c!["metadata"]!["name"]} {c["spec"]!["storageClassName"]} {c["spec"]!["resources"]!["requests"]!["storage"]}").Order(StringComparer.Ordinal));
    }

    private static string[] MetadataClientAddresses() => [.. Enumerable.Range(0, 3).Select(i => $"tiered-metadata-{i}.tiered-metadata:2181")];

    private static void AssertSelects(JsonObject selector, JsonObject workload)
    {
        var labels = PodLabels(workload);
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
            Assert.Equal((string?)value, (string?)labels[key]);
    }

    /// <summary>No two pods of the workload on one Kubernetes node.</summary>
    private static void AssertRequiredAntiAffinity(JsonObject workload)
    {
        var term = Assert.Single(PodSpec(workload)["affinity"]!["podAntiAffinity"]!["requiredDuringSchedulingIgnoredDuringExecution"]!.AsArray())!;
        Assert.Equal("kubernetes.io/hostname", (string)term["topologyKey"]!);
        AssertSelects(term["labelSelector"]!["matchLabels"]!.AsObject(), workload);
    }
}
