using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Tiered.Operator;

/// <summary>
/// The <c>TieredCluster</c> custom resource (group <c>tiered.dev</c>, version <c>v1alpha1</c>): one object
/// describes a whole cluster. The schema is <c>k8s/crd/tieredclusters.tiered.dev.yaml</c>; these classes mirror
/// it field by field (defaults included, because an object read from a server without the CRD's defaulting,
/// such as the test double, may lack them).
/// </summary>
public sealed class TieredCluster : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "tiered.dev";
    public const string Version = "v1alpha1";
    public const string Plural = "tieredclusters";
    public const string KindName = "TieredCluster";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = Group + "/" + Version;
    [JsonPropertyName("kind")] public string Kind { get; set; } = KindName;
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public TieredClusterSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public TieredClusterStatus? Status { get; set; }
}

public sealed class TieredClusterList : IKubernetesObject<V1ListMeta>, IItems<TieredCluster>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = TieredCluster.Group + "/" + TieredCluster.Version;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "TieredClusterList";
    [JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [JsonPropertyName("items")] public IList<TieredCluster> Items { get; set; } = [];
}

public sealed class TieredClusterSpec
{
    [JsonPropertyName("image")] public string Image { get; set; } = "tiered:latest";
    [JsonPropertyName("imagePullPolicy")] public string ImagePullPolicy { get; set; } = "IfNotPresent";
    /// <summary><c>Retain</c> (default) keeps the volumes when the cluster is deleted; <c>Delete</c> deletes them.</summary>
    [JsonPropertyName("storageReclaimPolicy")] public string StorageReclaimPolicy { get; set; } = "Retain";
    [JsonPropertyName("metadata")] public ComponentSpec Metadata { get; set; } = new() { Replicas = 3, StorageSize = "5Gi" };
    [JsonPropertyName("bookies")] public ComponentSpec Bookies { get; set; } = new() { Replicas = 3, StorageSize = "50Gi", JournalStorageSize = "10Gi" };
    [JsonPropertyName("brokers")] public ComponentSpec Brokers { get; set; } = new() { Replicas = 2, TerminationGracePeriodSeconds = 60 };
    [JsonPropertyName("ledger")] public LedgerSpec Ledger { get; set; } = new();
    [JsonPropertyName("offload")] public OffloadSpec? Offload { get; set; }
    [JsonPropertyName("authentication")] public AuthenticationSpec? Authentication { get; set; }
    [JsonPropertyName("geoReplication")] public GeoReplicationSpec? GeoReplication { get; set; }
}

/// <summary>One component: metadata nodes, bookies or brokers (storage fields only where it has volumes).</summary>
public sealed class ComponentSpec
{
    [JsonPropertyName("replicas")] public int Replicas { get; set; } = 1;
    [JsonPropertyName("image")] public string? Image { get; set; }
    [JsonPropertyName("resources")] public V1ResourceRequirements? Resources { get; set; }
    [JsonPropertyName("storageClass")] public string? StorageClass { get; set; }
    [JsonPropertyName("storageSize")] public string? StorageSize { get; set; }
    [JsonPropertyName("journalStorageSize")] public string? JournalStorageSize { get; set; }
    [JsonPropertyName("terminationGracePeriodSeconds")] public long? TerminationGracePeriodSeconds { get; set; }
}

/// <summary>Quorum defaults of new ledgers: 1 ≤ Qa ≤ Qw ≤ E ≤ bookies.</summary>
public sealed class LedgerSpec
{
    [JsonPropertyName("ensembleSize")] public int EnsembleSize { get; set; } = 2;
    [JsonPropertyName("writeQuorum")] public int WriteQuorum { get; set; } = 2;
    [JsonPropertyName("ackQuorum")] public int AckQuorum { get; set; } = 2;
}

public sealed class OffloadSpec
{
    [JsonPropertyName("endpoint")] public string? Endpoint { get; set; }
    [JsonPropertyName("region")] public string? Region { get; set; }
    [JsonPropertyName("bucket")] public string Bucket { get; set; } = "";
    /// <summary>A Secret with <c>AWS_ACCESS_KEY_ID</c> and <c>AWS_SECRET_ACCESS_KEY</c>.</summary>
    [JsonPropertyName("secretName")] public string SecretName { get; set; } = "";
}

public sealed class AuthenticationSpec
{
    [JsonPropertyName("secretName")] public string SecretName { get; set; } = "";
    [JsonPropertyName("secretKey")] public string SecretKey { get; set; } = "token-key";
    [JsonPropertyName("superuserRoles")] public IList<string>? SuperuserRoles { get; set; }
}

public sealed class GeoReplicationSpec
{
    [JsonPropertyName("clusterName")] public string? ClusterName { get; set; }
    [JsonPropertyName("peers")] public IList<GeoPeer> Peers { get; set; } = [];
}

public sealed class GeoPeer
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("serviceUrl")] public string ServiceUrl { get; set; } = "";
    [JsonPropertyName("adminUrl")] public string? AdminUrl { get; set; }
}

public sealed class TieredClusterStatus
{
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
    [JsonPropertyName("metadata")] public ComponentStatus? Metadata { get; set; }
    [JsonPropertyName("bookies")] public ComponentStatus? Bookies { get; set; }
    [JsonPropertyName("brokers")] public ComponentStatus? Brokers { get; set; }
    [JsonPropertyName("decommissioningBookie")] public string? DecommissioningBookie { get; set; }
    [JsonPropertyName("conditions")] public IList<ClusterCondition> Conditions { get; set; } = [];
}

public sealed class ComponentStatus
{
    [JsonPropertyName("replicas")] public int Replicas { get; set; }
    [JsonPropertyName("readyReplicas")] public int ReadyReplicas { get; set; }
    [JsonPropertyName("updatedReplicas")] public int UpdatedReplicas { get; set; }
    [JsonPropertyName("image")] public string? Image { get; set; }
}

/// <summary>A condition as Kubernetes objects carry them: <c>Ready</c>, <c>Progressing</c> or <c>Degraded</c>.</summary>
public sealed class ClusterCondition
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("status")] public string Status { get; set; } = "Unknown";
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
    [JsonPropertyName("lastTransitionTime")] public DateTime? LastTransitionTime { get; set; }

    /// <summary>
    /// Sets each of <paramref name="fresh"/>'s transition times: kept from the condition of the same type in
    /// <paramref name="stored"/> while its status stays, now when it changed (as Kubernetes' conditions do).
    /// </summary>
    public static void CarryTransitionTimes(IEnumerable<ClusterCondition> fresh, IEnumerable<ClusterCondition>? stored)
    {
        foreach (var condition in fresh)
        {
            var old = stored?.FirstOrDefault(c => c.Type == condition.Type);
            condition.LastTransitionTime = old is not null && old.Status == condition.Status ? old.LastTransitionTime : DateTime.UtcNow;
        }
    }
}
