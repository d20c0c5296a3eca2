using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Bookie.V1;
using Tiered.Metadata;

namespace Tiered.Ledger;

/// <summary>
/// Auto-recovery (BookKeeper's auditor and replication worker in one role): every instance
/// competes for the ephemeral lock key <see cref="LockKey"/>; the one holding it is active and,
/// every <see cref="CheckInterval"/>, checks every CLOSED ledger for segments whose ensemble names
/// a bookie that is no longer registered (neither available nor read-only). Such a bookie's share
/// of the fragment is copied, entry by entry and exactly as stored, from the other replicas to a
/// replacement bookie (recovery adds); once all of it is there the segment's ensemble is changed
/// by compare-and-set. OPEN and IN_RECOVERY ledgers are left to their writer's ensemble changes
/// and to ledger recovery. Instances that do not hold the lock retry taking it on every tick, so
/// one takes over as soon as the active one's session ends.
/// <para>
/// Passes are driven by changes: a watch on the bookie registrations, one on the lock and one on the
/// ledgers' metadata start a pass at once (at most one every <see cref="CheckInterval"/>), which is
/// all that can make a ledger need copying: a bookie going away, or a ledger closing on one that has
/// gone. While a pass leaves work behind (a copy failed, a ledger changed under it) the next one follows
/// after <see cref="CheckInterval"/>; once a pass finds nothing to do the instance waits for a change,
/// or <see cref="IdleCheckInterval"/> at most, instead of reading every ledger's metadata every second.
/// </para>
/// <para>
/// A bookie being decommissioned (<see cref="BookiePaths.Decommissioning"/>) is treated like a lost
/// one, except that it still serves reads (it is read from too) and that OPEN ledgers are drained as
/// well: every segment before the last one is immutable, so its fragment is copied and swapped like a
/// closed ledger's. The last segment of an OPEN ledger belongs to its writer, which replaces the
/// bookie itself: the decommissioned bookie ends its add streams, which is an ensemble change.
/// </para>
/// </summary>
public sealed partial class AutoRecovery : IAsyncDisposable
{
    /// <summary>The auditor lock: an ephemeral key owned by the active instance's session.</summary>
    public const string LockKey = "/ledgers-auditor/lock";

    private const int UpdateAttempts = 5;

    /// <summary>The shortest time between the starts of two passes, and the wait before a pass that left work behind is repeated.</summary>
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait after a pass that found nothing to do: a safety net behind the watches.</summary>
    internal static readonly TimeSpan IdleCheckInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SessionTtl = TimeSpan.FromSeconds(10);

    private readonly IMetadataStore _metadata;
    private readonly LedgerMetadataStore _ledgers;
    private readonly LedgerClientOptions _options;
    private readonly BookieAddressBook _addresses;
    private readonly BookieClientPool _pool;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private MetadataSession? _session;
    private Task _loop = Task.CompletedTask;
    private Task[] _watches = [];
    private long _ledgersChecked;
    private long _fragmentsRecovered;
    private long _entriesCopied;
    private volatile bool _active;
    private int _disposed;

    private AutoRecovery(IMetadataStore metadata, LedgerClientOptions options, ILogger logger)
    {
        (_metadata, _options, _logger) = (metadata, options, logger);
        _ledgers = new LedgerMetadataStore(metadata);
        _addresses = new BookieAddressBook(metadata, options.LoggerFactory.CreateLogger<BookieAddressBook>());
        _pool = new BookieClientPool(options, _addresses);
    }

    /// <summary>This instance's name in the lock key's value.</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>Whether this instance holds the auditor lock (as of its last check).</summary>
    public bool IsActive => _active;

    /// <summary>CLOSED ledgers examined by this instance (one per ledger per pass).</summary>
    public long LedgersChecked => Interlocked.Read(ref _ledgersChecked);

    /// <summary>Fragments (one lost bookie's share of one segment) re-replicated and recorded in metadata.</summary>
    public long FragmentsRecovered => Interlocked.Read(ref _fragmentsRecovered);

    /// <summary>Entries written to replacement bookies.</summary>
    public long EntriesCopied => Interlocked.Read(ref _entriesCopied);

    /// <summary>
    /// Starts an instance: it tries to take the lock at once (so the first one started is
    /// normally the active one) and then keeps auditing or competing in the background.
    /// </summary>
    public static async Task<AutoRecovery> StartAsync(IMetadataStore metadata, LedgerClientOptions? options, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(logger);
        options ??= new LedgerClientOptions();
        options.Validate();
        var recovery = new AutoRecovery(metadata, options, logger);
        try
        {
            await recovery.TryLeadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (MetadataException e)
        {
            LedgerLog.AutoRecoveryPassFailed(logger, e);
        }
        recovery._loop = Task.Run(recovery.RunAsync, CancellationToken.None);
        // Bookies coming and going, the lock vanishing and ledgers changing (a close, an ensemble change)
        // start a pass at once; without changes a pass that found nothing to do is not repeated for a while.
        recovery._watches =
        [
            Task.Run(() => recovery.WakeOnChangesAsync(BookiePaths.Root), CancellationToken.None),
            Task.Run(() => recovery.WakeOnChangesAsync(LockKey), CancellationToken.None),
            Task.Run(() => recovery.WakeOnChangesAsync(LedgerMetadataStore.Root + "/"), CancellationToken.None),
        ];
        return recovery;
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            var done = false;
            try
            {
                await TryLeadAsync(token).ConfigureAwait(false);
                done = !_active || await AuditAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MetadataException or LedgerException or RpcException or InsufficientBookiesException or InvalidOperationException or IOException)
            {
                LedgerLog.AutoRecoveryPassFailed(_logger, e);
            }
            try
            {
                // An instance without the lock waits for the lock to change as well: the watch on it wakes it.
                if (await _wake.WaitAsync(done ? IdleCheckInterval : CheckInterval, token).ConfigureAwait(false))
                {
                    var sinceStart = Stopwatch.GetElapsedTime(started);
                    if (sinceStart < CheckInterval)
                        await Task.Delay(CheckInterval - sinceStart, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WakeOnChangesAsync(string prefix)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await foreach (var change in _metadata.WatchAsync(prefix, cancellationToken: token).ConfigureAwait(false))
                    Wake();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (!token.IsCancellationRequested && e is not OperationCanceledException)
            {
                // The periodic check still runs; watch again after a pause.
                LedgerLog.AutoRecoveryWatchFailed(_logger, prefix, e);
            }
            await Task.Delay(CheckInterval, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            // Changes made while the watch was down were not seen: a pass looks at everything.
            Wake();
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount != 0)
            return;
        try
        {
            _wake.Release();
        }
        catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Makes sure this instance has a live session, then takes the lock if it is free, or checks it still holds it.</summary>
    private async Task TryLeadAsync(CancellationToken cancellationToken)
    {
        if (_session is null || _session.Lost.IsCancellationRequested)
        {
            if (_active)
                LedgerLog.AutoRecoveryLostLock(_logger, InstanceId);
            _active = false;
            if (_session is not null)
                await _session.DisposeAsync().ConfigureAwait(false);
            _session = null;
            _session = await MetadataSession.CreateAsync(_metadata, SessionTtl, cancellationToken).ConfigureAwait(false);
        }
        if (_active)
        {
            var current = await _metadata.GetAsync(LockKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (current is null || current.SessionId != _session.Id)
            {
                _active = false;
                LedgerLog.AutoRecoveryLostLock(_logger, InstanceId);
            }
            else
            {
                return;
            }
        }
        try
        {
            await _metadata.PutAsync(LockKey, Encoding.UTF8.GetBytes(InstanceId), expectedVersion: -1, sessionId: _session.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
            _active = true;
            LedgerLog.AutoRecoveryActive(_logger, InstanceId);
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            // Another instance holds the lock.
        }
    }

    /// <summary>One pass over every ledger; true when it left nothing to do (every ledger checked, nothing failed or changed under it).</summary>
    private async Task<bool> AuditAsync(CancellationToken cancellationToken)
    {
        await _addresses.WaitLoadedAsync(_options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        var registered = await RegisteredBookiesAsync(cancellationToken).ConfigureAwait(false);
        if (registered.Count == 0)
            return true; // no bookie at all: more likely a metadata problem than every bookie lost; a bookie registering wakes the next pass
        var draining = (await _metadata.ListChildrenAsync(BookiePaths.Decommissioning, cancellationToken: cancellationToken).ConfigureAwait(false))
            .ToHashSet(StringComparer.Ordinal);
        var done = true;
        foreach (var ledgerId in await _ledgers.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_active)
                return true;
            try
            {
                done &= await CheckLedgerAsync(ledgerId, registered, draining, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is LedgerException or RpcException or InsufficientBookiesException or InvalidOperationException or IOException
                || (e is MetadataException && !cancellationToken.IsCancellationRequested))
            {
                LedgerLog.AutoRecoveryLedgerFailed(_logger, ledgerId, e);
                done = false;
            }
        }
        return done;
    }

    private async Task<HashSet<string>> RegisteredBookiesAsync(CancellationToken cancellationToken)
    {
        var available = await _metadata.ListChildrenAsync(BookiePaths.Available, cancellationToken: cancellationToken).ConfigureAwait(false);
        var readOnly = await _metadata.ListChildrenAsync(BookiePaths.ReadOnly, cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. available, .. readOnly];
    }

    /// <summary>
    /// Re-replicates every fragment of one ledger that is on a lost (or decommissioning) bookie, one fragment at a time;
    /// false when the ledger changed under it, so that the next pass must look again.
    /// </summary>
    private async Task<bool> CheckLedgerAsync(long ledgerId, HashSet<string> registered, HashSet<string> draining, CancellationToken cancellationToken)
    {
        var metadata = await _ledgers.GetAsync(ledgerId, cancellationToken).ConfigureAwait(false);
        if (metadata is null)
            return true;
        var state = metadata.Metadata.State;
        if (state != LedgerMetadata.Types.State.Closed && (state != LedgerMetadata.Types.State.Open || draining.Count == 0))
            return true;
        Interlocked.Increment(ref _ledgersChecked);
        while (_active && FindFragment(metadata.Metadata, registered, draining) is { } fragment)
        {
            var updated = await RecoverFragmentAsync(metadata, fragment, draining, cancellationToken).ConfigureAwait(false);
            if (updated is null)
                return false; // changed meanwhile (deleted, or the fragment was handled): the next pass looks again
            metadata = updated;
        }
        return true;
    }

    /// <summary>
    /// A lost (or decommissioning: <paramref name="Draining"/>) bookie's share of one segment: segment (by
    /// first entry), ensemble position, entry range.
    /// </summary>
    private sealed record Fragment(long FirstEntryId, long LastEntryId, int Position, string LostBookie, bool Draining);

    /// <summary>
    /// The first fragment to copy: in a CLOSED ledger on any bookie that is not registered or is
    /// decommissioning; in an OPEN ledger only on a decommissioning bookie and never in the last
    /// segment (the writer's). A lost bookie in an open ledger is left to its writer and to ledger
    /// recovery, as before.
    /// </summary>
    private static Fragment? FindFragment(LedgerMetadata metadata, HashSet<string> registered, HashSet<string> draining)
    {
        var closed = metadata.State == LedgerMetadata.Types.State.Closed;
        var segments = metadata.Segments.OrderBy(s => s.FirstEntryId).ToList();
        for (var i = 0; i < segments.Count; i++)
        {
            if (FragmentEnd(metadata, segments, i) is not { } last)
                continue;
            for (var position = 0; position < segments[i].Bookies.Count; position++)
            {
                var bookie = segments[i].Bookies[position];
                if (draining.Contains(bookie))
                    return new Fragment(segments[i].FirstEntryId, last, position, bookie, Draining: true);
                if (closed && !registered.Contains(bookie))
                    return new Fragment(segments[i].FirstEntryId, last, position, bookie, Draining: false);
            }
        }
        return null;
    }

    /// <summary>The last entry of segment <paramref name="index"/>; null for the last segment of a ledger that is not CLOSED (its writer still adds to it).</summary>
    private static long? FragmentEnd(LedgerMetadata metadata, List<Segment> segments, int index)
    {
        if (index + 1 < segments.Count)
            return segments[index + 1].FirstEntryId - 1;
        return metadata.State == LedgerMetadata.Types.State.Closed ? metadata.LastEntryId : null;
    }

    /// <summary>
    /// Copies the fragment to a replacement bookie and records it in the segment; returns the
    /// updated metadata, or null when the ledger changed so that this fragment is no longer as found.
    /// </summary>
    private async Task<VersionedLedgerMetadata?> RecoverFragmentAsync(VersionedLedgerMetadata metadata, Fragment fragment, HashSet<string> draining, CancellationToken cancellationToken)
    {
        var m = metadata.Metadata;
        var schedule = new DistributionSchedule(m.EnsembleSize, m.WriteQuorum, m.AckQuorum);
        var segment = m.Segments.First(s => s.FirstEntryId == fragment.FirstEntryId);
        var available = await _ledgers.AvailableBookiesAsync(cancellationToken).ConfigureAwait(false);
        var replacement = EnsemblePlacement.Replace([.. segment.Bookies], fragment.Position, [.. available], alsoExclude: draining);

        var entries = new List<long>();
        for (var entryId = fragment.FirstEntryId; entryId <= fragment.LastEntryId; entryId++)
        {
            if (schedule.Stores(entryId, fragment.Position))
                entries.Add(entryId);
        }
        if (entries.Count > 0)
            await CopyAsync(metadata, fragment, entries, replacement, cancellationToken).ConfigureAwait(false);

        for (var attempt = 1; ; attempt++)
        {
            var updated = metadata.Metadata.Clone();
            var segments = updated.Segments.OrderBy(s => s.FirstEntryId).ToList();
            var index = segments.FindIndex(s => s.FirstEntryId == fragment.FirstEntryId);
            var target = index < 0 ? null : segments[index];
            // The copy is valid while the segment still covers the same entries and names the bookie there
            // (an open ledger closing meanwhile leaves its earlier segments as they were).
            if (target is null || FragmentEnd(updated, segments, index) != fragment.LastEntryId
                || (updated.State != LedgerMetadata.Types.State.Closed && !fragment.Draining)
                || target.Bookies.Count <= fragment.Position || target.Bookies[fragment.Position] != fragment.LostBookie
                || target.Bookies.Contains(replacement))
            {
                return null;
            }
            target.Bookies[fragment.Position] = replacement;
            try
            {
                var stored = await _ledgers.UpdateAsync(metadata, updated, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _fragmentsRecovered);
                if (fragment.Draining)
                    LedgerLog.FragmentDrained(_logger, metadata.LedgerId, fragment.FirstEntryId, fragment.LastEntryId, fragment.LostBookie, replacement, fragment.Position, entries.Count);
                else
                    LedgerLog.FragmentRecovered(_logger, metadata.LedgerId, fragment.FirstEntryId, fragment.LastEntryId, fragment.LostBookie, replacement, fragment.Position, entries.Count);
                return stored;
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion && attempt < UpdateAttempts)
            {
                // Re-read and check again: the copy stays valid while the segment still names the lost bookie there.
                var latest = await _ledgers.GetAsync(metadata.LedgerId, cancellationToken).ConfigureAwait(false);
                if (latest is null)
                    return null;
                metadata = latest;
            }
        }
    }

    /// <summary>
    /// Reads each entry from another replica (digest checked; a decommissioning bookie's own copy is a
    /// replica too, as it still serves reads) and adds it, exactly as stored, to the replacement with the recovery flag.
    /// </summary>
    private async Task CopyAsync(VersionedLedgerMetadata metadata, Fragment fragment, List<long> entries, string replacement, CancellationToken cancellationToken)
    {
        var ledgerId = metadata.LedgerId;
        var reader = new LedgerReader(metadata, Math.Max(metadata.Metadata.LastEntryId, fragment.LastEntryId), _pool, _options, _logger);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AddTimeout + (_options.ReadTimeout * 2));
        using var call = _pool.Get(replacement).AddEntries(cancellationToken: timeout.Token);
        var answered = 0L;
        string? refused = null;
        var receiving = Task.Run(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(timeout.Token).ConfigureAwait(false))
            {
                if (response.Code != Code.Ok)
                {
                    refused ??= $"{replacement} refused entry {response.EntryId} ({response.Code}: {response.Message})";
                    return;
                }
                if (++answered == entries.Count)
                    return;
            }
        }, timeout.Token);

        try
        {
            var ahead = new Queue<Task<ReadResponse>>();
            var next = 0;
            while (next < entries.Count || ahead.Count > 0)
            {
                while (next < entries.Count && ahead.Count < _options.ReadAheadEntries)
                    ahead.Enqueue(reader.ReadStoredAsync(entries[next++], fragment.Draining ? null : fragment.LostBookie, timeout.Token));
                var stored = await ahead.Dequeue().ConfigureAwait(false);
                if (receiving.IsCompleted)
                    break;
                await call.RequestStream.WriteAsync(new AddRequest
                {
                    LedgerId = ledgerId,
                    EntryId = stored.EntryId,
                    LastAddConfirmed = stored.LastAddConfirmed,
                    Payload = stored.Payload,
                    Digest = stored.Digest,
                    Recovery = true,
                }, timeout.Token).ConfigureAwait(false);
            }
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            await receiving.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw new LedgerException($"Ledger {ledgerId}: copying the fragment of entries {fragment.FirstEntryId}..{fragment.LastEntryId} from lost bookie {fragment.LostBookie} to {replacement} failed: {e.Message}", e);
        }
        finally
        {
            await timeout.CancelAsync().ConfigureAwait(false);
            await receiving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        Interlocked.Add(ref _entriesCopied, answered);
        if (refused is not null || answered != entries.Count)
        {
            throw new LedgerException(
                $"Ledger {ledgerId}: copying the fragment of entries {fragment.FirstEntryId}..{fragment.LastEntryId} from lost bookie {fragment.LostBookie} to {replacement} failed: {refused ?? $"only {answered} of {entries.Count} entries were acknowledged"}.");
        }
    }

    /// <summary>Stops auditing and closes the session, which frees the lock for another instance at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.WhenAll(_watches).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _active = false;
        if (_session is not null)
            await _session.DisposeAsync().ConfigureAwait(false);
        _pool.Dispose();
        await _addresses.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _wake.Dispose();
    }
}
