namespace Tiered.Broker.Subscriptions.Delayed;

/// <summary>How Shared and Key_Shared subscriptions index the entries they hold until their deliver_at_ms.</summary>
public sealed record DelayedDeliveryOptions
{
    /// <summary>
    /// Width of a time slot of the index: an entry goes out at most this much after its time (Pulsar's
    /// delayedDeliveryTickTimeMillis, 1 s there). Finer slots cost more memory when delays are spread widely.
    /// </summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(DelayedDeliveryTracker.DefaultTickMs);

    /// <summary>
    /// Memory one subscription's index may use; beyond it the farthest slots are spilled to summaries and found again
    /// by re-reading the log when due (bounded memory for any number of delayed messages).
    /// </summary>
    public long MaxIndexBytes { get; init; } = DelayedDeliveryTracker.DefaultMaxIndexBytes;

    public void Validate()
    {
        if (Tick < TimeSpan.FromMilliseconds(1) || Tick > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"The delayed-delivery tick must be between 1 ms and 1 min (was {Tick}).");
        if (MaxIndexBytes < 1024)
            throw new ArgumentException($"The delayed-delivery index needs at least 1 KiB (was {MaxIndexBytes} bytes).");
    }

    internal DelayedDeliveryTracker CreateTracker() => new((long)Tick.TotalMilliseconds, MaxIndexBytes);
}
