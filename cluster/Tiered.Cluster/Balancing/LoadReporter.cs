using System.Runtime.CompilerServices;
using Tiered.Broker.Ownership;
using Tiered.Broker.Topics;

namespace Tiered.Cluster.Balancing;

/// <summary>
/// Computes this broker's <see cref="LoadReport"/> from its loaded topics' counters: each call
/// compares them with the previous call's (per topic, so a topic loaded or unloaded meanwhile does
/// not skew the rates).
/// </summary>
public sealed class LoadReporter(string brokerId, Func<TopicRegistry> topics, TimeProvider time)
{
    private readonly ConditionalWeakTable<Topic, Counters> _previous = [];
    private long _at = time.GetTimestamp();

    private sealed record Counters(long MessagesIn, long BytesIn, long MessagesOut, long BytesOut);

    /// <param name="bundleOf">The owned bundle a topic belongs to (null: not owned here any more).</param>
    public LoadReport Report(Func<Topic, NamespaceBundle?> bundleOf)
    {
        var now = time.GetTimestamp();
        var seconds = Math.Max(0.001, time.GetElapsedTime(_at, now).TotalSeconds);
        _at = now;
        double inMessages = 0, inBytes = 0, outMessages = 0, outBytes = 0;
        var bundles = new Dictionary<string, (double Messages, double Bytes, int Topics)>(StringComparer.Ordinal);
        var loaded = topics().LoadedTopics;
        foreach (var topic in loaded)
        {
            var current = new Counters(Interlocked.Read(ref topic.MessagesIn), Interlocked.Read(ref topic.BytesIn), topic.MessagesOutTotal, topic.BytesOutTotal);
            var before = _previous.TryGetValue(topic, out var seen) ? seen : current;
            _previous.AddOrUpdate(topic, current);
            var messagesIn = Math.Max(0, current.MessagesIn - before.MessagesIn) / seconds;
            var bytesIn = Math.Max(0, current.BytesIn - before.BytesIn) / seconds;
            var messagesOut = Math.Max(0, current.MessagesOut - before.MessagesOut) / seconds;
            var bytesOut = Math.Max(0, current.BytesOut - before.BytesOut) / seconds;
            (inMessages, inBytes, outMessages, outBytes) = (inMessages + messagesIn, inBytes + bytesIn, outMessages + messagesOut, outBytes + bytesOut);
            if (bundleOf(topic) is { } bundle)
            {
                var key = bundle.ToString();
                var sum = bundles.GetValueOrDefault(key);
                bundles[key] = (sum.Messages + messagesIn + messagesOut, sum.Bytes + bytesIn + bytesOut, sum.Topics + 1);
            }
        }
        return new LoadReport
        {
            BrokerId = brokerId,
            MsgRateIn = inMessages,
            MsgRateOut = outMessages,
            BytesRateIn = inBytes,
            BytesRateOut = outBytes,
            Topics = loaded.Count,
            Bundles = bundles.ToDictionary(b => b.Key, b => new BundleLoad(b.Value.Messages, b.Value.Bytes, b.Value.Topics), StringComparer.Ordinal),
            At = time.GetUtcNow(),
        };
    }
}
