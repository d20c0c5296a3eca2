using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Tiered.Operator.Tests.ApiServerDouble;

namespace Tiered.Operator.Tests;

/// <summary>
/// Writes every object the operator generates (for a cluster using every feature: offload, authentication,
/// geo-replication, resources, storage class) as JSON files under the temp folder
/// (<c>tiered-operator-objects/</c>), and validates them, with the CRD and k8s/operator, against the Kubernetes
/// OpenAPI schemas by the independent validator <c>tests/k8s/validate.mjs</c> when that script is in the
/// repository (it is written apart from the operator).
/// </summary>
public sealed class GeneratedObjectsTests
{
    private static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Tiered.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Tiered.sln not found above the test's folder");
        }
    }

    internal static TieredCluster FullCluster()
    {
        var c = OperatorHarness.Cluster("prod", s =>
        {
            s.Bookies.Replicas = 4;
            s.Bookies.StorageClass = "fast-ssd";
            s.Bookies.Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2"), ["memory"] = new("4Gi") },
                Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("4Gi") },
            };
            s.Brokers.Replicas = 3;
            s.Ledger = new LedgerSpec { EnsembleSize = 3, WriteQuorum = 3, AckQuorum = 2 };
            s.Offload = new OffloadSpec { Endpoint = "https://s3.example.com", Region = "eu-west-1", Bucket = "tiered-offload", SecretName = "s3-credentials" };
            s.Authentication = new AuthenticationSpec { SecretName = "tiered-token-key", SuperuserRoles = ["admin"] };
            s.GeoReplication = new GeoReplicationSpec { ClusterName = "eu", Peers = [new GeoPeer { Name = "us", ServiceUrl = "http://us-broker:6650", AdminUrl = "http://us-broker:8080" }] };
        });
        c.Metadata.Uid = "7d0c6f4e-2a55-4d38-9f0e-3e1c7a1b2c3d";
        return c;
    }

    internal static IEnumerable<IKubernetesObject<V1ObjectMeta>> Generate(TieredCluster c)
    {
        yield return ClusterResources.ConfigMap(c);
        foreach (var component in Enum.GetValues<Component>())
        {
            yield return ClusterResources.Service(c, component);
            yield return ClusterResources.DisruptionBudget(c, component);
        }
        yield return ClusterResources.StatefulSet(c, Component.Metadata, c.Spec.Metadata.Replicas);
        yield return ClusterResources.StatefulSet(c, Component.Bookie, c.Spec.Bookies.Replicas);
        yield return ClusterResources.Deployment(c);
    }

    [Fact]
    public async Task Every_generated_object_is_written_as_json_and_passes_the_kubernetes_schema_validator()
    {
        var folder = Path.Combine(Path.GetTempPath(), "tiered-operator-objects");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        foreach (var o in Generate(FullCluster()))
        {
            var json = KubernetesJson.Serialize(o);
            var parsed = JsonNode.Parse(json)!;
            Assert.False(string.IsNullOrEmpty(parsed.Str("apiVersion")), $"{o.Metadata.Name} has no apiVersion");
            Assert.False(string.IsNullOrEmpty(parsed.Str("kind")), $"{o.Metadata.Name} has no kind");
            var file = Path.Combine(folder, $"{o.Kind}-{o.Metadata.Name}.json");
            await File.WriteAllTextAsync(file, json);
            files.Add(file);
        }
        Assert.Equal(10, files.Count);

        var validator = Path.Combine(RepositoryRoot, "tests", "k8s", "validate.mjs");
        if (!File.Exists(validator))
            return; // Not merged yet: the files stay in the temp folder for `node tests/k8s/validate.mjs FILE...`.
        foreach (var k8sFolder in new[] { "crd", "operator" })
            files.AddRange(Directory.GetFiles(Path.Combine(RepositoryRoot, "k8s", k8sFolder), "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml"));
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot };
        info.ArgumentList.Add(validator);
        foreach (var f in files)
            info.ArgumentList.Add(f);
        using var node = Process.Start(info) ?? throw new InvalidOperationException("Cannot start node: is Node.js installed?");
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(node.ExitCode == 0, $"tests/k8s/validate.mjs refused generated objects:\n{await output}\n{await error}");
    }

    [Fact]
    public void The_pod_template_hash_changes_with_the_image_and_the_settings_but_not_otherwise()
    {
        static string TemplateHash(TieredCluster c) =>
            ClusterResources.StatefulSet(c, Component.Bookie, 3).Spec.Template.Metadata.Annotations[ClusterResources.TemplateHashAnnotation];
        var a = FullCluster();
        var same = FullCluster();
        Assert.Equal(TemplateHash(a), TemplateHash(same));
        var image = FullCluster();
        image.Spec.Bookies.Image = "tiered:9";
        Assert.NotEqual(TemplateHash(a), TemplateHash(image));
        var quorum = FullCluster();
        quorum.Spec.Ledger.AckQuorum = 1;
        Assert.NotEqual(TemplateHash(a), TemplateHash(quorum));
        // Replicas are not part of the pod: scaling restarts nothing.
        Assert.Equal(TemplateHash(a), ClusterResources.StatefulSet(a, Component.Bookie, 7).Spec.Template.Metadata.Annotations[ClusterResources.TemplateHashAnnotation]);
    }
}
