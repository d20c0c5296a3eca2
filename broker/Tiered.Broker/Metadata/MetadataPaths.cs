using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Metadata;

/// <summary>
/// Where the broker keeps its state in the metadata service (the same tree as Pulsar's, so its
/// tools' mental model carries over). Values are JSON (admin objects) or protobuf (managed ledgers, cursors).
/// </summary>
public static class MetadataPaths
{
    /// <summary>Parent of every admin object (the broker's <see cref="MetadataCache"/> watches it).</summary>
    public const string Admin = "/admin/";

    /// <summary>A key every broker overwrites to learn the store's current revision, from which its cache's watch starts.</summary>
    public const string RevisionMark = "/admin/revision-mark";

    public const string Clusters = "/admin/clusters";
    public const string Tenants = "/admin/tenants";
    public const string Policies = "/admin/policies";
    public const string PartitionedTopics = "/admin/partitioned-topics";
    public const string TopicPoliciesRoot = "/admin/topic-policies";
    public const string ManagedLedgers = StoredPaths.LedgersRoot;
    public const string Brokers = "/brokers";

    /// <summary>Bundle ownership records, /namespace/{tenant}/{namespace}/{range} (ephemeral; as Pulsar's).</summary>
    public const string BundleOwners = "/namespace";

    /// <summary>/brokers/{id}: the live broker's <see cref="BrokerRegistration"/> (ephemeral).</summary>
    public static string Broker(string brokerId) => $"{Brokers}/{brokerId}";

    /// <summary>/admin/clusters/{cluster}: <see cref="Admin.ClusterData"/>.</summary>
    public static string Cluster(string cluster) => $"{Clusters}/{cluster}";

    /// <summary>/admin/tenants/{tenant}: <see cref="Admin.TenantInfo"/>.</summary>
    public static string Tenant(string tenant) => $"{Tenants}/{tenant}";

    /// <summary>/admin/policies/{tenant}: parent of the tenant's namespaces.</summary>
    public static string TenantPolicies(string tenant) => $"{Policies}/{tenant}";

    /// <summary>/namespace/{tenant}/{namespace}/0x…_0x…: who owns the bundle.</summary>
    public static string BundleOwner(NamespaceBundle bundle) => $"{BundleOwners}/{bundle.Namespace.Tenant}/{bundle.Namespace.Namespace}/{bundle.Range}";

    /// <summary>The bundle of an ownership record's key; false for any other key.</summary>
    public static bool TryParseBundleOwner(string key, out NamespaceBundle bundle)
    {
        bundle = default;
        if (!key.StartsWith(BundleOwners + "/", StringComparison.Ordinal) || key[(BundleOwners.Length + 1)..].Split('/') is not [var tenant, var ns, var range]
            || !NamespaceName.IsValidPart(tenant) || !NamespaceName.IsValidPart(ns) || !NamespaceBundle.TryParseRange(range, out var lower, out var upper))
            return false;
        bundle = new NamespaceBundle(new NamespaceName(tenant, ns), lower, upper);
        return true;
    }

    /// <summary>/admin/policies/{tenant}/{namespace}: <see cref="Admin.NamespacePolicies"/>.</summary>
    public static string Namespace(NamespaceName ns) => $"{Policies}/{ns.Tenant}/{ns.Namespace}";

    /// <summary>/admin/partitioned-topics/{tenant}/{namespace}/persistent: parent of the partitioned topics.</summary>
    public static string PartitionedTopicsOf(NamespaceName ns) => $"{PartitionedTopics}/{ns.Tenant}/{ns.Namespace}/persistent";

    /// <summary>/admin/partitioned-topics/{tenant}/{namespace}/persistent/{topic}: {"partitions": N}.</summary>
    public static string PartitionedTopic(TopicName topic) => $"{PartitionedTopicsOf(topic.Namespace)}/{topic.LocalName}";

    /// <summary>/admin/topic-policies/{tenant}/{namespace}/persistent/{topic}: <see cref="Admin.TopicPolicies"/>, under a partition's base name.</summary>
    public static string TopicPolicies(TopicName topic) => $"{TopicPoliciesRoot}/{topic.Namespace.Tenant}/{topic.Namespace.Namespace}/persistent/{topic.PartitionedTopic.LocalName}";

    /// <summary>/managed-ledgers/{tenant}/{namespace}/persistent: parent of the namespace's topics (partitions included).</summary>
    public static string TopicsOf(NamespaceName ns) => $"{ManagedLedgers}/{ns.Tenant}/{ns.Namespace}/persistent";

    /// <summary>/managed-ledgers/{tenant}/{namespace}/persistent/{topic}: the topic's ledger list.</summary>
    public static string Topic(TopicName topic) => $"{ManagedLedgers}/{topic.ManagedLedgerName}";

    /// <summary>/admin/terminated-topics/{tenant}/{namespace}/persistent/{topic}: where a terminated topic ended, as <see cref="Admin.MessageIdData"/> JSON.</summary>
    public static string TerminatedTopic(TopicName topic) => $"/admin/terminated-topics/{topic.ManagedLedgerName}";
}
