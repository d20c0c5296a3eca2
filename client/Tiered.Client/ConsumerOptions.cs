namespace Tiered.Client;

/// <summary>How the consumers of a subscription share its messages.</summary>
public enum SubscriptionType
{
    /// <summary>One consumer at a time; a second one is refused.</summary>
    Exclusive,

    /// <summary>Round-robin over the consumers; each message to one of them.</summary>
    Shared,

    /// <summary>One active consumer; the others stand by and take over in order.</summary>
    Failover,

    /// <summary>
    /// Shared, but all messages of one key go to the same consumer, in order: the key hash space is split among
    /// the consumers (or each takes the <see cref="ConsumerOptions.KeyHashRanges"/> it gives). See docs/messaging.md.
    /// </summary>
    KeyShared,
}

/// <summary>Where a subscription that does not exist yet starts.</summary>
public enum SubscriptionInitialPosition
{
    /// <summary>After the last message stored: only new messages.</summary>
    Latest,

    /// <summary>At the oldest message retained.</summary>
    Earliest,
}

/// <summary>A consumer's subscription and its receive queue.</summary>
public sealed record ConsumerOptions
{
    public ConsumerOptions(string topic, string subscription) => (Topic, Subscription) = (topic, subscription);

    public string Topic { get; init; }

    /// <summary>The durable subscription to join; created at <see cref="InitialPosition"/> if missing.</summary>
    public string Subscription { get; init; }

    public SubscriptionType Type { get; init; } = SubscriptionType.Exclusive;

    public SubscriptionInitialPosition InitialPosition { get; init; } = SubscriptionInitialPosition.Latest;

    /// <summary>The broker picks one when null. Failover orders consumers by name.</summary>
    public string? ConsumerName { get; init; }

    /// <summary>
    /// Geo-replication: keep the subscription's position in step across the namespace's clusters (Pulsar's
    /// replicateSubscriptionState), so that a consumer that moves to another cluster continues near where this one
    /// was (at least once: it may get again up to about a second of what was acknowledged here). Once set, the
    /// subscription stays replicated.
    /// </summary>
    public bool ReplicateSubscriptionState { get; init; }

    /// <summary>
    /// Messages the broker may push ahead of <c>ReceiveAsync</c> (per partition): the permits granted at subscribe time.
    /// More are granted as the application takes messages, each time half the queue was consumed.
    /// </summary>
    public int ReceiverQueueSize { get; init; } = 1000;

    // Negative acks, ack timeout, dead-letter and retry topics (docs/messaging.md); done by the broker.

    /// <summary>How long after <see cref="Consumer.NegativeAcknowledgeAsync(ReceivedMessage)"/> the message comes again (null: 1 minute, Pulsar's default).</summary>
    public TimeSpan? NegativeAckDelay { get; init; }

    /// <summary>Exponential backoff: the delay doubles with each redelivery of the message, up to this (null: a fixed delay).</summary>
    public TimeSpan? NegativeAckMaxDelay { get; init; }

    /// <summary>Messages held unacknowledged longer than this are delivered again (null: never; else at least 1 s).</summary>
    public TimeSpan? AckTimeout { get; init; }

    /// <summary>The subscription's dead-letter and retry topics (null: none).</summary>
    public DeadLetterPolicy? DeadLetterPolicy { get; init; }

    /// <summary>
    /// Also consume the retry topic (<see cref="DeadLetterPolicy.RetryLetterTopic"/>, by default {topic}-{subscription}-RETRY)
    /// with the same subscription, so that messages sent there by <see cref="Consumer.ReconsumeLaterAsync"/> come back
    /// through this consumer. Needs a <see cref="DeadLetterPolicy"/>.
    /// </summary>
    public bool RetryEnable { get; init; }
    /// <summary>
    /// Key_Shared only: the key hash ranges this consumer takes (Pulsar's STICKY mode), each within 0 … 65535, both
    /// ends included; a range another connected consumer holds is refused. Empty (the default): the broker splits
    /// the hash space among the subscription's consumers (AUTO_SPLIT). A subscription's consumers all use one mode.
    /// </summary>
    public IReadOnlyList<KeyHashRange> KeyHashRanges { get; init; } = [];

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Topic))
            throw new ArgumentException("A consumer needs a topic.", nameof(Topic));
        if (string.IsNullOrWhiteSpace(Subscription))
            throw new ArgumentException("A consumer needs a subscription name.", nameof(Subscription));
        if (NegativeAckDelay < TimeSpan.Zero)
            throw new ArgumentException($"NegativeAckDelay must not be negative, not {NegativeAckDelay}.", nameof(NegativeAckDelay));
        if (NegativeAckMaxDelay < TimeSpan.Zero)
            throw new ArgumentException($"NegativeAckMaxDelay must not be negative, not {NegativeAckMaxDelay}.", nameof(NegativeAckMaxDelay));
        if (AckTimeout is { } timeout && (timeout < TimeSpan.FromSeconds(1) && timeout != TimeSpan.Zero))
            throw new ArgumentException($"AckTimeout must be at least 1 s (or null: none), not {timeout}.", nameof(AckTimeout));
        if (DeadLetterPolicy is { MaxRedeliverCount: < 0 })
            throw new ArgumentException($"DeadLetterPolicy.MaxRedeliverCount must be 0 (no dead-letter topic) or more, not {DeadLetterPolicy.MaxRedeliverCount}.", nameof(DeadLetterPolicy));
        if (RetryEnable && DeadLetterPolicy is null)
            throw new ArgumentException("RetryEnable needs a DeadLetterPolicy (its RetryLetterTopic, or the default {topic}-{subscription}-RETRY).", nameof(RetryEnable));
        if (ReceiverQueueSize < 1)
            throw new ArgumentException($"ReceiverQueueSize must be at least 1, not {ReceiverQueueSize}.", nameof(ReceiverQueueSize));
        if (!Enum.IsDefined(Type))
            throw new ArgumentException($"Unknown subscription type {Type}.", nameof(Type));
        if (KeyHashRanges.Count > 0)
        {
            if (Type != SubscriptionType.KeyShared)
                throw new ArgumentException($"KeyHashRanges are for Key_Shared subscriptions; this consumer is {Type}.", nameof(KeyHashRanges));
            for (var i = 0; i < KeyHashRanges.Count; i++)
            {
                var range = KeyHashRanges[i];
                if (range.Start < 0 || range.End > 65535 || range.Start > range.End)
                    throw new ArgumentException($"Key hash range {range} is not within 0 … 65535 with start ≤ end.", nameof(KeyHashRanges));
                for (var j = 0; j < i; j++)
                {
                    if (KeyHashRanges[j].Start <= range.End && range.Start <= KeyHashRanges[j].End)
                        throw new ArgumentException($"Key hash ranges {KeyHashRanges[j]} and {range} overlap.", nameof(KeyHashRanges));
                }
            }
        }
    }
}

/// <summary>Key hashes <see cref="Start"/> … <see cref="End"/> (both included, within 0 … 65535) of a Key_Shared consumer.</summary>
public readonly record struct KeyHashRange(int Start, int End)
{
    /// <summary>The key hash of a key: Murmur3 32-bit of its UTF-8 bytes modulo 65536, as the broker (and Pulsar) computes it.</summary>
    public static int HashOf(string key) => (int)(Murmur3.Hash32(key) % 65536);

    public override string ToString() => $"{Start}-{End}";
}

/// <summary>
/// A subscription's dead-letter and retry topics (Pulsar's DeadLetterPolicy), applied by the broker: a message
/// delivered <see cref="MaxRedeliverCount"/> + 1 times and negatively acknowledged (or timed out) again goes to the
/// dead-letter topic, with its key, properties and payload and the properties REAL_TOPIC and ORIGIN_MESSAGE_ID.
/// </summary>
public sealed record DeadLetterPolicy
{
    /// <summary>0: no dead-letter topic.</summary>
    public int MaxRedeliverCount { get; init; }

    /// <summary>Null: {topic}-{subscription}-DLQ.</summary>
    public string? DeadLetterTopic { get; init; }

    /// <summary>Where <see cref="Consumer.ReconsumeLaterAsync"/> sends messages. Null: {topic}-{subscription}-RETRY.</summary>
    public string? RetryLetterTopic { get; init; }
}

/// <summary>
/// A reader: reads a topic from a position without a durable subscription. Start at
/// <see cref="MessageId.Earliest"/>, <see cref="MessageId.Latest"/> or a message id.
/// </summary>
public sealed record ReaderOptions
{
    public ReaderOptions(string topic) => Topic = topic;

    public string Topic { get; init; }

    public MessageId StartMessageId { get; init; } = MessageId.Earliest;

    /// <summary>With a message id: read that message first rather than the one after it.</summary>
    public bool StartInclusive { get; init; }

    public int ReceiverQueueSize { get; init; } = 1000;

    public string? ReaderName { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Topic))
            throw new ArgumentException("A reader needs a topic.", nameof(Topic));
        if (ReceiverQueueSize < 1)
            throw new ArgumentException($"ReceiverQueueSize must be at least 1, not {ReceiverQueueSize}.", nameof(ReceiverQueueSize));
    }
}
