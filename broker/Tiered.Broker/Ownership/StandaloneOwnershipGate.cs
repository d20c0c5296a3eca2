using System.Collections.Concurrent;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

/// <summary>
/// The gate of a broker that is alone in its cluster: it owns every bundle, and never loses one
/// except by an unload (which only closes the bundle's topics: they load again on next use).
/// Answers from the cached policies, without allocating once a bundle was seen.
/// </summary>
public sealed class StandaloneOwnershipGate(string brokerId, BrokerUrls self, PolicyStore policies) : IOwnershipGate
{
    private readonly ConcurrentDictionary<NamespaceBundle, byte> _served = new();
    private IOwnershipListener? _listener;

    public StandaloneOwnershipGate(BrokerOptions options, PolicyStore policies)
        : this(options.BrokerId, SelfOf(options), policies)
    {
    }

    public BrokerUrls Self { get; } = self;

    /// <summary>This broker's URLs as others reach it: the advertised gRPC URL and the advertised admin API URL.</summary>
    public static BrokerUrls SelfOf(BrokerOptions options) => new(options.ResolvedAdvertisedUrl, options.AdvertisedHttpUrl);

    public async ValueTask<TopicOwnership> CheckAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var bundle = (await policies.GetBundlesAsync(topic.Namespace, cancellationToken).ConfigureAwait(false)).Find(topic);
        _served.TryAdd(bundle, 0);
        return TopicOwnership.Local(bundle, Self);
    }

    public ValueTask<TopicOwnership> AcquireAsync(TopicName topic, CancellationToken cancellationToken) => CheckAsync(topic, cancellationToken);

    public async ValueTask UnloadAsync(NamespaceBundle bundle, CancellationToken cancellationToken)
    {
        if (_served.TryRemove(bundle, out _) && Volatile.Read(ref _listener) is { } listener)
            await listener.OnBundleLostAsync(bundle, newOwner: null, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<IReadOnlyList<BundleOwnership>> ListOwnershipAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<BundleOwnership>>([.. _served.Keys.Select(b => new BundleOwnership(b, brokerId, Self))]);

    public void SetListener(IOwnershipListener listener) => Volatile.Write(ref _listener, listener);
}
