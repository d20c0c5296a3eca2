namespace Tiered.Client;

/// <summary>
/// The broker refused a message because its topic's backlog quota is exceeded and the namespace's policy is
/// producer_exception (BACKLOG_QUOTA_EXCEEDED): it was not stored, and the producer does not send it again by itself.
/// Sending again succeeds once consumers have acknowledged enough; the message says how far over the quota the topic is.
/// </summary>
public sealed class BacklogQuotaExceededException : TieredClientException
{
    public BacklogQuotaExceededException()
    {
    }

    public BacklogQuotaExceededException(string message)
        : base(message)
    {
    }

    public BacklogQuotaExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
