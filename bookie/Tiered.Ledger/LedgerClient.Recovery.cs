using Grpc.Core;
using Tiered.Bookie.V1;
using Tiered.Metadata;

namespace Tiered.Ledger;

/// <summary>
/// Ledger recovery (BookKeeper's protocol, with both fixes of its TLA+ specification): (1) the
/// metadata goes OPEN → IN_RECOVERY by compare-and-set; (2) the last segment is fenced until
/// fewer than Qa of its bookies can still accept the old writer's adds, and the highest LAC they
/// report — but never below the segment's first entry − 1 — is where recovery starts;
/// (3) entries after it are read with fencing reads until one is certainly absent (Qw − Qa + 1
/// bookies of its write set lack it); (4) every entry found is written back (recovery adds, as
/// stored, digest and all) until Qa bookies of its write set have it; (5) the metadata goes to
/// CLOSED at the last entry found, with the exact payload length (the bookies report the lengths of the entries up to
/// the LAC, so recovery does not read them back).
/// </summary>
public sealed partial class LedgerClient
{
    private const int RecoveryAttempts = 5;

    private async Task<LedgerReader> RecoverAsync(long ledgerId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var metadata = await _ledgers.GetAsync(ledgerId, cancellationToken).ConfigureAwait(false) ?? throw new LedgerNotFoundException(ledgerId);
            if (metadata.Metadata.State == LedgerMetadata.Types.State.Closed)
                return new LedgerReader(metadata, metadata.Metadata.LastEntryId, _pool, _options, _logger);
            try
            {
                if (metadata.Metadata.State == LedgerMetadata.Types.State.Open)
                {
                    var inRecovery = metadata.Metadata.Clone();
                    inRecovery.State = LedgerMetadata.Types.State.InRecovery;
                    metadata = await _ledgers.UpdateAsync(metadata, inRecovery, cancellationToken).ConfigureAwait(false);
                }
                // Already IN_RECOVERY: another recoverer may have died; recovery is idempotent, so redo it.
                var (lastEntryId, length) = await RecoverEntriesAsync(metadata, cancellationToken).ConfigureAwait(false);
                var closed = metadata.Metadata.Clone();
                closed.State = LedgerMetadata.Types.State.Closed;
                closed.LastEntryId = lastEntryId;
                closed.Length = length;
                metadata = await _ledgers.UpdateAsync(metadata, closed, cancellationToken).ConfigureAwait(false);
                LedgerLog.Recovered(_logger, ledgerId, lastEntryId, length);
                return new LedgerReader(metadata, lastEntryId, _pool, _options, _logger);
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion && attempt < RecoveryAttempts)
            {
                // The writer changed its ensemble, or another recoverer moved the state: read again.
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                throw new LedgerException($"Ledger {ledgerId} could not be recovered: its metadata kept changing during recovery ({attempt} attempts).", e);
            }
        }
    }

    /// <summary>Steps 2–4 on a ledger in IN_RECOVERY; returns its last entry id and total payload bytes.</summary>
    private async Task<(long LastEntryId, long Length)> RecoverEntriesAsync(VersionedLedgerMetadata metadata, CancellationToken cancellationToken)
    {
        var m = metadata.Metadata;
        var schedule = new DistributionSchedule(m.EnsembleSize, m.WriteQuorum, m.AckQuorum);
        var segment = m.Segments.MaxBy(s => s.FirstEntryId)!;
        var ensemble = segment.Bookies;

        var fencedLac = await FenceAsync(metadata.LedgerId, schedule, ensemble, cancellationToken).ConfigureAwait(false);
        // TLA+ finding: entries before the last segment were confirmed before it was created.
        var lac = Math.Max(fencedLac, segment.FirstEntryId - 1);

        var recovered = await RecoveryReadAsync(metadata.LedgerId, schedule, ensemble, lac + 1, cancellationToken).ConfigureAwait(false);
        if (recovered.Count > 0)
            await WriteBackAsync(metadata.LedgerId, schedule, ensemble, recovered, cancellationToken).ConfigureAwait(false);
        var lastEntryId = recovered.Count > 0 ? recovered[^1].EntryId : lac;

        // Exact length: the recovered entries are at hand, the bookies say how long the ones up to the LAC are.
        var length = recovered.Sum(r => (long)r.Payload.Length) + await LengthThroughAsync(metadata, lac, cancellationToken).ConfigureAwait(false);
        return (lastEntryId, length);
    }

    /// <summary>
    /// The total payload length of entries 0 to <paramref name="lastEntryId"/>: every bookie of each segment streams
    /// the lengths of the entries it stores (<c>EntryLengths</c>, no payloads cross the network), all at once; an
    /// entry no bookie answered for, or whose replicas disagree, is read from a replica with its digest checked.
    /// </summary>
    private async Task<long> LengthThroughAsync(VersionedLedgerMetadata metadata, long lastEntryId, CancellationToken cancellationToken)
    {
        if (lastEntryId < 0)
            return 0;
        var lengths = new int[lastEntryId + 1];
        Array.Fill(lengths, -1);
        var segments = metadata.Metadata.Segments.OrderBy(s => s.FirstEntryId).ToList();
        var streams = new List<Task<EntryLengthsResponse[]>>();
        for (var i = 0; i < segments.Count && segments[i].FirstEntryId <= lastEntryId; i++)
        {
            var last = i + 1 < segments.Count ? Math.Min(lastEntryId, segments[i + 1].FirstEntryId - 1) : lastEntryId;
            if (last < segments[i].FirstEntryId)
                continue;
            foreach (var bookieId in segments[i].Bookies)
                streams.Add(EntryLengthsAsync(bookieId, metadata.LedgerId, segments[i].FirstEntryId, last, cancellationToken));
        }
        const int Disputed = -2;
        foreach (var chunks in await Task.WhenAll(streams).ConfigureAwait(false))
        {
            foreach (var chunk in chunks)
            {
                for (var j = 0; j < chunk.EntryIds.Count; j++)
                {
                    ref var known = ref lengths[chunk.EntryIds[j]];
                    known = known == -1 || known == chunk.Lengths[j] ? chunk.Lengths[j] : Disputed;
                }
            }
        }
        long length = 0;
        LedgerReader? reader = null;
        for (var entryId = 0L; entryId <= lastEntryId; entryId++)
        {
            if (lengths[entryId] >= 0)
            {
                length += lengths[entryId];
                continue;
            }
            reader ??= new LedgerReader(metadata, lastEntryId, _pool, _options, _logger);
            length += (await reader.ReadStoredAsync(entryId, skipBookie: null, cancellationToken).ConfigureAwait(false)).Payload.Length;
        }
        return length;
    }

    /// <summary>One bookie's <c>EntryLengths</c> answer in [first, last]; nothing when it failed (its entries are read from replicas).</summary>
    private async Task<EntryLengthsResponse[]> EntryLengthsAsync(string bookieId, long ledgerId, long first, long last, CancellationToken cancellationToken)
    {
        var chunks = new List<EntryLengthsResponse>();
        try
        {
            using var call = _pool.Get(bookieId).EntryLengths(new EntryLengthsRequest { LedgerId = ledgerId, FirstEntryId = first, LastEntryId = last },
                deadline: DateTime.UtcNow + _options.ReadTimeout, cancellationToken: cancellationToken);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (chunk.Code != Code.Ok)
                    break;
                chunks.Add(chunk);
            }
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            // This bookie is down or slow: what it would have said is read from the other replicas.
        }
        return [.. chunks];
    }

    /// <summary>
    /// Fences every bookie of the last segment; succeeds once at least E − Qa + 1 did, so that no
    /// ack quorum of unfenced bookies remains for the old writer. Returns the highest LAC reported.
    /// </summary>
    private async Task<long> FenceAsync(long ledgerId, DistributionSchedule schedule, IReadOnlyList<string> ensemble, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(ensemble.Select(async Task<(long? Lac, string Error)> (bookieId) =>
        {
            try
            {
                var response = await _pool.Get(bookieId).FenceAsync(new FenceRequest { LedgerId = ledgerId },
                    deadline: DateTime.UtcNow + _options.ReadTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                return response.Code == Code.Ok ? (response.LastAddConfirmed, "") : (null, $"{bookieId} ({response.Code})");
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                return (null, $"{bookieId} ({e.StatusCode}: {e.Status.Detail})");
            }
        })).ConfigureAwait(false);
        var fenced = answers.Count(a => a.Lac is not null);
        var needed = ensemble.Count - schedule.AckQuorum + 1;
        if (fenced < needed)
        {
            throw new LedgerException(
                $"Ledger {ledgerId} could not be recovered: only {fenced} of its last segment's {ensemble.Count} bookies were fenced, {needed} are needed so that its writer cannot add any more; failed: {string.Join(", ", answers.Where(a => a.Lac is null).Select(a => a.Error))}.");
        }
        return answers.Max(a => a.Lac ?? -1);
    }

    /// <summary>
    /// Fencing reads from <paramref name="firstEntryId"/> on, several entries ahead, until the first
    /// entry that is certainly absent. Returns the entries found, in order, as their bookies stored them.
    /// </summary>
    private async Task<List<ReadResponse>> RecoveryReadAsync(long ledgerId, DistributionSchedule schedule, IReadOnlyList<string> ensemble, long firstEntryId, CancellationToken cancellationToken)
    {
        var recovered = new List<ReadResponse>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ahead = new Queue<Task<ReadResponse?>>();
        var next = firstEntryId;
        try
        {
            while (true)
            {
                while (ahead.Count < _options.ReadAheadEntries)
                    ahead.Enqueue(RecoveryReadEntryAsync(ledgerId, schedule, ensemble, next++, stop.Token));
                var entry = await ahead.Dequeue().ConfigureAwait(false);
                if (entry is null)
                    return recovered;
                recovered.Add(entry);
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(ahead.Cast<Task>()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The entry as one replica of its write set stored it (digest verified), or null when absent from the ledger.</summary>
    private async Task<ReadResponse?> RecoveryReadEntryAsync(long ledgerId, DistributionSchedule schedule, IReadOnlyList<string> ensemble, long entryId, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, schedule.WriteQuorum).Select(async replica =>
        {
            var bookieId = ensemble[schedule.BookieIndex(entryId, replica)];
            try
            {
                var response = await _pool.Get(bookieId).ReadEntryAsync(new ReadRequest { LedgerId = ledgerId, EntryId = entryId, Fence = true },
                    deadline: DateTime.UtcNow + _options.ReadTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                return (BookieId: bookieId, Response: (ReadResponse?)response, Error: (string?)null);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                return (bookieId, null, $"{e.StatusCode}: {e.Status.Detail}");
            }
        })).ConfigureAwait(false);

        var absent = 0;
        var undecided = new List<string>();
        foreach (var (bookieId, response, error) in answers)
        {
            if (response is null)
            {
                undecided.Add($"{bookieId} ({error})");
            }
            else if (response.Code == Code.Ok)
            {
                if (response.LedgerId == ledgerId && response.EntryId == entryId
                    && LedgerDigest.Verify(ledgerId, entryId, response.LastAddConfirmed, response.Payload.Span, response.Digest))
                {
                    return response;
                }
                LedgerLog.DigestMismatch(_logger, ledgerId, entryId, bookieId);
                undecided.Add($"{bookieId} (digest mismatch)");
            }
            else if (response.Code is Code.NoSuchEntry or Code.NoSuchLedger)
            {
                absent++;
            }
            else
            {
                undecided.Add($"{bookieId} ({response.Code}: {response.Message})");
            }
        }
        if (absent >= schedule.AbsenceQuorum)
            return null;
        throw new LedgerException(
            $"Ledger {ledgerId} could not be recovered: entry {entryId} is neither found nor certainly absent — {absent} of its write set lack it, {schedule.AbsenceQuorum} are needed to be sure; no answer from {string.Join(", ", undecided)}.");
    }

    /// <summary>Re-adds every recovered entry (recovery flag, exactly as stored) to its whole write set; each needs Qa acknowledgements.</summary>
    private async Task WriteBackAsync(long ledgerId, DistributionSchedule schedule, IReadOnlyList<string> ensemble, List<ReadResponse> recovered, CancellationToken cancellationToken)
    {
        var acks = new int[recovered.Count];
        var firstEntryId = recovered[0].EntryId;
        var errors = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AddTimeout);
        await Task.WhenAll(Enumerable.Range(0, ensemble.Count).Select(async index =>
        {
            var requests = recovered.Where(r => schedule.Stores(r.EntryId, index)).Select(r => new AddRequest
            {
                LedgerId = ledgerId,
                EntryId = r.EntryId,
                LastAddConfirmed = r.LastAddConfirmed,
                Payload = r.Payload,
                Digest = r.Digest,
                Recovery = true,
            }).ToList();
            if (requests.Count == 0)
                return;
            try
            {
                using var call = _pool.Get(ensemble[index]).AddEntries(cancellationToken: timeout.Token);
                var sending = Task.Run(async () =>
                {
                    foreach (var request in requests)
                        await call.RequestStream.WriteAsync(request, timeout.Token).ConfigureAwait(false);
                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                }, timeout.Token);
                var answered = 0;
                await foreach (var response in call.ResponseStream.ReadAllAsync(timeout.Token).ConfigureAwait(false))
                {
                    if (response.Code == Code.Ok && response.EntryId >= firstEntryId && response.EntryId < firstEntryId + acks.Length)
                        Interlocked.Increment(ref acks[response.EntryId - firstEntryId]);
                    else if (response.Code != Code.Ok)
                        Record($"{ensemble[index]} refused entry {response.EntryId} ({response.Code}: {response.Message})");
                    if (++answered == requests.Count)
                        break;
                }
                await sending.ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Record($"{ensemble[index]} ({e.Message})");
            }
        })).ConfigureAwait(false);

        for (var i = 0; i < acks.Length; i++)
        {
            if (acks[i] < schedule.AckQuorum)
            {
                throw new LedgerException(
                    $"Ledger {ledgerId} could not be recovered: recovered entry {recovered[i].EntryId} was written back to only {acks[i]} of the {schedule.AckQuorum} bookies needed; {string.Join("; ", errors)}.");
            }
        }

        void Record(string error)
        {
            lock (errors)
                errors.Add(error);
        }
    }
}
