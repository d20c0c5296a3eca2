using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

public static class OwnershipGateExtensions
{
    /// <summary>Who serves <paramref name="topic"/>: <see cref="OwnershipState.Local"/> or <see cref="OwnershipState.Elsewhere"/>, acquiring its bundle when nobody owns it.</summary>
    public static async ValueTask<TopicOwnership> ResolveAsync(this IOwnershipGate gate, TopicName topic, CancellationToken cancellationToken)
    {
        var ownership = await gate.CheckAsync(topic, cancellationToken).ConfigureAwait(false);
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
