using System.Collections.Concurrent;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;

namespace Tiered.Broker.Tests;

/// <summary>
/// A gate that says another broker owns the topics whose name starts with "away-", that nobody
/// owns those starting with "free-" (acquiring makes them local), and that this broker owns the rest.
/// Records what it was asked.
/// </summary>
internal sealed class FakeOwnershipGate(BrokerUrls self) : IOwnershipGate
{
    public static readonly BrokerUrls Other = new("http://10.1.2.3:6650", "http://10.1.2.3:8080");

    private readonly ConcurrentDictionary<TopicName, bool> _acquired = new();

    public ConcurrentQueue<TopicName> Acquired { get; } = new();

    public IOwnershipListener? Listener { get; private set; }

    public ValueTask<TopicOwnership> CheckAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var bundle = NamespaceBundle.Whole(topic.Namespace);
        if (topic.LocalName.StartsWith("away-", StringComparison.Ordinal))
            return ValueTask.FromResult(TopicOwnership.Elsewhere(bundle, Other));
        if (topic.LocalName.StartsWith("free-", StringComparison.Ordinal) && !_acquired.ContainsKey(topic))
            return ValueTask.FromResult(TopicOwnership.Unowned(bundle));
        return ValueTask.FromResult(TopicOwnership.Local(bundle, self));
    }

    public ValueTask<TopicOwnership> AcquireAsync(TopicName topic, CancellationToken cancellationToken)
    {
        if (_acquired.TryAdd(topic, true))
            Acquired.Enqueue(topic);
        return CheckAsync(topic, cancellationToken);
    }

    public ValueTask UnloadAsync(NamespaceBundle bundle, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<BundleOwnership>> ListOwnershipAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<BundleOwnership>>([]);

    public void SetListener(IOwnershipListener listener) => Listener = listener;
}
