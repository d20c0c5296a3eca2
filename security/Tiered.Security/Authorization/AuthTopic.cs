using System.Globalization;

namespace Tiered.Security.Authorization;

/// <summary>
/// The parts of a full topic name (<c>persistent://tenant/namespace/topic</c>) that authorization needs,
/// without the broker's naming rules (the broker has checked the name before it asks): the tenant and
/// namespace it belongs to, and the partitioned topic a partition (<c>topic-partition-N</c>) is part of,
/// whose grants cover it.
/// </summary>
public readonly record struct AuthTopic
{
    public const string Scheme = "persistent://";
    private const string PartitionSuffix = "-partition-";

    private AuthTopic(string name, string tenant, string @namespace, string partitionedName)
        => (Name, Tenant, Namespace, PartitionedName) = (name, tenant, @namespace, partitionedName);

    /// <summary>persistent://tenant/namespace/topic, as given.</summary>
    public string Name { get; }

    public string Tenant { get; }

    /// <summary>tenant/namespace.</summary>
    public string Namespace { get; }

    /// <summary>The partitioned topic's full name for a partition; <see cref="Name"/> otherwise.</summary>
    public string PartitionedName { get; }

    public bool IsPartition => Name != PartitionedName;

    /// <summary>Parses a full topic name; <see cref="ArgumentException"/> when it is not persistent://tenant/namespace/topic.</summary>
    public static AuthTopic Parse(string topic)
        => TryParse(topic, out var parsed)
            ? parsed
            : throw new ArgumentException($"'{topic}' is not a full topic name (persistent://tenant/namespace/topic).", nameof(topic));

    public static bool TryParse(string? topic, out AuthTopic parsed)
    {
        parsed = default;
        if (topic is null || !topic.StartsWith(Scheme, StringComparison.Ordinal) || topic[Scheme.Length..].Split('/') is not [var tenant, var ns, var local]
            || tenant.Length == 0 || ns.Length == 0 || local.Length == 0)
            return false;
        parsed = new AuthTopic(topic, tenant, $"{tenant}/{ns}", PartitionedTopicOf(topic));
        return true;
    }

    /// <summary>The name without a trailing <c>-partition-N</c> (N a non-negative integer); the name itself otherwise.</summary>
    public static string PartitionedTopicOf(string topic)
    {
        var at = topic.LastIndexOf(PartitionSuffix, StringComparison.Ordinal);
        if (at <= 0)
            return topic;
        var index = topic.AsSpan(at + PartitionSuffix.Length);
        return index.Length > 0 && index.IndexOfAnyExceptInRange('0', '9') < 0 && int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            ? topic[..at]
            : topic;
    }

    public override string ToString() => Name;
}
