using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

/// <summary>
/// The one gate every path to a topic passes (Lookup, Produce, Consume, Seek, GetLastMessageId and
/// the admin API's topic operations): it says whether this broker may open and serve a topic, and
/// if not, which broker does. A topic is opened only after the gate answered
/// <see cref="OwnershipState.Local"/>, so a request that lands on the wrong broker never takes the
/// topic over (opening recovers its ledger and so fences the real owner). Fencing stays the safety
/// net for the moment ownership moves, never the routing.
/// </summary>
/// <remarks>
/// <see cref="StandaloneOwnershipGate"/> owns everything. A cluster implementation keeps bundle
/// ownership in a shared directory (leases that expire with their broker) and tells the broker
/// through <see cref="IOwnershipListener"/> when it lost a bundle, so the broker unloads its topics
/// and sends their clients to the new owner. Implementations must answer
/// <see cref="CheckAsync"/> from memory on the warm path: it runs on every open and lookup.
/// </remarks>
public interface IOwnershipGate
{
    /// <summary>Who owns <paramref name="topic"/>'s bundle now; never takes it.</summary>
    ValueTask<TopicOwnership> CheckAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>
    /// Takes <paramref name="topic"/>'s bundle for this broker when nobody owns it. Answers
    /// <see cref="OwnershipState.Local"/> when this broker owns it now (or already did), or
    /// <see cref="OwnershipState.Elsewhere"/> when another broker won it; never
    /// <see cref="OwnershipState.Unowned"/>.
    /// </summary>
    ValueTask<TopicOwnership> AcquireAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>
    /// Hands <paramref name="bundle"/> over: its owner (this broker or another) unloads its topics,
    /// telling their clients to look them up again, and releases it; the next lookup places it
    /// anew. Returns once it is released; nothing when nobody owns it.
    /// </summary>
    ValueTask UnloadAsync(NamespaceBundle bundle, CancellationToken cancellationToken);

    /// <summary>Every owned bundle the gate knows of, with its owner (for the admin API's ownedNamespaces).</summary>
    ValueTask<IReadOnlyList<BundleOwnership>> ListOwnershipAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Whom to tell when this broker loses a bundle (it was moved, or its lease expired): the topic
    /// registry, which unloads the bundle's topics. Set once, when the broker starts.
    /// </summary>
    void SetListener(IOwnershipListener listener);
}

/// <summary>The broker side of ownership changes.</summary>
public interface IOwnershipListener
{
    /// <summary>
    /// This broker no longer owns <paramref name="bundle"/>: unload its topics (without deleting
    /// anything) and close their producers and consumers, pointing them at <paramref name="newOwner"/>
    /// (null when nobody owns it yet: they look the topic up again).
    /// </summary>
    Task OnBundleLostAsync(NamespaceBundle bundle, BrokerUrls? newOwner, CancellationToken cancellationToken);
}

/// <summary>A bundle and the broker that owns it (its id, as listed at /admin/v2/brokers/{cluster}, and its URLs).</summary>
public sealed record BundleOwnership(NamespaceBundle Bundle, string BrokerId, BrokerUrls Owner);
