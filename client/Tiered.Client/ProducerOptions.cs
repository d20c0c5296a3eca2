namespace Tiered.Client;

/// <summary>
/// What a producer publishes to and how it batches. Batching is "natural": a batch goes out at once when
/// nothing is in flight, and while a batch awaits its receipt the next messages gather into one batch that
/// is sent when a receipt arrives or when it is full. No timer is involved, so a lone message is not delayed
/// and a busy producer sends large batches.
/// </summary>
public sealed record ProducerOptions
{
    public ProducerOptions(string topic) => Topic = topic;

    /// <summary>persistent://tenant/namespace/topic, tenant/namespace/topic or a short name in public/default.</summary>
    public string Topic { get; init; }

    /// <summary>Unique per topic; the broker picks one when null. Reconnections keep the name, which the broker's de-duplication relies on.</summary>
    public string? ProducerName { get; init; }

    public bool BatchingEnabled { get; init; } = true;

    /// <summary>Most messages in one batch.</summary>
    public int BatchingMaxMessages { get; init; } = 1000;

    /// <summary>Most bytes (of encoded messages) in one batch; a single larger message goes alone in its batch.</summary>
    public int BatchingMaxBytes { get; init; } = 128 * 1024;

    /// <summary>Most messages sent and not yet acknowledged (per partition); <c>SendAsync</c> waits for room beyond it.</summary>
    public int MaxPendingMessages { get; init; } = 1000;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Topic))
            throw new ArgumentException("A producer needs a topic.", nameof(Topic));
        if (BatchingMaxMessages < 1)
            throw new ArgumentException($"BatchingMaxMessages must be at least 1, not {BatchingMaxMessages}.", nameof(BatchingMaxMessages));
        if (BatchingMaxBytes < 1)
            throw new ArgumentException($"BatchingMaxBytes must be at least 1, not {BatchingMaxBytes}.", nameof(BatchingMaxBytes));
        if (MaxPendingMessages < 1)
            throw new ArgumentException($"MaxPendingMessages must be at least 1, not {MaxPendingMessages}.", nameof(MaxPendingMessages));
    }
}
