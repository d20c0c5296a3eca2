using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Tiered.Broker.Naming;

/// <summary>A tenant and a namespace of it: "tenant/namespace".</summary>
public readonly partial record struct NamespaceName(string Tenant, string Namespace)
{
    /// <summary>The longest tenant, namespace or cluster name.</summary>
    public const int MaxPartLength = 128;

    /// <summary>
    /// Tenants, namespaces and clusters: letters, digits and - _ = : . (as Pulsar allows), but not
    /// "." or "..", which are not names but path steps wherever a name becomes part of a path.
    /// </summary>
    public static bool IsValidPart([NotNullWhen(true)] string? part)
        => part is { Length: > 0 and <= MaxPartLength } && part is not ("." or "..") && NamePart().IsMatch(part);

    /// <summary>Throws <see cref="BrokerException"/> (BadName) when <paramref name="tenant"/> or <paramref name="ns"/> is not valid.</summary>
    public static NamespaceName Create(string? tenant, string? ns)
    {
        if (!IsValidPart(tenant))
            throw new BrokerException(BrokerErrorCode.BadName, $"Invalid tenant name {Names.Quote(tenant)}: use 1-128 letters, digits or - _ = : . characters (not . or ..).");
        if (!IsValidPart(ns))
            throw new BrokerException(BrokerErrorCode.BadName, $"Invalid namespace name {Names.Quote(ns)}: use 1-128 letters, digits or - _ = : . characters (not . or ..).");
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

    /// <summary>The longest topic part (the local name).</summary>
    public const int MaxLocalLength = 255;

    /// <summary>The longest full name: the scheme, tenant and namespace at their longest, and the topic part.</summary>
    public const int MaxLength = 13 + NamespaceName.MaxPartLength + 1 + NamespaceName.MaxPartLength + 1 + MaxLocalLength;

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
        // Bounded before anything else reads it: a name of any length costs no more than this check.
        if (name.Length > MaxLength)
        {
            error = $"Invalid topic name {Names.Quote(name)}: a topic name is at most {MaxLength} characters (its topic part at most {MaxLocalLength}).";
            return false;
        }
        var rest = name;
        if (rest.Contains("://", StringComparison.Ordinal))
        {
            if (!rest.StartsWith(Scheme, StringComparison.Ordinal))
            {
                error = $"Invalid topic name {Names.Quote(name)}: only persistent:// topics exist.";
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
            error = $"Invalid topic name {Names.Quote(name)}: expected persistent://tenant/namespace/topic, tenant/namespace/topic or topic.";
            return false;
        }
        if (!NamespaceName.IsValidPart(tenant) || !NamespaceName.IsValidPart(ns))
        {
            error = $"Invalid topic name {Names.Quote(name)}: tenant and namespace use 1-128 letters, digits or - _ = : . characters (not . or ..).";
            return false;
        }
        if (local.Length is 0 or > MaxLocalLength || local is "." or ".." || !LocalPart().IsMatch(local))
        {
            error = $"Invalid topic name {Names.Quote(name)}: the topic part uses 1-255 letters, digits or - _ = : . characters (not . or ..).";
            return false;
        }
        topic = new TopicName(new NamespaceName(tenant, ns), local);
        error = null;
        return true;
    }

    [GeneratedRegex(@"^[-=:.\w]+$")]
    private static partial Regex LocalPart();
}
