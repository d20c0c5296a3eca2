using System.Threading.Channels;
using Tiered.Broker.Subscriptions.KeyShared;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Subscriptions;

/// <summary>
/// One connected consumer of a subscription: its permits, the entries delivered to it and not
/// yet acknowledged, and its outbox, which the connection's write loop drains into the gRPC
/// stream. Permits and pending entries are guarded by the subscription's lock.
/// </summary>
public sealed class Consumer
{
    private static long _nextId;

    public Consumer(string name, SubscriptionType type, string? address, TimeProvider time)
    {
        (Name, Type, Address) = (name, type, address);
        ConnectedSince = DateTimeOffset.UtcNow;
        Rates = new RateMeter(time);
    }

    public long Id { get; } = Interlocked.Increment(ref _nextId);

    public string Name { get; }

    public SubscriptionType Type { get; }

    public string? Address { get; }

    public DateTimeOffset ConnectedSince { get; }

    /// <summary>Key_Shared: how the consumer takes key hashes (the subscription's consumers all use one mode).</summary>
    public KeySharedPolicy.Types.Mode KeySharedMode { get; init; }

    /// <summary>Key_Shared STICKY: the hash ranges the consumer asked for.</summary>
    public IReadOnlyList<KeyHashRange> StickyRanges { get; init; } = [];

    /// <summary>Key_Shared: the hash ranges the consumer owns now (topic stats' <c>keyHashRanges</c>); replaced whole when consumers come and go.</summary>
    public IReadOnlyList<KeyHashRange> KeyHashRanges { get; internal set; } = [];

    /// <summary>Messages the consumer still allows the broker to send (may go below zero by the last batch sent).</summary>
    internal long Permits { get; set; }

    /// <summary>Entries delivered and not acknowledged: their batch size and how many of its messages are not acknowledged.</summary>
    internal Dictionary<Position, PendingEntry> Pending { get; } = [];

    internal long PendingMessages { get; set; }

    /// <summary>What is to be written to the consumer's stream, in order.</summary>
    internal Channel<Wire.ConsumeResponse> Outbox { get; } = Channel.CreateUnbounded<Wire.ConsumeResponse>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Cancelled to close the consumer's stream (subscription reset or deleted, topic deleted).</summary>
    public CancellationTokenSource Closed { get; } = new();

    /// <summary>Why the broker closed the stream; null while open.</summary>
    public string? CloseReason { get; private set; }

    public long MessagesOut;
    public long BytesOut;

    /// <summary>Messages delivered again (after a disconnect or a redelivery request).</summary>
    public long MessagesRedelivered;

    /// <summary>When messages were last delivered to / acknowledged by the consumer, ms since the epoch (0: never).</summary>
    public long LastConsumedMs;
    public long LastAckedMs;

    /// <summary>Rates of <see cref="MessagesOut"/>, <see cref="BytesOut"/> and <see cref="MessagesRedelivered"/>.</summary>
    public RateMeter Rates { get; }

    // Negative acks and ack timeout (Subscription.NegativeAcks.cs), from Subscribe.

    /// <summary>How long after a negative ack an entry is delivered again, ms (Subscribe.negative_ack_delay_ms, 60000 when not given).</summary>
    public long NegativeAckDelayMs { get; init; } = 60_000;

    /// <summary>The longest negative-ack delay with exponential backoff, ms; at most <see cref="NegativeAckDelayMs"/>: a fixed delay.</summary>
    public long NegativeAckMaxDelayMs { get; init; }

    /// <summary>Entries held unacknowledged longer than this many ms are delivered again; 0: never.</summary>
    public long AckTimeoutMs { get; init; }

    /// <summary>Messages this consumer acknowledged negatively, and messages it held past its ack timeout.</summary>
    public long MessagesNegativelyAcked;
    public long MessagesAckTimedOut;

    internal void Close(string reason)
    {
        CloseReason ??= reason;
        Outbox.Writer.TryComplete();
        Closed.Cancel();
    }
}

/// <summary>
/// An entry delivered to a consumer: its messages, how many of them are not acknowledged yet, when it was
/// delivered (ms since the epoch; for the ack timeout) and whether it was negatively acknowledged (it then
/// waits for its negative-ack delay, not for the ack timeout).
/// </summary>
internal readonly record struct PendingEntry(int BatchSize, int Unacknowledged, long DeliveredAtMs = 0, bool NegativelyAcked = false)
{
    /// <summary>Key_Shared: the key hash of every message held, when they share one and the consumer holds the whole entry; -1 otherwise.</summary>
    public int KeyHash { get; init; } = -1;

    /// <summary>Key_Shared: the key hashes and batch indexes held, when the consumer holds several hashes or only part of the entry.</summary>
    public KeyPart? Keys { get; init; }
}
