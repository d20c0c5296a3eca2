using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;

namespace Tiered.AdminApi;

/// <summary>Pulsar's checks of namespace policy values; each failure is a <see cref="BrokerErrorCode.BadRequest"/> with the reason.</summary>
internal static class NamespacePolicyRules
{
    public const string NonPartitioned = "non-partitioned";
    public const string Partitioned = "partitioned";

    public static void Validate(NamespacePolicies policies)
    {
        foreach (var cluster in policies.ReplicationClusters)
            AdminNames.Cluster(cluster);
        if (policies.RetentionPolicies is { } retention)
            Validate(retention);
        if (policies.MessageTtlInSeconds is { } ttl)
            ValidateMessageTtl(ttl);
        if (policies.AutoTopicCreationOverride is { } autoTopicCreation)
            Validate(autoTopicCreation);
        if (policies.OffloadThreshold is { } threshold)
            ValidateOffloadThreshold(threshold);
        if (policies.OffloadDeletionLagMs is { } lag)
            ValidateOffloadDeletionLag(lag);
        if (policies.OffloadPolicies is { } offload)
            Validate(offload);
        foreach (var (type, quota) in policies.BacklogQuotaMap ?? [])
            ValidateBacklogQuota(type, quota);
    }

    /// <summary>The most seconds a message_age quota may give (Pulsar keeps limitTime in an int).</summary>
    public const long MaxBacklogQuotaLimitTime = int.MaxValue;

    /// <summary>A backlogQuotaType query value: destination_storage when absent (as Pulsar), BadRequest for anything else.</summary>
    public static string BacklogQuotaType(string? type)
    {
        if (string.IsNullOrEmpty(type))
            return BacklogQuotas.DestinationStorage;
        return BacklogQuotas.Types.Contains(type, StringComparer.Ordinal)
            ? type
            : throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Unknown backlogQuotaType '{type}': use {BacklogQuotas.DestinationStorage} (limitSize in bytes) or {BacklogQuotas.MessageAge} (limitTime in seconds).");
    }

    /// <summary>
    /// Checks a quota of <paramref name="type"/> and returns it as stored: the type's limit given and not negative, the other
    /// limit unset (-1), a known policy; Pulsar's older <c>limit</c> is taken as limitSize.
    /// </summary>
    public static BacklogQuota ValidateBacklogQuota(string type, BacklogQuota quota)
    {
        type = BacklogQuotaType(type);
        if (quota.Limit is { } limit)
        {
            if (quota.LimitSize != -1 && quota.LimitSize != limit)
                throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid backlog quota: limit {limit} and limitSize {quota.LimitSize} differ; give limitSize only.");
            quota = quota with { LimitSize = limit, Limit = null };
        }
        if (!BacklogQuotas.Policies.Contains(quota.Policy, StringComparer.Ordinal))
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid backlog quota: policy '{quota.Policy}' is not one of {string.Join(", ", BacklogQuotas.Policies)}.");
        var (given, other, otherName, unit) = type == BacklogQuotas.DestinationStorage
            ? (quota.LimitSize, quota.LimitTime, "limitTime", "limitSize in bytes")
            : (quota.LimitTime, quota.LimitSize, "limitSize", "limitTime in seconds");
        if (given < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid backlog quota: backlogQuotaType {type} needs {unit}, 0 or more (it was {given}); to remove the quota, DELETE it instead.");
        if (other != -1)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid backlog quota: {otherName} does not apply to backlogQuotaType {type}; leave it out (or -1) and set it with backlogQuotaType="
                + (type == BacklogQuotas.DestinationStorage ? BacklogQuotas.MessageAge : BacklogQuotas.DestinationStorage) + ".");
        if (type == BacklogQuotas.MessageAge && given > MaxBacklogQuotaLimitTime)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid backlog quota: limitTime {given} is more than {MaxBacklogQuotaLimitTime} seconds.");
        return quota;
    }

    /// <summary>The largest retention size the broker can count in bytes (a long): larger sizes would overflow.</summary>
    public const long MaxRetentionSizeInMB = long.MaxValue / (1024 * 1024);

    /// <summary>The longest offload deletion lag a <see cref="TimeSpan"/> holds.</summary>
    public static readonly long MaxOffloadDeletionLagMs = (long)TimeSpan.MaxValue.TotalMilliseconds;

    /// <summary>The most partitions a partitioned topic may have (each is a topic with its own managed ledger).</summary>
    public const int MaxPartitions = 10_000;

    public static void Validate(RetentionPolicies retention)
    {
        if (retention.RetentionTimeInMinutes < -1 || retention.RetentionSizeInMB < -1)
            throw new BrokerException(BrokerErrorCode.BadRequest, "Invalid retention policy: retentionTimeInMinutes and retentionSizeInMB must be -1 (no limit), 0 or positive.");
        if (retention.RetentionSizeInMB > MaxRetentionSizeInMB)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid retention policy: retentionSizeInMB {retention.RetentionSizeInMB} is more bytes than the broker can count; give at most {MaxRetentionSizeInMB}, or -1 for no size limit.");
        if ((retention.RetentionTimeInMinutes == 0) != (retention.RetentionSizeInMB == 0))
            throw new BrokerException(BrokerErrorCode.BadRequest,
                "Invalid retention policy: setting a single time or size limit to 0 is invalid when the other one is not 0; use -1 instead of 0 to ignore a limit.");
    }

    public static void ValidateMessageTtl(int seconds)
    {
        if (seconds < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid message TTL {seconds}: it must be >= 0 seconds (0 = messages never expire).");
    }

    public static void Validate(AutoTopicCreationOverride value)
    {
        switch (value.TopicType)
        {
            case NonPartitioned when value.DefaultNumPartitions is not null and not 0:
                throw new BrokerException(BrokerErrorCode.BadRequest, "Invalid autoTopicCreation: defaultNumPartitions applies only to topicType 'partitioned'.");
            case NonPartitioned:
                break;
            case Partitioned when value.DefaultNumPartitions is null or < 1 or > MaxPartitions:
                throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid autoTopicCreation: topicType 'partitioned' needs defaultNumPartitions from 1 to {MaxPartitions}.");
            case Partitioned:
                break;
            default:
                throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid autoTopicCreation: topicType '{value.TopicType}' is neither 'non-partitioned' nor 'partitioned'.");
        }
    }

    /// <summary>A partition count for creating or growing a partitioned topic.</summary>
    public static void ValidatePartitions(int partitions)
    {
        if (partitions is < 1 or > MaxPartitions)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid number of partitions {partitions}: a partitioned topic needs at least 1 and at most {MaxPartitions}.");
    }

    public static void ValidateOffloadThreshold(long bytes)
    {
        if (bytes < -1)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid offloadThreshold {bytes}: it must be -1 (offload off), 0 (offload every closed ledger) or a number of bytes to keep on the bookies.");
    }

    public static void ValidateOffloadDeletionLag(long milliseconds)
    {
        if (milliseconds < 0 || milliseconds > MaxOffloadDeletionLagMs)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid offloadDeletionLag {milliseconds}: it must be from 0 to {MaxOffloadDeletionLagMs} milliseconds.");
    }

    public static void Validate(OffloadPolicies value)
    {
        try
        {
            Tiered.Broker.Topics.TopicRegistry.ToSettings(value).Validate();
        }
        catch (ArgumentException e)
        {
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid offloadPolicies: {e.Message}");
        }
    }

    /// <summary>The most bundles a namespace is created with (splits may cut it further, up to <see cref="NamespaceBundles.MaxBundles"/>).</summary>
    public const int MaxBundlesAtCreation = 1024;

    /// <summary>
    /// The bundles a new namespace is stored with, as Pulsar decides them: explicit
    /// <c>bundles.boundaries</c> when given (a valid cut), else <paramref name="numBundles"/> (top-level
    /// numBundles) or <c>bundles.numBundles</c> bundles of equal width, else the broker's
    /// <paramref name="defaultBundles"/>. BadRequest with the reason for anything else.
    /// </summary>
    public static BundlesData BundlesAtCreation(NamespaceName ns, BundlesData? requested, int? numBundles, int defaultBundles)
    {
        if (requested is { Boundaries.Count: > 0 })
        {
            var boundaries = NamespaceBundles.Parse(requested.Boundaries)
                ?? throw new BrokerException(BrokerErrorCode.BadRequest,
                    "Invalid bundles.boundaries: give 0x-hex boundaries (0x and up to 8 hex digits), strictly increasing from 0x00000000 to 0xffffffff, e.g. [\"0x00000000\",\"0x80000000\",\"0xffffffff\"].");
            var count = boundaries.Length - 1;
            ValidateBundleCount(count);
            foreach (var given in (int?[])[requested.NumBundles is 0 ? null : requested.NumBundles, numBundles])
            {
                if (given is { } n && n != count)
                    throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid bundles: numBundles {n} does not match the {count} bundles the boundaries cut; give one or the other.");
            }
            return new NamespaceBundles(ns, boundaries).ToData();
        }
        if (requested is not null && numBundles is { } top && top != requested.NumBundles)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid bundles: numBundles {top} and bundles.numBundles {requested.NumBundles} differ; give one of them.");
        var wanted = numBundles ?? requested?.NumBundles ?? defaultBundles;
        ValidateBundleCount(wanted);
        return NamespaceBundles.Even(ns, wanted).ToData();
    }

    public static void ValidateBundleCount(int count)
    {
        if (count is < 1 or > MaxBundlesAtCreation)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid number of bundles {count}: a namespace is created with 1 to {MaxBundlesAtCreation} bundles (numBundles); split bundles later for more.");
    }
}
