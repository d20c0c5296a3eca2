using Microsoft.Extensions.Logging;

namespace Tiered.Cluster;

/// <summary>Log messages of the broker cluster (event ids 11000–11999; the gate's own are in ClusterOwnershipGate).</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 11020, EventName = "OwnershipWatchLost", Level = LogLevel.Warning, Message = "The watch on bundle ownership records was lost; lookups read the metadata service until it is back")]
    public static partial void OwnershipWatchLost(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 11030, EventName = "BundlePlaced", Level = LogLevel.Debug, Message = "Placing bundle {Bundle} on {Broker} ({Owned} bundles owned there)")]
    public static partial void BundlePlaced(ILogger logger, string bundle, string broker, int owned);
}
