using Google.Protobuf;
using Tiered.Bookie.V1;
using Tiered.Metadata;

namespace Tiered.Ledger;

/// <summary>A ledger's metadata with the metadata-store version it was read at (for compare-and-set).</summary>
public sealed record VersionedLedgerMetadata(long LedgerId, LedgerMetadata Metadata, long Version);

/// <summary>
/// Ledger metadata in the metadata service, one key per ledger (<c>/ledgers/{id}</c>), changed
/// only by compare-and-set so that a writer's ensemble change and a recovering reader's close
/// can never overwrite each other. Ledger ids come from the "ledgers" id counter.
/// </summary>
public sealed class LedgerMetadataStore(IMetadataStore store)
{
    public const string Root = "/ledgers";
    public const string IdCounter = "ledgers";

    public static string Key(long ledgerId) => $"{Root}/{ledgerId}";

    /// <summary>Allocates an id and stores new OPEN ledger metadata for <paramref name="ensemble"/>.</summary>
    public async Task<VersionedLedgerMetadata> CreateAsync(DistributionSchedule schedule, IReadOnlyList<string> ensemble, IReadOnlyDictionary<string, string>? custom = null, CancellationToken cancellationToken = default)
    {
        if (ensemble.Count != schedule.EnsembleSize)
            throw new ArgumentException($"The ensemble has {ensemble.Count} bookies, the schedule needs {schedule.EnsembleSize}.", nameof(ensemble));
        var metadata = new LedgerMetadata
        {
            EnsembleSize = schedule.EnsembleSize,
            WriteQuorum = schedule.WriteQuorum,
            AckQuorum = schedule.AckQuorum,
            State = LedgerMetadata.Types.State.Open,
            LastEntryId = -1,
            CreatedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Segments = { new Segment { FirstEntryId = 0, Bookies = { ensemble } } },
        };
        foreach (var (name, value) in custom ?? new Dictionary<string, string>())
            metadata.Custom[name] = value;
        var id = await store.NextIdAsync(IdCounter, cancellationToken: cancellationToken).ConfigureAwait(false);
        var stored = await store.PutAsync(Key(id), metadata.ToByteArray(), expectedVersion: -1, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new VersionedLedgerMetadata(id, metadata, stored.Version);
    }

    /// <summary>The ledger's metadata, or null when no such ledger exists.</summary>
    public async Task<VersionedLedgerMetadata?> GetAsync(long ledgerId, CancellationToken cancellationToken = default)
    {
        var kv = await store.GetAsync(Key(ledgerId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return kv is null ? null : new VersionedLedgerMetadata(ledgerId, LedgerMetadata.Parser.ParseFrom(kv.Value), kv.Version);
    }

    /// <summary>Replaces the metadata if it is still at <paramref name="current"/>'s version; else <see cref="MetadataErrorCode.BadVersion"/>.</summary>
    public async Task<VersionedLedgerMetadata> UpdateAsync(VersionedLedgerMetadata current, LedgerMetadata updated, CancellationToken cancellationToken = default)
    {
        var stored = await store.PutAsync(Key(current.LedgerId), updated.ToByteArray(), expectedVersion: current.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
        return current with { Metadata = updated, Version = stored.Version };
    }

    /// <summary>Ids of the bookies registered as accepting adds (<see cref="BookiePaths.Available"/>).</summary>
    public async Task<IReadOnlyList<string>> AvailableBookiesAsync(CancellationToken cancellationToken = default)
        => await store.ListChildrenAsync(BookiePaths.Available, cancellationToken: cancellationToken).ConfigureAwait(false);

    public async Task<bool> DeleteAsync(long ledgerId, CancellationToken cancellationToken = default)
        => await store.DeleteAsync(Key(ledgerId), cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Ids of every ledger, ascending.</summary>
    public async Task<List<long>> ListAsync(CancellationToken cancellationToken = default)
    {
        var children = await store.ListChildrenAsync(Root, cancellationToken: cancellationToken).ConfigureAwait(false);
        var ids = new List<long>(children.Count);
        foreach (var child in children)
        {
            if (long.TryParse(child, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
                ids.Add(id);
        }
        ids.Sort();
        return ids;
    }

    /// <summary>Every ledger's metadata, read in one listing (the admin API's replication report).</summary>
    public async Task<List<VersionedLedgerMetadata>> ListAllAsync(CancellationToken cancellationToken = default)
    {
        var prefix = Root + "/";
        var kvs = await store.ListAsync(prefix, cancellationToken: cancellationToken).ConfigureAwait(false);
        var all = new List<VersionedLedgerMetadata>(kvs.Count);
        foreach (var kv in kvs)
        {
            var name = kv.Key.AsSpan(prefix.Length);
            if (long.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
                all.Add(new VersionedLedgerMetadata(id, LedgerMetadata.Parser.ParseFrom(kv.Value), kv.Version));
        }
        all.Sort((a, b) => a.LedgerId.CompareTo(b.LedgerId));
        return all;
    }
}
