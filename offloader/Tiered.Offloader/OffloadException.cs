namespace Tiered.Offloader;

/// <summary>An offload could not complete: nothing it wrote counts as offloaded, and the bookie copy stays.</summary>
public sealed class OffloadException(string message, bool isRetryable, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>True when trying again later may succeed (the store was unreachable, the bookies were busy).</summary>
    public bool IsRetryable { get; } = isRetryable;
}
