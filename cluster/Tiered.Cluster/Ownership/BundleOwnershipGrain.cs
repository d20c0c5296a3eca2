using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Tiered.Broker;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Cluster.Placement;
using Tiered.Metadata;

namespace Tiered.Cluster.Ownership;

/// <summary>
/// The broker that owns a bundle, as the ownership grain answers it; or, with <see cref="Refusal"/>,
/// why nobody could take it now (the answer crosses brokers, so it carries the reason rather than
/// an exception Orleans would have to serialize).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BundleOwner([property: Id(0)] string BrokerId, [property: Id(1)] string BrokerUrl, [property: Id(2)] string HttpUrl,
    [property: Id(3)] string? Refusal = null)
{
    public BrokerUrls Urls => new(BrokerUrl, HttpUrl);

    public static BundleOwner Of(OwnershipRecord record) => new(record.BrokerId, record.BrokerUrl, record.HttpUrl);

    public static BundleOwner Refused(string reason) => new("", "", "", reason);
}

/// <summary>
/// One grain per namespace bundle, keyed by its name (tenant/namespace/0x…_0x…). The broker where it
/// is active owns the bundle: the first call takes ownership in the metadata service (the record
/// there, under the broker's session, is the authority — Orleans may briefly run two activations).
/// Calls are not reentrant, so an activation takes and releases one step at a time. Only lookups of
/// unowned bundles and unloads call it: clients never send data through it.
/// </summary>
public interface IBundleOwnershipGrain : IGrainWithStringKey
{
    /// <summary>Takes the bundle for this activation's broker unless a live broker owns it; answers the owner.</summary>
    Task<BundleOwner> GetOwnerAsync();

    /// <summary>Releases the bundle (its topics unloaded, its record deleted) and deactivates.</summary>
    Task UnloadAsync();

    /// <summary>
    /// Moves the bundle to the broker of <paramref name="target"/>: this activation releases it and Orleans
    /// migrates the grain there, holding the calls that arrive meanwhile and forwarding them to the new
    /// activation, which takes the bundle on its first call. No lookup in between can place it elsewhere.
    /// </summary>
    Task MoveAsync(SiloAddress target);
}

/// <summary>The ownership grain; kept alive while it owns its bundle (never collected for idleness).</summary>
[KeepAlive]
[BundlePlacement]
public sealed class BundleOwnershipGrain(ClusterOwnershipGate gate) : Grain, IBundleOwnershipGrain
{
    private NamespaceBundle _bundle;

    /// <summary>This activation gave its bundle up and is going away: calls still queued for it must not take the bundle back.</summary>
    private bool _released;

    public static string KeyOf(NamespaceBundle bundle) => bundle.ToString();

    /// <summary>The bundle of a grain key (tenant/namespace/0x…_0x…); false for a malformed key.</summary>
    public static bool TryParseKey(string key, out NamespaceBundle bundle)
    {
        bundle = default;
        if (key.Split('/') is not [var tenant, var ns, var range] || !NamespaceName.IsValidPart(tenant) || !NamespaceName.IsValidPart(ns)
            || !NamespaceBundle.TryParseRange(range, out var lower, out var upper))
            return false;
        bundle = new NamespaceBundle(new NamespaceName(tenant, ns), lower, upper);
        return true;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!TryParseKey(this.GetPrimaryKeyString(), out _bundle))
            throw new ArgumentException($"'{this.GetPrimaryKeyString()}' is not a bundle name (tenant/namespace/0x…_0x…).");
        return Task.CompletedTask;
    }

    public async Task<BundleOwner> GetOwnerAsync()
    {
        if (_released)
            return BundleOwner.Refused($"Bundle {_bundle} is moving; look the topic up again.");
        BundleOwner owner;
        try
        {
            owner = await gate.TakeAsync(_bundle, CancellationToken.None).ConfigureAwait(true);
        }
        catch (Exception e) when (e is BrokerException or MetadataException)
        {
            owner = BundleOwner.Refused(e.Message);
        }
        // Another live broker owns it (this is a second activation while membership settles), or
        // nobody could take it here: this activation holds nothing.
        if (owner.BrokerId != gate.BrokerId)
            DeactivateOnIdle();
        return owner;
    }

    public async Task UnloadAsync()
    {
        _released = true;
        await gate.ReleaseAsync(_bundle, CancellationToken.None).ConfigureAwait(true);
        DeactivateOnIdle();
    }

    public Task MoveAsync(SiloAddress target)
    {
        // Migration captures the request context: the hint makes the placement director choose the target.
        // Releasing happens in OnDeactivateAsync, before Orleans hands the grain over.
        RequestContext.Set(IPlacementDirector.PlacementHintKey, target);
        MigrateOnIdle();
        return Task.CompletedTask;
    }

    /// <summary>
    /// A migrating activation releases the bundle before Orleans hands the grain over (<see cref="MoveAsync"/>). Any
    /// other deactivation keeps it: an unload released it already, and when Orleans drops the activation for its own
    /// reasons (the silo that held its directory entry died) the record stays the authority and this broker keeps
    /// serving; the next call activates the grain here again (<see cref="ClusterOwnershipGate"/> hints the owner's silo).
    /// </summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
        => reason.ReasonCode == DeactivationReasonCode.Migrating ? gate.ReleaseAsync(_bundle, cancellationToken) : Task.CompletedTask;
}
