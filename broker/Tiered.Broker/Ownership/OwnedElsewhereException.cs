using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

/// <summary>
/// A request for a topic this broker does not own: the gRPC service answers UNAVAILABLE with the
/// owner in the "tiered-owner" trailers, the admin API 307 to the owner's HTTP URL.
/// </summary>
public sealed class OwnedElsewhereException(TopicName topic, BrokerUrls owner)
    : Exception($"Topic {topic} is served by the broker at {owner.GrpcUrl}, not this one; connect there (Lookup answers its address).")
{
    public TopicName Topic { get; } = topic;

    public BrokerUrls Owner { get; } = owner;
}
