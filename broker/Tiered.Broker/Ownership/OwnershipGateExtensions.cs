using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

public static class OwnershipGateExtensions
{
    /// <summary>How long a lookup waits for the owner a client could not reach to be replaced (<see cref="ResolveAsync"/>).</summary>
    public static readonly TimeSpan UnreachableOwnerWait = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan UnreachableOwnerPoll = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Who serves <paramref name="topic"/>: <see cref="OwnershipState.Local"/> or <see cref="OwnershipState.Elsewhere"/>,
    /// acquiring its bundle when nobody owns it. With <paramref name="unreachableOwner"/> (the gRPC URL of an owner the
    /// client could not reach), while the gate still names that broker, waits up to <see cref="UnreachableOwnerWait"/>
    /// for the cluster to declare it dead or the bundle to move (the gate answers from memory, so this is a cheap poll):
    /// the client then learns the new owner as soon as there is one, instead of retrying on a backoff.
    /// </summary>
    public static async ValueTask<TopicOwnership> ResolveAsync(this IOwnershipGate gate, TopicName topic, CancellationToken cancellationToken,
        string? unreachableOwner = null)
    {
        var ownership = await gate.CheckAsync(topic, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(unreachableOwner))
        {
            var deadline = Environment.TickCount64 + (long)UnreachableOwnerWait.TotalMilliseconds;
            while (ownership is { State: OwnershipState.Elsewhere, Owner.GrpcUrl: var url } && url == unreachableOwner && Environment.TickCount64 < deadline)
            {
                await Task.Delay(UnreachableOwnerPoll, cancellationToken).ConfigureAwait(false);
                ownership = await gate.CheckAsync(topic, cancellationToken).ConfigureAwait(false);
            }
        }
        if (ownership.State == OwnershipState.Unowned)
            ownership = await gate.AcquireAsync(topic, cancellationToken).ConfigureAwait(false);
        return ownership.State switch
        {
            OwnershipState.Local or OwnershipState.Elsewhere when ownership.Owner is not null => ownership,
            _ => throw new BrokerException(BrokerErrorCode.Unavailable, $"The owner of {topic} is not known yet (bundle {ownership.Bundle}); retry shortly."),
        };
    }

    /// <summary>Returns when this broker may open <paramref name="topic"/>; <see cref="OwnedElsewhereException"/> when another broker serves it.</summary>
    public static async ValueTask RequireLocalAsync(this IOwnershipGate gate, TopicName topic, CancellationToken cancellationToken)
    {
        var ownership = await gate.ResolveAsync(topic, cancellationToken).ConfigureAwait(false);
        if (ownership.State == OwnershipState.Elsewhere)
            throw new OwnedElsewhereException(topic, ownership.Owner!);
    }
}
