using Tiered.Broker;
using Tiered.Broker.Naming;

namespace Tiered.AdminApi;

/// <summary>Checks the names in a request's path; each failure is a <see cref="BrokerErrorCode.BadName"/> with the reason.</summary>
internal static class AdminNames
{
    public static string Cluster(string? cluster) => NamespaceName.IsValidPart(cluster)
        ? cluster
        : throw new BrokerException(BrokerErrorCode.BadName, $"Invalid cluster name {Names.Quote(cluster)}: use 1-128 letters, digits or - _ = : . characters.");

    public static string Tenant(string? tenant) => NamespaceName.IsValidPart(tenant)
        ? tenant
        : throw new BrokerException(BrokerErrorCode.BadName, $"Invalid tenant name {Names.Quote(tenant)}: use 1-128 letters, digits or - _ = : . characters.");

    public static NamespaceName Namespace(string? tenant, string? ns) => NamespaceName.Create(tenant, ns);

    public static TopicName Topic(string? tenant, string? ns, string? topic)
    {
        var name = Namespace(tenant, ns);
        return TopicName.Parse($"{name}/{topic}");
    }

    public static string Subscription(string? subscription) => Names.IsValidSubscription(subscription)
        ? subscription
        : throw new BrokerException(BrokerErrorCode.BadName, $"Invalid subscription name {Names.Quote(subscription)}: use 1-{Names.MaxSubscriptionLength} printable characters.");

    public static long Number(string? text, string what, long min)
    {
        if (!long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid {what} '{text}': expected an integer >= {min}.");
        return value;
    }

    /// <summary>A boolean query flag such as ?force=true; absent is false.</summary>
    public static bool Flag(string? text, string name) => text switch
    {
        null or "" => false,
        _ when bool.TryParse(text, out var value) => value,
        _ => throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid value '{text}' for ?{name}: expected true or false."),
    };
}
