using Tiered.Broker.Admin;
using Tiered.ManagedLedgers;
using Tiered.Offloader;
using Tiered.Offloader.Stored;
using Tiered.Offloader.Stores;

namespace Tiered.Broker.Topics;

public sealed partial class TopicRegistry
{
    /// <summary>This broker's tiered storage, or null when it does not offload.</summary>
    /// <summary>Where closed ledgers are offloaded to and read back from; null: this broker does not offload.</summary>
    public TieredStorage? TieredStorage { get; }

    /// <summary>
    /// Starts offloading the topic's closed ledgers up to <paramref name="upTo"/> in the background
    /// (PUT …/offload). BadRequest when no store is configured; Conflict when one is running.
    /// </summary>
    public async Task StartOffloadAsync(Topic topic, Position upTo, CancellationToken cancellationToken)
    {
        var policy = await Policies.GetNamespaceAsync(topic.Name.Namespace, cancellationToken).ConfigureAwait(false);
        var target = OffloadTargetOf(topic, policy)
            ?? throw new BrokerException(BrokerErrorCode.BadRequest,
                $"No offload store is configured for {topic.Name.Namespace}: set one with POST /admin/v2/namespaces/{topic.Name.Namespace}/offloadPolicies, or start the broker with --offload-driver.");
        var lag = DeletionLagOf(policy);
        if (!topic.Offload.TryStart(() => OffloadAndDeleteAsync(topic.Ledger, () => topic.Ledger.OffloadAsync(upTo, target), lag), e => BrokerLog.OffloadFailed(_logger, topic.Name.ToString(), e)))
            throw new BrokerException(BrokerErrorCode.Conflict, $"An offload of {topic.Name} is already running; GET its /offload status and try again when it has ended.");
    }

    /// <summary>The maintenance step: offload beyond the namespace's threshold (in the background), and delete bookie copies past the deletion lag.</summary>
    private async Task OffloadByPolicyAsync(Topic topic, NamespacePolicies? policy, CancellationToken cancellationToken)
    {
        if (TieredStorage is null)
            return;
        var threshold = policy?.OffloadThreshold ?? _options.DefaultOffloadThreshold;
        var lag = DeletionLagOf(policy);
        if (threshold >= 0 && OffloadTargetOf(topic, policy) is { } target)
            topic.Offload.TryStart(() => OffloadAndDeleteAsync(topic.Ledger, () => topic.Ledger.OffloadBeyondThresholdAsync(threshold, target), lag), e => BrokerLog.OffloadFailed(_logger, topic.Name.ToString(), e));
        if (topic.Offload.Running is null)
            await topic.Ledger.DeleteOffloadedFromBookiesAsync(lag, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Offloads, then at once deletes the bookie copies whose lag has passed (all of them with a lag of 0).</summary>
    private static async Task<OffloadOutcome> OffloadAndDeleteAsync(ManagedLedger ledger, Func<Task<OffloadOutcome>> offload, TimeSpan lag)
    {
        var outcome = await offload().ConfigureAwait(false);
        await ledger.DeleteOffloadedFromBookiesAsync(lag).ConfigureAwait(false);
        return outcome;
    }

    private TimeSpan DeletionLagOf(NamespacePolicies? policy)
        => policy?.OffloadDeletionLagMs is { } ms ? TimeSpan.FromMilliseconds(ms) : _options.DefaultOffloadDeletionLag;

    /// <summary>Where the topic offloads to: its namespace's store, else the broker's default; null when neither is set or the broker has no tiered storage.</summary>
    private StoreAddress? OffloadTargetOf(Topic topic, NamespacePolicies? policy)
    {
        if (TieredStorage is null)
            return null;
        if (policy?.OffloadPolicies is { } p)
        {
            var settings = ToSettings(p);
            try
            {
                settings.Validate();
            }
            catch (ArgumentException e)
            {
                throw new BrokerException(BrokerErrorCode.BadRequest, $"The offloadPolicies of {topic.Name.Namespace} are not usable: {e.Message}", e);
            }
            return TieredStorage.AddressOf(settings);
        }
        return _options.DefaultOffloadStore is { } fallback ? TieredStorage.AddressOf(fallback) : null;
    }

    /// <summary>The store settings a namespace's offloadPolicies name.</summary>
    public static ObjectStoreSettings ToSettings(OffloadPolicies policies) => new()
    {
        Driver = policies.ManagedLedgerOffloadDriver,
        Directory = policies.ManagedLedgerOffloadDirectory,
        Bucket = policies.ManagedLedgerOffloadBucket,
        Endpoint = policies.ManagedLedgerOffloadServiceEndpoint,
        Region = policies.ManagedLedgerOffloadRegion,
        Prefix = policies.ManagedLedgerOffloadPrefix,
        PathStyle = policies.ManagedLedgerOffloadPathStyleAccess,
    };

    /// <summary>GET …/offload.</summary>
    public static OffloadProcessStatus OffloadStatusOf(Topic topic, int partitionIndex)
    {
        var first = topic.Ledger.FirstUnoffloadedPosition;
        return new OffloadProcessStatus
        {
            Status = topic.Offload.Status switch
            {
                TopicOffload.State.Running => "RUNNING",
                TopicOffload.State.Success => "SUCCESS",
                TopicOffload.State.Error => "ERROR",
                _ => "NOT_RUN",
            },
            LastError = topic.Offload.LastError,
            FirstUnoffloadedMessage = new MessageIdData(first.LedgerId, first.EntryId, partitionIndex),
        };
    }
}
