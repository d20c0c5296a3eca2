using System.Collections.ObjectModel;
using System.Text.Json.Serialization;

namespace Tiered.Security.Authorization;

/// <summary>
/// Who may do what in one namespace: Pulsar's <c>auth_policies</c>, kept inside the namespace's policies and
/// written with the same JSON names, so the shape pulsar-admin users know is what they read back.
/// <list type="bullet">
/// <item><c>namespace_auth</c>: role → actions on every topic of the namespace.</item>
/// <item><c>destination_auth</c>: full topic name → (role → actions) on that topic; a partitioned topic's grants cover its partitions.</item>
/// <item><c>subscription_auth_roles</c>: subscription → the only roles that may consume through it (no entry, or an empty list: any role that may consume).</item>
/// </list>
/// Immutable: every change returns new policies, so that a compare-and-set writer can decide anew on a fresh read.
/// </summary>
public sealed record AuthPolicies
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoGrants = ReadOnlyDictionary<string, IReadOnlyList<string>>.Empty;
    private static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>> NoTopics
        = ReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>>.Empty;

    // A null read from a hand-written record means "none", never a NullReferenceException on the data path.

    [JsonPropertyName("namespace_auth")]
    public IReadOnlyDictionary<string, IReadOnlyList<string>> NamespaceAuth { get; init => field = value ?? NoGrants; } = NoGrants;

    [JsonPropertyName("destination_auth")]
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>> DestinationAuth { get; init => field = value ?? NoTopics; } = NoTopics;

    [JsonPropertyName("subscription_auth_roles")]
    public IReadOnlyDictionary<string, IReadOnlyList<string>> SubscriptionAuthRoles { get; init => field = value ?? NoGrants; } = NoGrants;

    /// <summary>No grant and no subscription restriction.</summary>
    public static AuthPolicies Empty { get; } = new();

    [JsonIgnore]
    public bool IsEmpty => NamespaceAuth.Count == 0 && DestinationAuth.Count == 0 && SubscriptionAuthRoles.Count == 0;

    /// <summary>Gives <paramref name="role"/> exactly <paramref name="actions"/> on the whole namespace (replacing what it had there, as Pulsar).</summary>
    public AuthPolicies WithNamespaceGrant(string role, IEnumerable<string> actions)
        => this with { NamespaceAuth = Set(NamespaceAuth, role, Normalize(actions)) };

    /// <summary>Takes every namespace-level action from <paramref name="role"/> (its topic-level grants stay).</summary>
    public AuthPolicies WithoutNamespaceGrant(string role)
        => this with { NamespaceAuth = Remove(NamespaceAuth, role) };

    /// <summary>Gives <paramref name="role"/> exactly <paramref name="actions"/> on <paramref name="topic"/> (a full name), replacing its grant there.</summary>
    public AuthPolicies WithTopicGrant(string topic, string role, IEnumerable<string> actions)
    {
        var grants = DestinationAuth.TryGetValue(topic, out var existing) && existing is not null ? existing : NoGrants;
        return this with { DestinationAuth = Set(DestinationAuth, topic, Set(grants, role, Normalize(actions))) };
    }

    /// <summary>Takes <paramref name="role"/>'s grant on <paramref name="topic"/> away; a topic left without grants is dropped.</summary>
    public AuthPolicies WithoutTopicGrant(string topic, string role)
    {
        if (!DestinationAuth.TryGetValue(topic, out var grants) || grants is null)
            return this;
        var left = Remove(grants, role);
        return this with { DestinationAuth = left.Count == 0 ? Remove(DestinationAuth, topic) : Set(DestinationAuth, topic, left) };
    }

    /// <summary>Restricts <paramref name="subscription"/> to exactly <paramref name="roles"/> (replacing its list, as Pulsar).</summary>
    public AuthPolicies WithSubscriptionRoles(string subscription, IEnumerable<string> roles)
        => this with { SubscriptionAuthRoles = Set(SubscriptionAuthRoles, subscription, Normalize(roles)) };

    /// <summary>Takes <paramref name="role"/> off <paramref name="subscription"/>'s list; a list left empty is dropped (the subscription is open again).</summary>
    public AuthPolicies WithoutSubscriptionRole(string subscription, string role)
    {
        if (!SubscriptionAuthRoles.TryGetValue(subscription, out var roles) || roles is null)
            return this;
        var left = roles.Where(r => r != role).ToList();
        return this with { SubscriptionAuthRoles = left.Count == 0 ? Remove(SubscriptionAuthRoles, subscription) : Set(SubscriptionAuthRoles, subscription, left) };
    }

    /// <summary>Lifts <paramref name="subscription"/>'s restriction: any role that may consume may use it.</summary>
    public AuthPolicies WithoutSubscriptionRoles(string subscription)
        => this with { SubscriptionAuthRoles = Remove(SubscriptionAuthRoles, subscription) };

    /// <summary>
    /// The grants that apply to <paramref name="topic"/> (a full name), role → actions: the namespace's, united with
    /// the topic's own and, for a partition, its partitioned topic's (Pulsar's GET …/{topic}/permissions).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> PermissionsOn(string topic)
    {
        var merged = NamespaceAuth.ToDictionary(kv => kv.Key, kv => (kv.Value ?? []).AsEnumerable(), StringComparer.Ordinal);
        foreach (var name in TopicKeys(topic))
        {
            if (!DestinationAuth.TryGetValue(name, out var grants) || grants is null)
                continue;
            foreach (var (role, actions) in grants)
                merged[role] = merged.TryGetValue(role, out var existing) ? existing.Concat(actions ?? []) : actions ?? [];
        }
        return merged.ToDictionary(kv => kv.Key, kv => Normalize(kv.Value), StringComparer.Ordinal);
    }

    /// <summary>Whether <paramref name="role"/> was granted <paramref name="action"/> on the namespace or on <paramref name="topic"/> (or its partitioned topic).</summary>
    public bool Grants(string role, string action, string topic)
    {
        if (GrantsOnNamespace(role, action))
            return true;
        foreach (var name in TopicKeys(topic))
        {
            if (DestinationAuth.TryGetValue(name, out var grants) && grants?.TryGetValue(role, out var onTopic) == true && onTopic?.Contains(action, StringComparer.Ordinal) == true)
                return true;
        }
        return false;
    }

    /// <summary>Whether <paramref name="role"/> was granted <paramref name="action"/> on the whole namespace.</summary>
    public bool GrantsOnNamespace(string role, string action)
        => NamespaceAuth.TryGetValue(role, out var actions) && actions?.Contains(action, StringComparer.Ordinal) == true;

    /// <summary>The roles <paramref name="subscription"/> is restricted to; empty when it is open to every role that may consume.</summary>
    public IReadOnlyList<string> SubscriptionRoles(string subscription)
        => SubscriptionAuthRoles.TryGetValue(subscription, out var roles) && roles is not null ? roles : [];

    /// <summary>The keys of <see cref="DestinationAuth"/> that speak for <paramref name="topic"/>: its own, and its partitioned topic's.</summary>
    private static IEnumerable<string> TopicKeys(string topic)
    {
        yield return topic;
        var partitioned = AuthTopic.PartitionedTopicOf(topic);
        if (partitioned != topic)
            yield return partitioned;
    }

    /// <summary>Distinct, in a stable order: what is stored and shown does not depend on how a request listed it.</summary>
    private static IReadOnlyList<string> Normalize(IEnumerable<string> values) => [.. values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private static IReadOnlyDictionary<string, T> Set<T>(IReadOnlyDictionary<string, T> map, string key, T value)
    {
        var copy = new SortedDictionary<string, T>(map.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal) { [key] = value };
        return new ReadOnlyDictionary<string, T>(copy);
    }

    private static IReadOnlyDictionary<string, T> Remove<T>(IReadOnlyDictionary<string, T> map, string key)
    {
        if (!map.ContainsKey(key))
            return map;
        var copy = new SortedDictionary<string, T>(map.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal);
        copy.Remove(key);
        return new ReadOnlyDictionary<string, T>(copy);
    }
}
