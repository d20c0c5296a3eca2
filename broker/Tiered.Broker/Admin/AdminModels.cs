using System.Text.Json.Serialization;
using Tiered.Security.Authorization;

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

    /// <summary>Bytes of a topic kept on the bookies before older ledgers are offloaded; -1 off, 0 every closed ledger.</summary>
    [JsonPropertyName("offload_threshold")]
    public long? OffloadThreshold { get; init; }

    /// <summary>How long the bookies keep an offloaded ledger, in milliseconds.</summary>
    [JsonPropertyName("offload_deletion_lag_ms")]
    public long? OffloadDeletionLagMs { get; init; }

    /// <summary>Where the namespace's topics offload to.</summary>
    [JsonPropertyName("offload_policies")]
    public OffloadPolicies? OffloadPolicies { get; init; }

    /// <summary>How the namespace's topics are cut into bundles; null for a namespace stored before bundles (one bundle).</summary>
    [JsonPropertyName("bundles")]
    public BundlesData? Bundles { get; init; }

    /// <summary>Producer de-duplication for the namespace's topics; null: the broker default (on).</summary>
    [JsonPropertyName("deduplicationEnabled")]
    public bool? DeduplicationEnabled { get; init; }

    /// <summary>
    /// Who may produce and consume (Pulsar's auth_policies: namespace, topic and subscription grants); null: nothing
    /// granted yet (a namespace stored before permissions existed, or never granted any). Changed only through the
    /// permissions endpoints, by compare-and-set on the whole policies.
    /// </summary>
    [JsonPropertyName("auth_policies")]
    public AuthPolicies? AuthPolicies { get; init; }

    /// <summary>
    /// Backlog quotas by type (<see cref="BacklogQuotas.DestinationStorage"/>, <see cref="BacklogQuotas.MessageAge"/>), as
    /// Pulsar's backlog_quota_map; null or empty: no quota. Set one type at a time through …/backlogQuota?backlogQuotaType=.
    /// </summary>
    [JsonPropertyName("backlog_quota_map")]
    public Dictionary<string, BacklogQuota>? BacklogQuotaMap { get; init; }
}

/// <summary>
/// One topic's own policies, /admin/topic-policies/{tenant}/{namespace}/persistent/{topic} (a partitioned topic's
/// are kept under its base name and apply to every partition). Unset (null) means the namespace's.
/// </summary>
public sealed record TopicPolicies
{
    [JsonPropertyName("deduplicationEnabled")]
    public bool? DeduplicationEnabled { get; init; }

    /// <summary>The clusters this topic lives in (geo-replication), overriding its namespace's; null: the namespace's.</summary>
    [JsonPropertyName("replication_clusters")]
    public List<string>? ReplicationClusters { get; init; }
}

/// <summary>A namespace's bundle boundaries, as Pulsar's BundlesData: 0x-hex strings from 0x00000000 to 0xffffffff.</summary>
public sealed record BundlesData
{
    private uint[]? _parsed;

    public List<string> Boundaries { get; init; } = [];

    public int NumBundles { get; init; }

    /// <summary>The boundaries as numbers, read once; null when they are not a valid cut (<see cref="Ownership.NamespaceBundles.Parse"/>).</summary>
    [JsonIgnore]
    public uint[]? Parsed => _parsed ??= Ownership.NamespaceBundles.Parse(Boundaries);
}

/// <summary>The object store a namespace offloads to (Pulsar's offloadPolicies, the store part).</summary>
public sealed record OffloadPolicies
{
    /// <summary>"filesystem", or "aws-s3" / "s3" for S3 and S3-compatible stores.</summary>
    public string ManagedLedgerOffloadDriver { get; init; } = "";

    /// <summary>filesystem: the directory objects are written under.</summary>
    public string? ManagedLedgerOffloadDirectory { get; init; }

    public string? ManagedLedgerOffloadBucket { get; init; }

    /// <summary>The S3 endpoint URL (empty: AWS for the region).</summary>
    public string? ManagedLedgerOffloadServiceEndpoint { get; init; }

    public string? ManagedLedgerOffloadRegion { get; init; }

    /// <summary>Key prefix inside the bucket.</summary>
    public string? ManagedLedgerOffloadPrefix { get; init; }

    /// <summary>Path-style addressing (http://endpoint/bucket/key), which most S3-compatible servers need.</summary>
    public bool ManagedLedgerOffloadPathStyleAccess { get; init; }
}

/// <summary>GET …/offload: the topic's last offload (Pulsar's OffloadProcessStatus).</summary>
public sealed record OffloadProcessStatus
{
    /// <summary>NOT_RUN, RUNNING, SUCCESS or ERROR.</summary>
    public string Status { get; init; } = "NOT_RUN";

    public string LastError { get; init; } = "";

    /// <summary>The first message still only on the bookies.</summary>
    public MessageIdData? FirstUnoffloadedMessage { get; init; }
}

/// <summary>
/// One backlog quota (Pulsar's BacklogQuota): the limit of its type — <see cref="LimitSize"/> bytes for destination_storage,
/// <see cref="LimitTime"/> seconds for message_age (-1: not set) — and what the broker does once a topic's backlog is past it.
/// </summary>
public sealed record BacklogQuota
{
    /// <summary>Bytes the slowest durable subscription may leave unacknowledged (destination_storage); -1 unset.</summary>
    public long LimitSize { get; init; } = -1;

    /// <summary>Seconds the oldest unacknowledged message may wait (message_age); -1 unset.</summary>
    public long LimitTime { get; init; } = -1;

    /// <summary><see cref="BacklogQuotas.ProducerRequestHold"/>, <see cref="BacklogQuotas.ProducerException"/> or <see cref="BacklogQuotas.ConsumerBacklogEviction"/>.</summary>
    public string Policy { get; init; } = "";

    /// <summary>Older Pulsar tools' name of <see cref="LimitSize"/>; read from requests, never stored.</summary>
    [JsonPropertyName("limit")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Limit { get; init; }
}

/// <summary>The names of backlog quota types and policies, as Pulsar spells them.</summary>
public static class BacklogQuotas
{
    public const string DestinationStorage = "destination_storage";
    public const string MessageAge = "message_age";
    public const string ProducerRequestHold = "producer_request_hold";
    public const string ProducerException = "producer_exception";
    public const string ConsumerBacklogEviction = "consumer_backlog_eviction";

    public static readonly string[] Types = [DestinationStorage, MessageAge];
    public static readonly string[] Policies = [ProducerRequestHold, ProducerException, ConsumerBacklogEviction];
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
