using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Tiered.Broker.Naming;

/// <summary>A tenant and a namespace of it: "tenant/namespace".</summary>
public readonly partial record struct NamespaceName(string Tenant, string Namespace)
{
    /// <summary>Tenants, namespaces and clusters: letters, digits and - _ = : . (as Pulsar allows).</summary>
    public static bool IsValidPart([NotNullWhen(true)] string? part) => part is { Length: > 0 and <= 128 } && NamePart().IsMatch(part);

    /// <summary>Throws <see cref="BrokerException"/> (BadName) when <paramref name="tenant"/> or <paramref name="ns"/> is not valid.</summary>
    public static NamespaceName Create(string? tenant, string? ns)
    {
        if (!IsValidPart(tenant))
            throw new BrokerException(BrokerErrorCode.BadName, $"Invalid tenant name '{tenant}': use 1-128 letters, digits or - _ = : . characters.");
        if (!IsValidPart(ns))
            throw new BrokerException(BrokerErrorCode.BadName, $"Invalid namespace name '{ns}': use 1-128 letters, digits or - _ = : . characters.");
        return new NamespaceName(tenant, ns);
    }

    public override string ToString() => $"{Tenant}/{Namespace}";

    [GeneratedRegex(@"^[-=:.\w]+$")]
    private static partial Regex NamePart();
}

/// <summary>
/// A persistent topic: persistent://tenant/namespace/local. A local name ending in
/// "-partition-N" is partition N of a partitioned topic.
/// </summary>
public readonly partial record struct TopicName(NamespaceName Namespace, string LocalName)
{
    public const string Scheme = "persistent://";
    public const string PartitionSuffix = "-partition-";

    public string Tenant => Namespace.Tenant;

    /// <summary>The partition index, or -1 when this is not a partition.</summary>
    public int PartitionIndex
    {
        get
        {
            var at = LocalName.LastIndexOf(PartitionSuffix, StringComparison.Ordinal);
            return at > 0 && int.TryParse(LocalName.AsSpan(at + PartitionSuffix.Length), System.Globalization.NumberStyles.None, null, out var index) ? index : -1;
        }
    }

    /// <summary>The partitioned topic a partition belongs to (itself when not a partition).</summary>
    public TopicName PartitionedTopic
        => PartitionIndex < 0 ? this : this with { LocalName = LocalName[..LocalName.LastIndexOf(PartitionSuffix, StringComparison.Ordinal)] };

    public TopicName Partition(int index) => this with { LocalName = $"{LocalName}{PartitionSuffix}{index}" };

    /// <summary>The managed ledger's name: "tenant/namespace/persistent/local".</summary>
    public string ManagedLedgerName => $"{Namespace.Tenant}/{Namespace.Namespace}/persistent/{LocalName}";

    public override string ToString() => $"{Scheme}{Namespace.Tenant}/{Namespace.Namespace}/{LocalName}";

    /// <summary>
    /// Parses "persistent://tenant/ns/topic", "tenant/ns/topic" or "topic" (public/default).
    /// Throws <see cref="BrokerException"/> (BadName) with the reason otherwise.
    /// </summary>
    public static TopicName Parse(string? name)
    {
        if (TryParse(name, out var topic, out var error))
            return topic;
        throw new BrokerException(BrokerErrorCode.BadName, error);
    }

    public static bool TryParse(string? name, out TopicName topic, [NotNullWhen(false)] out string? error)
    {
        topic = default;
        if (string.IsNullOrWhiteSpace(name))
        {
            error = "A topic name is required, e.g. persistent://public/default/my-topic.";
            return false;
        }
        var rest = name;
        if (rest.Contains("://", StringComparison.Ordinal))
        {
            if (!rest.StartsWith(Scheme, StringComparison.Ordinal))
            {
                error = $"Invalid topic name '{name}': only persistent:// topics exist.";
                return false;
            }
            rest = rest[Scheme.Length..];
        }
        var parts = rest.Split('/');
        var (tenant, ns, local) = parts.Length switch
        {
            1 => ("public", "default", parts[0]),
            3 => (parts[0], parts[1], parts[2]),
            _ => (null, null, null),
        };
        if (local is null)
        {
            error = $"Invalid topic name '{name}': expected persistent://tenant/namespace/topic, tenant/namespace/topic or topic.";
            return false;
        }
        if (!NamespaceName.IsValidPart(tenant) || !NamespaceName.IsValidPart(ns))
        {
            error = $"Invalid topic name '{name}': tenant and namespace use 1-128 letters, digits or - _ = : . characters.";
            return false;
        }
        if (local.Length is 0 or > 255 || !LocalPart().IsMatch(local))
        {
            error = $"Invalid topic name '{name}': the topic part uses 1-255 letters, digits or - _ = : . characters.";
            return false;
        }
        topic = new TopicName(new NamespaceName(tenant, ns), local);
        error = null;
        return true;
    }

    [GeneratedRegex(@"^[-=:.\w]+$")]
    private static partial Regex LocalPart();
}
