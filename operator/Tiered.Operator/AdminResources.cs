using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Tiered.Operator;

/// <summary>
/// What the three declarative admin resources (<c>TieredTenant</c>, <c>TieredNamespace</c>, <c>TieredTopic</c>,
/// CRDs in <c>k8s/crd/admin-resources.tiered.dev.yaml</c>) share: the TieredCluster (same Kubernetes namespace)
/// whose admin API they are reconciled through, and a status of conditions.
/// </summary>
public abstract class AdminResource : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = TieredCluster.Group + "/" + TieredCluster.Version;
    [JsonPropertyName("kind")] public abstract string Kind { get; set; }
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("status")] public AdminResourceStatus? Status { get; set; }

    /// <summary>The TieredCluster whose admin API this resource is applied to.</summary>
    [JsonIgnore] public abstract string ClusterRef { get; }
}

public sealed class AdminResourceStatus
{
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
    [JsonPropertyName("conditions")] public IList<ClusterCondition> Conditions { get; set; } = [];
}

public sealed class TieredTenant : AdminResource
{
    public const string Plural = "tieredtenants";
    [JsonPropertyName("kind")] public override string Kind { get; set; } = "TieredTenant";
    [JsonPropertyName("spec")] public TenantSpec Spec { get; set; } = new();
    public override string ClusterRef => Spec.ClusterRef;
}

public sealed class TenantSpec
{
    [JsonPropertyName("clusterRef")] public string ClusterRef { get; set; } = "";
    /// <summary>The tenant's name; default the object's name.</summary>
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("adminRoles")] public IList<string> AdminRoles { get; set; } = [];
    /// <summary>Clusters the tenant may use; default the referenced cluster's own name.</summary>
    [JsonPropertyName("allowedClusters")] public IList<string>? AllowedClusters { get; set; }
}

public sealed class TieredNamespace : AdminResource
{
    public const string Plural = "tierednamespaces";
    [JsonPropertyName("kind")] public override string Kind { get; set; } = "TieredNamespace";
    [JsonPropertyName("spec")] public NamespaceSpec Spec { get; set; } = new();
    public override string ClusterRef => Spec.ClusterRef;
}

public sealed class NamespaceSpec
{
    [JsonPropertyName("clusterRef")] public string ClusterRef { get; set; } = "";
    [JsonPropertyName("tenant")] public string Tenant { get; set; } = "";
    /// <summary>The namespace's name within the tenant; default the object's name.</summary>
    [JsonPropertyName("name")] public string? Name { get; set; }
    /// <summary>Bundles it is created with (fixed afterwards: split bundles with the admin API).</summary>
    [JsonPropertyName("bundles")] public int? Bundles { get; set; }
    /// <summary>The clusters its topics are replicated to (a policy kept as the spec says).</summary>
    [JsonPropertyName("replicationClusters")] public IList<string>? ReplicationClusters { get; set; }

    /// <summary>
    /// Namespace policies kept as the spec says, each in the form its admin endpoint
    /// (<c>/admin/v2/namespaces/{tenant}/{namespace}/{policy}</c>) takes: one of <see cref="PolicyNames"/>. A policy
    /// taken out of the spec is left as it was set.
    /// </summary>
    [JsonPropertyName("policies")] public IDictionary<string, System.Text.Json.Nodes.JsonNode>? Policies { get; set; }

    /// <summary>Roles and what they are granted (<c>produce</c>, <c>consume</c>); given, it is the whole list: other roles lose their grants.</summary>
    [JsonPropertyName("permissions")] public IDictionary<string, IList<string>>? Permissions { get; set; }

    /// <summary>The policies a TieredNamespace may set (the CRD's schema lists the same).</summary>
    public static readonly IReadOnlySet<string> PolicyNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "retention", "messageTTL", "deduplication", "autoTopicCreation", "offloadThreshold", "offloadDeletionLagMs", "offloadPolicies", BacklogQuota,
    };

    /// <summary>The backlog quotas by type, as GET …/backlogQuotaMap answers them; each type is set on its own.</summary>
    public const string BacklogQuota = "backlogQuota";
}

public sealed class TieredTopic : AdminResource
{
    public const string Plural = "tieredtopics";
    [JsonPropertyName("kind")] public override string Kind { get; set; } = "TieredTopic";
    [JsonPropertyName("spec")] public TopicSpec Spec { get; set; } = new();
    public override string ClusterRef => Spec.ClusterRef;
}

public sealed class TopicSpec
{
    [JsonPropertyName("clusterRef")] public string ClusterRef { get; set; } = "";
    [JsonPropertyName("tenant")] public string Tenant { get; set; } = "";
    [JsonPropertyName("namespace")] public string Namespace { get; set; } = "";
    /// <summary>The topic's short name; default the object's name.</summary>
    [JsonPropertyName("name")] public string? Name { get; set; }
    /// <summary>0: a plain topic; N: a partitioned topic of N partitions (may grow, never shrink).</summary>
    [JsonPropertyName("partitions")] public int Partitions { get; set; }
}

/// <summary>Any object, read for its metadata only (lists and watches that only need names).</summary>
public sealed class MetadataOnly
{
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
}

public sealed class MetadataOnlyList
{
    [JsonPropertyName("items")] public IList<MetadataOnly> Items { get; set; } = [];
}
