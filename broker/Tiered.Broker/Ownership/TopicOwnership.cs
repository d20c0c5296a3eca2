namespace Tiered.Broker.Ownership;

/// <summary>Which broker serves a bundle, as the gate sees it now.</summary>
public enum OwnershipState
{
    /// <summary>This broker owns the bundle: open and serve its topics here.</summary>
    Local,

    /// <summary>Another broker owns it: send the client there (<see cref="TopicOwnership.Owner"/>).</summary>
    Elsewhere,

    /// <summary>Nobody owns it: acquire it (<see cref="IOwnershipGate.AcquireAsync"/>) before serving.</summary>
    Unowned,
}

/// <summary>Where a broker is reached: its gRPC URL (Messaging service, what Lookup answers) and its HTTP URL (admin API).</summary>
public sealed record BrokerUrls(string GrpcUrl, string HttpUrl);

/// <summary>
/// The gate's answer for one topic: its bundle, whether this broker owns it, and the owner's URLs
/// (this broker's own for <see cref="OwnershipState.Local"/>; null for <see cref="OwnershipState.Unowned"/>).
/// </summary>
public readonly record struct TopicOwnership(OwnershipState State, NamespaceBundle Bundle, BrokerUrls? Owner)
{
    public static TopicOwnership Local(NamespaceBundle bundle, BrokerUrls self) => new(OwnershipState.Local, bundle, self);

    public static TopicOwnership Elsewhere(NamespaceBundle bundle, BrokerUrls owner) => new(OwnershipState.Elsewhere, bundle, owner);

    public static TopicOwnership Unowned(NamespaceBundle bundle) => new(OwnershipState.Unowned, bundle, null);
}
