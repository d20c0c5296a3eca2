using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

/// <summary>
/// The gate of a broker that is alone in its cluster: it owns every bundle, and never loses one.
/// Answers synchronously, without allocating.
/// </summary>
public sealed class StandaloneOwnershipGate(BrokerUrls self) : IOwnershipGate
{
    public StandaloneOwnershipGate(BrokerOptions options)
        : this(SelfOf(options))
    {
    }

    public BrokerUrls Self { get; } = self;

    /// <summary>This broker's URLs as others reach it: the advertised gRPC URL and the advertised admin API URL.</summary>
    public static BrokerUrls SelfOf(BrokerOptions options) => new(options.ResolvedAdvertisedUrl, options.AdvertisedHttpUrl);

    public ValueTask<TopicOwnership> CheckAsync(TopicName topic, CancellationToken cancellationToken)
        => ValueTask.FromResult(TopicOwnership.Local(NamespaceBundle.Whole(topic.Namespace), Self));

    public ValueTask<TopicOwnership> AcquireAsync(TopicName topic, CancellationToken cancellationToken) => CheckAsync(topic, cancellationToken);

    public void SetListener(IOwnershipListener listener)
    {
    }
}
