using System.Text.Json.Serialization;

namespace Tiered.Broker.Admin;

// The JSON shapes of Pulsar's admin API (/admin/v2), also stored as such in the metadata service.

/// <summary>/admin/tenants/{tenant}.</summary>
public sealed record TenantInfo
{
    public List<string> AdminRoles { get; init; } = [];
    public List<string> AllowedClusters { get; init; } = [];
}

/// <summary>/admin/clusters/{cluster}.</summary>
public sealed record ClusterData
{
    public string? ServiceUrl { get; init; }
    public string? BrokerServiceUrl { get; init; }
}

/// <summary>Namespace policies, /admin/policies/{tenant}/{namespace}. Unset (null) means the broker default.</summary>
public sealed record NamespacePolicies
{
    [JsonPropertyName("replication_clusters")]
    public List<string> ReplicationClusters { get; init; } = [];

    [JsonPropertyName("retention_policies")]
    public RetentionPolicies? RetentionPolicies { get; init; }

    [JsonPropertyName("message_ttl_in_seconds")]
    public int? MessageTtlInSeconds { get; init; }

    [JsonPropertyName("autoTopicCreationOverride")]
    public AutoTopicCreationOverride? AutoTopicCreationOverride { get; init; }
}

/// <summary>How long consumed messages are kept: -1 for ever, 0 not at all.</summary>
public sealed record RetentionPolicies(int RetentionTimeInMinutes, long RetentionSizeInMB);

/// <summary>Whether producers and consumers may create topics by using them.</summary>
public sealed record AutoTopicCreationOverride
{
    public bool AllowAutoTopicCreation { get; init; } = true;

    /// <summary>"non-partitioned" or "partitioned".</summary>
    public string TopicType { get; init; } = "non-partitioned";

    public int? DefaultNumPartitions { get; init; }
}

/// <summary>{"partitions": N}, stored at /admin/partitioned-topics/…</summary>
public sealed record PartitionedTopicMetadata(int Partitions);

/// <summary>A message id as the admin API reads and writes it.</summary>
public sealed record MessageIdData(long LedgerId, long EntryId, int PartitionIndex = -1, int BatchIndex = -1);
