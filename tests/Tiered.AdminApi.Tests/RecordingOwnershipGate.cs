using System.Collections.Concurrent;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// A stand-in for the broker's ownership gate: records the bundles the API unloads, and lists the
/// owners a test sets, so the bundle endpoints are checked against the <see cref="IOwnershipGate"/>
/// interface alone (what a cluster's gate implements too).
/// </summary>
internal sealed class RecordingOwnershipGate : IOwnershipGate
{
    public static readonly BrokerUrls Self = new("http://127.0.0.1:6650", "http://127.0.0.1:8080");

    public ConcurrentQueue<NamespaceBundle> Unloaded { get; } = new();

    public ConcurrentDictionary<NamespaceBundle, string> Owners { get; } = new();

    public ValueTask<TopicOwnership> CheckAsync(TopicName topic, CancellationToken cancellationToken)
        => ValueTask.FromResult(TopicOwnership.Local(NamespaceBundle.Whole(topic.Namespace), Self));

    public ValueTask<TopicOwnership> AcquireAsync(TopicName topic, CancellationToken cancellationToken) => CheckAsync(topic, cancellationToken);

    public ValueTask UnloadAsync(NamespaceBundle bundle, CancellationToken cancellationToken)
    {
        Unloaded.Enqueue(bundle);
        Owners.TryRemove(bundle, out _);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<BundleOwnership>> ListOwnershipAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<BundleOwnership>>([.. Owners.Select(o => new BundleOwnership(o.Key, o.Value, Self))]);

    public void SetListener(IOwnershipListener listener)
    {
    }

    /// <summary>The ranges unloaded in <paramref name="ns"/>, in order.</summary>
    public IReadOnlyList<string> UnloadedIn(string ns) => [.. Unloaded.Where(b => b.Namespace.ToString() == ns).Select(b => b.Range)];
}
